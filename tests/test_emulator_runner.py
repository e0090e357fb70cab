"""`python -m emulator` runs on its own, and the chat page's script is valid JavaScript."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import requests

import emulator

STATIC = Path(emulator.__file__).with_name("static")


def test_python_m_emulator_serves_the_api_and_the_chat_page() -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "emulator",
            "--port",
            "0",
            "--channel-secret",
            "s",
            "--access-token",
            "t",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()  # blocks until the server is listening
        assert banner.startswith("LINE emulator on http://127.0.0.1:")
        url = banner.split()[3]
        users = requests.get(url + "/_emulator/users", timeout=10).json()["users"]
        assert [u["display_name"] for u in users] == ["デモユーザー"]
        quota = requests.get(
            url + "/v2/bot/message/quota", headers={"Authorization": "Bearer t"}, timeout=10
        )
        assert quota.json() == {"type": "limited", "value": 10000}
        assert requests.get(url + "/", timeout=10).status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_python_m_emulator_needs_credentials() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "emulator", "--channel-secret", "", "--access-token", ""],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--channel-secret" in result.stderr


def test_chat_page_script_parses() -> None:
    assert shutil.which("node"), "node (Node.js) is needed to syntax-check the chat page script"
    result = subprocess.run(
        ["node", "--check", str(STATIC / "chat.js")], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_the_benches_emulator_keeps_connections_alive_and_stops_with_its_stdin(
    tmp_path: Path,
) -> None:
    import urllib3

    from bench._procs import start_emulator

    process, url = start_emulator(tmp_path / "emulator.log", "s", "t")
    try:
        pool = urllib3.PoolManager()
        for _ in range(3):
            answer = pool.request(
                "POST",
                url + "/v2/bot/message/push",
                json={"to": "U" + "a" * 32, "messages": [{"type": "text", "text": "hi"}]},
                headers={"Authorization": "Bearer t"},
            )
            assert answer.status == 200
        # LINE's API keeps connections alive; werkzeug's server closes each one.
        assert answer.headers.get("Connection") != "close"
        assert pool.connection_from_url(url).num_connections == 1
        tokens = requests.post(url + "/_bench/reply-tokens", json={"user_ids": ["U1"]}, timeout=10)
        assert len(tokens.json()["tokens"]) == 1
        assert process.popen.stdin is not None
        process.popen.stdin.close()  # the bench died: the emulator goes too
        assert process.popen.wait(15) == 0
    finally:
        process.stop()
