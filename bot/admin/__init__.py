"""The back-office console at /admin (Japanese): operator login, tickets, one-click actions.

Security: operators log in with an e-mail address and an Argon2id-hashed password (attempts
limited per address and per account: `models.login_guard`); a login opens a server-side
session (`models.console_sessions`: revocable, idle timeout, absolute lifetime) whose random
token travels in Flask's signed cookie (`bot.session_cookie`: SECRET_KEY, HttpOnly,
SameSite=Lax, Secure on https); every POST carries the CSRF token (`bot.csrf`); pages get the
console's security headers (`bot.security_headers`); each route names the role it needs
(`admin` or `operator`). Every action is written to the audit log.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates")


from bot.admin import (  # noqa: E402, F401  (register routes on bp)
    action_views,
    auth,
    company_views,
    handoff_views,
    member_views,
    operator_views,
    thread_views,
    views,
)
