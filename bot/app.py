"""Flask app factory: webhook, health and metrics, partner API, pages; and the event workers."""

from __future__ import annotations

from flask import Flask, Request, jsonify
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from werkzeug.middleware.proxy_fix import ProxyFix

from adapters.line_client import LineClient
from adapters.runtime import Runtime, build_runtime
from bot import admin, appstate, errors, health, linking_page, partner_api, webhook
from bot.services import Services
from bot.session_cookie import configure_session_cookie
from bot.webhook import MAX_BODY_BYTES, WEBHOOK_PATH
from bot.webhook_record import warn_without_redelivery
from common.config import Settings, load_settings
from common.logging_setup import configure_logging

# Every blueprint, in registration order (each module exposes `bp`).
BLUEPRINTS = (webhook.bp, health.bp, linking_page.bp, admin.bp, partner_api.bp)


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
    services = Services(runtime, line)
    appstate.init_app(app, runtime, services)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)

    errors.install(app)

    @app.errorhandler(413)
    def too_large(_exc):  # type: ignore[no-untyped-def]
        return jsonify({"error": "request body too large"}), 413

    warn_without_redelivery(runtime.settings.webhook_redelivery)
    if start_workers:
        services.start_workers(runtime.settings.webhook_workers)
    return app
