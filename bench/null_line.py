"""A minimal LINE receiver for the benches: answers 200 to every Messaging API call, at once.

    .venv/bin/python bench/null_line.py [--port N] [--quota N]

asyncio, HTTP/1.1 keep-alive, no validation and no storage (the emulator checks what LINE
would check; this one only shows how fast the sender itself can go). Prints its URL on the
first line of stdout once it listens. The quota calls answer `--quota` (0: unlimited) and no
usage, so a run's budget is what the bench says. Bench-only endpoints: `GET /_stats` ->
{"calls": {path: n}, "first": t, "last": t} (time.time() of the first and last message call
since the last `POST /_reset`), `POST /_reset`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import time
from collections import Counter

MESSAGE_PREFIX = "/v2/bot/message/"


class Stats:
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.first: float | None = None
        self.last: float | None = None

    def seen(self, path: str) -> None:
        self.calls[path] += 1
        if path.startswith(MESSAGE_PREFIX) and not path.startswith(MESSAGE_PREFIX + "quota"):
            now = time.time()
            self.first = self.first or now
            self.last = now

    def to_json(self) -> dict:
        return {"calls": dict(self.calls), "first": self.first, "last": self.last}


def answer(method: str, path: str, stats: Stats, quota: int) -> bytes:
    if path == "/_stats":
        return json.dumps(stats.to_json()).encode()
    if path == "/_reset":
        stats.__init__()  # type: ignore[misc]
        return b"{}"
    stats.seen(path)
    if path.endswith("/message/quota"):
        return b'{"type":"limited","value":%d}' % quota if quota else b'{"type":"none"}'
    if path.endswith("/quota/consumption"):
        return b'{"totalUsage":0}'
    if path.endswith(("/push", "/multicast", "/reply", "/broadcast", "/narrowcast")):
        return b'{"sentMessages":[{"id":"1","quoteToken":"q"}]}'
    return b"{}"


async def serve_connection(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, stats: Stats, quota: int
) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path, _version = lines[0].split(" ", 2)
            length = 0
            for line in lines[1:]:
                if line[:15].lower() == "content-length:":
                    length = int(line[15:].strip())
            if length:
                await reader.readexactly(length)
            body = answer(method, path.split("?", 1)[0], stats, quota)
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"x-line-request-id: null\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
            )
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, ValueError):
        pass
    finally:
        writer.close()


async def main_async(port: int, quota: int) -> None:
    stats = Stats()
    server = await asyncio.start_server(
        lambda r, w: serve_connection(r, w, stats, quota), "127.0.0.1", port, backlog=1024
    )
    bound = server.sockets[0].getsockname()[1]
    print(f"http://127.0.0.1:{bound}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--quota", type=int, default=0, help="monthly quota (0: unlimited)")
    args = parser.parse_args(argv)
    asyncio.run(main_async(args.port, args.quota))
    return 0


if __name__ == "__main__":
    sys.exit(main())
