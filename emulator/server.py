"""Run the emulator on a real port in a background thread."""

from __future__ import annotations

import threading
from pathlib import Path
from types import TracebackType

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from emulator.app import create_emulator_app
from emulator.state import EmulatorState


class QuietRequestHandler(WSGIRequestHandler):
    """Werkzeug's handler without the per-request access log."""

    def log_request(self, *args: object, **kwargs: object) -> None:
        pass


class EmulatorServer:
    """The emulator on `host:port` (port 0 picks a free one); a context manager.

    `server.state.webhook_url` may be set after `start()` (the bot often starts later). With
    `users_file`, the simulated users are kept in that JSON file across restarts.
    """

    def __init__(
        self,
        channel_secret: str,
        access_token: str,
        webhook_url: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        log_requests: bool = False,
        users_file: Path | str | None = None,
    ) -> None:
        self.state = EmulatorState(
            channel_secret, [access_token], webhook_url, users_file=users_file
        )
        self.app = create_emulator_app(self.state)
        self.host = host
        self.port = port
        self.log_requests = log_requests
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the emulator is not running; call start() first")
        return f"http://{self.host}:{self._server.server_port}"

    def start(self) -> EmulatorServer:
        if self._server is not None:
            return self
        handler = WSGIRequestHandler if self.log_requests else QuietRequestHandler
        self._server = make_server(
            self.host, self.port, self.app, threaded=True, request_handler=handler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # a quick stop() matters in tests
            name="line-emulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
