"""gunicorn's access log, run as the Procfile runs it: a path with CR/LF, NUL or a backslash
cannot forge or break a log line."""

from __future__ import annotations

import http.client
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

from bench._procs import free_port
from bot.access_log import escape

ROOT = Path(__file__).resolve().parent.parent


def procfile_web_argv(port: int) -> list[str]:
    line = next(
        line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:")
    )
    argv = shlex.split(line.removeprefix("web:").replace("$PORT", str(port)))
    argv[argv.index("--workers") + 1] = "1"
    argv[argv.index("--bind") + 1] = f"127.0.0.1:{port}"
    return [str(Path(sys.executable).with_name("gunicorn")), *argv[1:]]


def get(port: int, raw_path: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.putrequest("GET", raw_path, skip_accept_encoding=True)
        conn.endheaders()
        return conn.getresponse().status
    finally:
        conn.close()


def test_escape_leaves_no_control_character():
    assert escape("/a\r\nb\x00c\\d\x7f\x85\u2028é") == (
        "/a\\x0d\\x0ab\\x00c\\\\d\\x7f\\x85\\u2028é"
    )


def test_gunicorn_access_log_escapes_decoded_control_characters(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "LINE_CHANNEL_SECRET": "s",
        "LINE_CHANNEL_ACCESS_TOKEN": "t",
        "SECRET_KEY": "access-log-test-secret-key",
        "DATABASE_URL": "sqlite:///" + str(tmp_path / "db.sqlite3"),
        "WEBHOOK_WORKERS": "0",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    out = (tmp_path / "gunicorn.out").open("wb")
    proc = subprocess.Popen(
        procfile_web_argv(port), cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                get(port, "/healthz")
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.1)  # waiting for the server to listen, not for time to pass
        assert get(port, "/x%0D%0A127.0.0.1%20forged%00line%5C") == 404
        proc.terminate()
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        out.close()
    log = (tmp_path / "gunicorn.out").read_text(errors="replace").splitlines()
    request_lines = [line for line in log if '"GET /x' in line]
    assert len(request_lines) == 1, log
    assert "/x\\x0d\\x0a127.0.0.1 forged\\x00line\\\\ HTTP/1.1" in request_lines[0]
    assert not any(line.startswith("127.0.0.1 forged") for line in log)
