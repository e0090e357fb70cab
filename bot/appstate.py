"""The one way a blueprint reaches the app's shared state (flaskr's `get_db` pattern).

`create_app` stores the runtime and the services with `init_app`; views call `get_runtime()`,
`get_services()`, `get_worker_pool()` or `get_line_login()` (the current app by default).
Nothing here imports the app factory or a blueprint, so blueprints never form a cycle with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Flask, current_app

from adapters.line_login import LineLoginClient
from adapters.runtime import Runtime

if TYPE_CHECKING:  # the services pull in the whole processing stack: typing only
    from bot.services import Services
    from bot.worker import EventWorkerPool

RUNTIME_KEY = "benesapo"
SERVICES_KEY = "benesapo.services"
LINE_LOGIN_KEY = "benesapo.line_login"


def init_app(app: Flask, runtime: Runtime, services: Services) -> None:
    app.extensions[RUNTIME_KEY] = runtime
    app.extensions[SERVICES_KEY] = services


def _app(app: Flask | None) -> Flask:
    return app if app is not None else current_app._get_current_object()  # type: ignore[attr-defined]


def get_runtime(app: Flask | None = None) -> Runtime:
    return _app(app).extensions[RUNTIME_KEY]


def get_services(app: Flask | None = None) -> Services:
    return _app(app).extensions[SERVICES_KEY]


def get_worker_pool(app: Flask | None = None) -> EventWorkerPool | None:
    return get_services(app).pool


def get_line_login(app: Flask | None = None) -> LineLoginClient:
    """The app's LINE Login client (one per app, made on first use)."""
    flask_app = _app(app)
    client = flask_app.extensions.get(LINE_LOGIN_KEY)
    if client is None:
        client = LineLoginClient(get_runtime(flask_app).settings)
        flask_app.extensions[LINE_LOGIN_KEY] = client
    return client
