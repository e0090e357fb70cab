"""CSRF tokens of the HTML forms (console and login page): a random token kept in Flask's
signed session cookie and echoed in each form; a POST whose token differs is refused."""

from __future__ import annotations

import hmac
import secrets

from flask import session

CSRF_KEY = "csrf"


def csrf_token() -> str:
    """This browser session's token (made on first use)."""
    token = session.get(CSRF_KEY)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        session[CSRF_KEY] = token
    return token


def csrf_ok(sent: str | None) -> bool:
    """Whether `sent` is this session's token (constant-time comparison)."""
    expected = session.get(CSRF_KEY)
    if not isinstance(expected, str) or not expected or not isinstance(sent, str):
        return False
    return hmac.compare_digest(sent.encode(), expected.encode())


def rotate_csrf() -> None:
    """Forget the token (after a login, a logout or a completed link): a fresh one next time."""
    session.pop(CSRF_KEY, None)
