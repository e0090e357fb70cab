"""The back-office console at /admin (Japanese): operator login, tickets, one-click actions.

Security: operators log in with an e-mail address and an Argon2id-hashed password (lockout in
`models.operators`); the session cookie is Flask's signed cookie, HttpOnly and SameSite=Lax
(Secure when PUBLIC_BASE_URL is https); every POST carries a per-session CSRF token; pages are
`no-store` and cannot be framed. Every action is written to the audit log.

The Flask secret key: env `SECRET_KEY` (or `BENESAPO_SECRET_KEY`), else the key the linking
page derives from the channel secret (HMAC) — set only if no blueprint set one before.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from flask import Blueprint
from flask.blueprints import BlueprintSetupState

bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates")


def secret_key_for(channel_secret: str, env: dict[str, str] | None = None) -> bytes:
    env = dict(os.environ) if env is None else env
    explicit = env.get("SECRET_KEY") or env.get("BENESAPO_SECRET_KEY")
    if explicit:
        return explicit.encode()
    # The same derivation as bot.linking_page.secret_key, so both agree on one key.
    return hmac.new(channel_secret.encode(), b"benesapo/flask-session/v1", hashlib.sha256).digest()


@bp.record_once
def _configure(state: BlueprintSetupState) -> None:
    app = state.app
    runtime = app.extensions["benesapo"]
    if not app.secret_key:
        app.secret_key = secret_key_for(runtime.settings.channel_secret)
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    if app.config.get("SESSION_COOKIE_SAMESITE") is None:
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    if runtime.settings.public_base_url.startswith("https://"):
        app.config["SESSION_COOKIE_SECURE"] = True


from bot.admin import views  # noqa: E402, F401  (registers the routes on bp)
