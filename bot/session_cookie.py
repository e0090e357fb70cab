"""Flask's signed session cookie (console and login page): its key and its flags.

The key is `SECRET_KEY`, the one secret the web app signs with (session cookies, CSRF tokens).

It is never derived from another secret (knowing the LINE channel secret must not let anyone
forge a console login). Without it the web app does not start; `make run` keeps a generated
one in `instance/secret_key`, the same across runs.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask

from common.config import ConfigError, Settings

DEV_SECRET_KEY_FILE = Path("instance") / "secret_key"


def require_secret_key(settings: Settings) -> str:
    """The configured SECRET_KEY; ConfigError naming it when it is missing."""
    if not settings.secret_key:
        raise ConfigError(
            "Missing required environment variable: SECRET_KEY (it signs console sessions and "
            "CSRF tokens; generate one with: python -c 'import secrets; "
            "print(secrets.token_urlsafe(32))'; see README)"
        )
    return settings.secret_key


def dev_secret_key(path: Path = DEV_SECRET_KEY_FILE) -> str:
    """`make run`'s key: read from `path`, or generated there (readable by the owner only)."""
    if path.exists():
        value = path.read_text().strip()
        if value:
            return value
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


def configure_session_cookie(app: Flask, settings: Settings) -> None:
    """Sign with SECRET_KEY (ConfigError without it); HttpOnly, SameSite=Lax, and Secure when
    the public URL is https."""
    app.secret_key = require_secret_key(settings)
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    if settings.public_base_url.startswith("https://"):
        app.config["SESSION_COOKIE_SECURE"] = True
