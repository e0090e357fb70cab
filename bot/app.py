"""Flask app factory: webhook, health and metrics, partner API, pages; and the event workers."""

from __future__ import annotations

import atexit
import importlib

from flask import Flask, Request, jsonify
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from werkzeug.middleware.proxy_fix import ProxyFix

from adapters.line_client import LineClient
from adapters.runtime import Runtime, build_runtime
from bot import errors
from bot.delivery import Deliverer
from bot.handlers_registry import build_router
from bot.processing import EventProcessor
from bot.session_cookie import configure_session_cookie
from bot.wakeups import NewEventListener
from bot.webhook import MAX_BODY_BYTES, WEBHOOK_PATH
from bot.webhook_record import warn_without_redelivery
from bot.worker import EventWorkerPool
from chat.understanding.data import default_understanding
from common.config import Settings, load_settings
from common.logging_setup import configure_logging

# Blueprints other than the core ones, by module (each exposes `bp`).
BLUEPRINT_MODULES: list[str] = ["bot.linking_page", "bot.admin", "bot.partner_api"]


class Services:
    """What processes events: the router, the LINE client, the workers."""

    def __init__(self, runtime: Runtime, line: LineClient | None = None) -> None:
        self.runtime = runtime
        self.router = build_router()
        self.line = line or LineClient(runtime.settings)
        self.deliverer = Deliverer(runtime, self.line)
        self.processor = EventProcessor(
            runtime, self.router, self.deliverer, runtime.settings.event_batch_size
        )
        self.pool: EventWorkerPool | None = None
        self.listener: NewEventListener | None = None
        self._atexit_registered = False

    def start_workers(self, threads: int, *, listen: bool = False) -> None:
        """`listen`: a worker process of its own, woken by the webhook's NOTIFY (PostgreSQL)."""
        if threads > 0 and self.pool is None:
            # Load the understanding layer (its model ~1-2 s) before the first event, not on it.
            default_understanding()
            self.pool = EventWorkerPool(self.processor, self.deliverer, threads)
            self.pool.start()
            if listen:
                self.listener = NewEventListener(self.runtime.engine, self.pool.notify).start()
            if not self._atexit_registered:
                atexit.register(self.stop_workers)
                self._atexit_registered = True

    def stop_workers(self) -> None:
        if self.listener is not None:
            self.listener.stop()
            self.listener = None
        if self.pool is not None:
            self.pool.stop()
            self.pool = None


class _SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, not opened for LINE's webhook calls (they never use it:
    building the cookie signer cost ~6% of the acknowledgement's CPU)."""

    def open_session(self, app: Flask, request: Request) -> SessionMixin | None:
        if request.path == WEBHOOK_PATH:
            return self.make_null_session(app)
        return super().open_session(app, request)


def create_app(
    settings: Settings | None = None,
    *,
    runtime: Runtime | None = None,
    start_workers: bool = True,
    line: LineClient | None = None,
) -> Flask:
    configure_logging()
    if runtime is None:
        runtime = build_runtime(settings or load_settings())
    app = Flask(__name__)
    configure_session_cookie(app, runtime.settings)  # ConfigError without SECRET_KEY
    app.session_interface = _SessionInterface()
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    if runtime.settings.trusted_proxies > 0:  # the client address behind N reverse proxies
        hops = runtime.settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    app.extensions["benesapo"] = runtime
    services = Services(runtime, line)
    app.extensions["benesapo.services"] = services

    from bot import health, webhook

    app.register_blueprint(webhook.bp)
    app.register_blueprint(health.bp)
    for name in BLUEPRINT_MODULES:
        app.register_blueprint(importlib.import_module(name).bp)

    errors.install(app)

    @app.errorhandler(413)
    def too_large(_exc):  # type: ignore[no-untyped-def]
        return jsonify({"error": "request body too large"}), 413

    warn_without_redelivery(runtime.settings.webhook_redelivery)
    if start_workers:
        services.start_workers(runtime.settings.webhook_workers)
    return app


def get_runtime(app: Flask) -> Runtime:
    return app.extensions["benesapo"]


def get_services(app: Flask) -> Services:
    return app.extensions["benesapo.services"]


def get_worker_pool(app: Flask) -> EventWorkerPool | None:
    return get_services(app).pool
