"""`python -m emulator`: run the LINE platform emulator in the foreground."""

from __future__ import annotations

import argparse
import os
import threading


def main(argv: list[str] | None = None) -> None:
    from emulator.server import EmulatorServer

    parser = argparse.ArgumentParser(prog="python -m emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("EMULATOR_PORT", "8001")))
    parser.add_argument("--channel-secret", default=os.environ.get("LINE_CHANNEL_SECRET", ""))
    parser.add_argument("--access-token", default=os.environ.get("LINE_CHANNEL_ACCESS_TOKEN", ""))
    parser.add_argument(
        "--webhook-url", default=os.environ.get("EMULATOR_WEBHOOK_URL"), help="the bot's webhook"
    )
    parser.add_argument("--log-requests", action="store_true")
    args = parser.parse_args(argv)
    if not args.channel_secret or not args.access_token:
        parser.error("set --channel-secret and --access-token (or the LINE_CHANNEL_* variables)")
    server = EmulatorServer(
        args.channel_secret,
        args.access_token,
        args.webhook_url,
        host=args.host,
        port=args.port,
        log_requests=args.log_requests,
    )
    server.start()
    server.state.add_user(display_name="デモユーザー")
    print(f"LINE emulator on {server.url} (chat page: {server.url}/)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
