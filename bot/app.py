"""Flask app factory: webhook, health, metrics, partner API and pages."""

from __future__ import annotations

from flask import Flask

from bot.config import Settings, load_settings
from bot.runtime import Runtime, build_runtime

MAX_BODY_BYTES = 1024 * 1024


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> Flask:
    if runtime is None:
        runtime = build_runtime(settings or load_settings())
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.extensions["benesapo"] = runtime
    return app


def get_runtime(app: Flask) -> Runtime:
    return app.extensions["benesapo"]
