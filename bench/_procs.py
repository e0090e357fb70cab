"""Subprocess helpers for the benches, and the emulator runner bench/webhook.py starts.

    python -m bench._procs emulator --channel-secret S --access-token T

runs the LINE emulator on a free 127.0.0.1 port in its own process (served by gunicorn, with
keep-alive), prints its URL on the first line of stdout once it listens, and adds one
bench-only endpoint, `POST /_bench/reply-tokens {"user_ids": [...]}` -> `{"tokens": [...]}`,
which issues one reply token per entry with the emulator's own
`EmulatorState.issue_reply_token` (what the emulator does when it delivers a webhook itself).
The process ends on SIGTERM/SIGINT or when its stdin closes.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Proc:
    """A child process in its own session (so Ctrl-C reaches only us), logging to a file."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        log_path: Path,
        stdout_pipe: bool = False,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self._log: IO[bytes] = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen(
            self.argv,
            cwd=ROOT,
            env=dict(env) if env is not None else None,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE if stdout_pipe else self._log,
            stderr=self._log,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def read_line(self, timeout: float) -> str:
        """The first stdout line (stdout_pipe=True), or RuntimeError after `timeout` seconds."""
        assert self.popen.stdout is not None
        found: list[str] = []
        reader = threading.Thread(
            target=lambda: found.append(self.popen.stdout.readline().decode()),  # type: ignore[union-attr]
            daemon=True,
        )
        reader.start()
        reader.join(timeout)
        if not found or not found[0].strip():
            raise RuntimeError(f"{self.name} did not start; see {self.log_path}")
        return found[0].strip()

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM to the child's process group, then SIGKILL after `timeout` seconds."""
        try:
            if self.alive():
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, signal.SIGTERM)
                try:
                    self.popen.wait(timeout)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(self.popen.pid, signal.SIGKILL)
                    self.popen.wait(5)
        finally:
            for stream in (self.popen.stdin, self.popen.stdout):
                if stream is not None:
                    stream.close()
            self._log.close()

    def tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def wait_until(
    check: Callable[[], bool], timeout: float, what: str, proc: Proc | None = None
) -> None:
    """Poll `check` every 50 ms until it holds; RuntimeError after `timeout` or if `proc` dies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and not proc.alive():
            raise RuntimeError(f"{proc.name} exited early:\n{proc.tail()}")
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"timed out after {timeout}s waiting for {what}")


# -- CPU time of a process tree (from /proc, Linux) -------------------------------------------


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, user+system CPU seconds) of a live process, or None."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def tree_cpu_seconds(root_pid: int) -> float:
    """CPU seconds used so far by a process and its live descendants."""
    stats: dict[int, tuple[int, float]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            found = _stat(int(entry))
            if found is not None:
                stats[int(entry)] = found
    children: dict[int, list[int]] = {}
    for pid, (ppid, _cpu) in stats.items():
        children.setdefault(ppid, []).append(pid)
    total, stack = 0.0, [root_pid]
    while stack:
        pid = stack.pop()
        if pid in stats:
            total += stats[pid][1]
        stack.extend(children.get(pid, []))
    return total


def command_cpu_seconds(command: str) -> float:
    """CPU seconds used so far by every live process whose command name is `command`.

    For a server this bench does not start, e.g. "postgres" (its backends included).
    """
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if Path(f"/proc/{entry}/comm").read_text().strip() != command:
                continue
        except OSError:
            continue
        found = _stat(int(entry))
        if found is not None:
            total += found[1]
    return total


def reference_ms(rounds: int = 3) -> str:
    """How fast this machine is right now: the fastest of `rounds` runs of two fixed workloads,
    pure Python (JSON) and I/O (2,000 round trips to a thread over a socket pair: system
    calls, thread wake-ups, the GIL), in ms, lower is faster. Shared machines drift, the I/O
    side most (the same code has measured 40% apart within an hour): a figure is only
    comparable with one taken at a similar reference."""
    import json

    doc = {"events": [{"type": "message", "text": "使い方", "n": n} for n in range(50)]}
    near, far = socket.socketpair()

    def echo() -> None:
        while data := far.recv(64):
            far.sendall(data)

    echoing = threading.Thread(target=echo, daemon=True)
    echoing.start()
    best_python = best_io = float("inf")
    try:
        for _ in range(rounds):
            started = time.perf_counter()
            for _ in range(300):
                json.loads(json.dumps(doc, ensure_ascii=False))
            best_python = min(best_python, time.perf_counter() - started)
            started = time.perf_counter()
            for _ in range(2000):
                near.sendall(b"x" * 32)
                near.recv(64)
            best_io = min(best_io, time.perf_counter() - started)
    finally:
        near.close()
        echoing.join(5)
        far.close()
    return f"python {best_python * 1000:.0f} ms, io {best_io * 1000:.0f} ms"


def self_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


# -- the emulator runner ------------------------------------------------------------------------


def start_emulator(
    log_path: Path, channel_secret: str, access_token: str, env: Mapping[str, str] | None = None
) -> tuple[Proc, str]:
    """Start `python -m bench._procs emulator` (below) in its own process; (it, its URL)."""
    emulator = Proc(
        "emulator",
        [
            sys.executable,
            "-m",
            "bench._procs",
            "emulator",
            "--channel-secret",
            channel_secret,
            "--access-token",
            access_token,
        ],
        env=env,
        log_path=log_path,
        stdout_pipe=True,
    )
    try:
        return emulator, emulator.read_line(30)
    except BaseException:
        emulator.stop()
        raise


def bench_emulator_app(channel_secret: str, access_token: str):  # type: ignore[no-untyped-def]
    """The emulator's Flask app plus the bench-only reply-token endpoint."""
    from flask import jsonify, request

    from emulator.app import create_emulator_app
    from emulator.state import EmulatorState

    state = EmulatorState(channel_secret, [access_token], None)
    app = create_emulator_app(state)

    @app.post("/_bench/reply-tokens")
    def issue_reply_tokens():  # type: ignore[no-untyped-def]
        body = request.get_json(silent=True) or {}
        user_ids = body.get("user_ids")
        if not isinstance(user_ids, list) or not all(isinstance(u, str) for u in user_ids):
            return jsonify({"error": "user_ids must be a list of user ids"}), 400
        return jsonify({"tokens": [state.issue_reply_token(u) for u in user_ids]})

    return app


def run_emulator(argv: list[str] | None = None) -> None:
    """Serve the emulator with gunicorn: one process (its state is in memory), threads, and
    keep-alive connections as LINE's API has them (werkzeug's server closes every connection,
    which would charge each API call a TCP connect on both sides)."""
    from gunicorn.app.base import BaseApplication

    parser = argparse.ArgumentParser(prog="python -m bench._procs emulator")
    parser.add_argument("--channel-secret", required=True)
    parser.add_argument("--access-token", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--threads", type=int, default=32)
    args = parser.parse_args(argv)
    port = args.port or free_port()
    url = f"http://127.0.0.1:{port}"

    class EmulatorApplication(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            options = {
                "bind": f"127.0.0.1:{port}",
                "workers": 1,
                "worker_class": "gthread",
                "threads": args.threads,
                "keepalive": 30,
                "graceful_timeout": 2,
                "loglevel": "warning",
                "when_ready": lambda _server: print(url, flush=True),
            }
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self):  # type: ignore[no-untyped-def]
            return bench_emulator_app(args.channel_secret, args.access_token)

    def watch_stdin() -> None:  # the parent died or closed our stdin: stop
        sys.stdin.buffer.read()
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch_stdin, daemon=True).start()
    EmulatorApplication().run()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "emulator":
        run_emulator(sys.argv[2:])
    else:
        sys.exit("usage: python -m bench._procs emulator --channel-secret S --access-token T")
