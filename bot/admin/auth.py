"""The console's doors: login and logout, server-side sessions, roles, CSRF, headers.

Every console route is declared with the role it needs (`login_required`: any operator;
`admin_required`: admins only) or listed in PUBLIC_ENDPOINTS; a route declared neither way is
refused (403), so a forgotten decorator fails closed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from functools import wraps
from typing import Any

from flask import Response, abort, g, redirect, render_template, request, url_for
from flask import session as cookie
from sqlalchemy.orm import Session

from bot.admin import bp
from bot.admin import texts as t
from bot.admin.labels import format_jst
from bot.appstate import get_runtime
from bot.csrf import csrf_ok, csrf_token, rotate_csrf
from bot.security_headers import CONSOLE, secure
from models import console_sessions
from models.db import transaction
from models.operators import ROLE_ADMIN, ROLE_OPERATOR, Operator, OperatorError, authenticate

SESSION_KEY = "admin_session"
PUBLIC_ENDPOINTS = {"admin.login", "admin.login_post", "admin.logout"}
# endpoint -> the role it needs; filled by the decorators below.
ROUTE_ROLES: dict[str, str] = {}


def _runtime() -> Any:
    return get_runtime()


@contextmanager
def unit_of_work() -> Iterator[Session]:
    with transaction(_runtime().session_factory) as session:
        yield session


def session_policy() -> console_sessions.SessionPolicy:
    settings = _runtime().settings
    return console_sessions.SessionPolicy(
        idle=timedelta(hours=settings.admin_session_idle_hours),
        lifetime=timedelta(days=settings.admin_session_max_days),
    )


@bp.app_template_global("admin_csrf_token")
def _csrf_global() -> str:
    return csrf_token()


@bp.before_request
def _check_request() -> None:
    if request.endpoint not in PUBLIC_ENDPOINTS and request.endpoint not in ROUTE_ROLES:
        abort(404 if request.endpoint is None else 403)
    if request.method == "POST" and not csrf_ok(request.form.get("csrf_token")):
        abort(400, description=t.CSRF_FAILED)


@bp.after_request
def _secure(response: Response) -> Response:
    return secure(response, CONSOLE)


@bp.errorhandler(400)
def _bad_request(exc: Any) -> tuple[str, int]:
    return render_template("admin/message.html", title=t.ERROR_TITLE, message=t.CSRF_FAILED), 400


@bp.errorhandler(403)
def _forbidden(exc: Any) -> tuple[str, int]:
    return render_template("admin/message.html", title=t.ERROR_TITLE, message=t.FORBIDDEN), 403


def _requires(role: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        ROUTE_ROLES[f"{bp.name}.{view.__name__}"] = role

        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            token = cookie.get(SESSION_KEY)
            if not token:
                return redirect(url_for("admin.login", next=request.full_path))
            with unit_of_work() as session:
                now = _runtime().clock.now()
                live = console_sessions.live_session(session, now, token, session_policy())
                operator = session.get(Operator, live.operator_id) if live else None
                if operator is None or not operator.active:
                    cookie.pop(SESSION_KEY, None)
                    return redirect(url_for("admin.login"))
                if role == ROLE_ADMIN and operator.role != ROLE_ADMIN:
                    abort(403)
                g.operator = operator
                g.session = session
                g.actor = f"operator:{operator.email}"
                return view(*args, **kwargs)

        return wrapped

    return decorate


login_required = _requires(ROLE_OPERATOR)
admin_required = _requires(ROLE_ADMIN)


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/admin") and not target.startswith("//"):
        return target
    return url_for("admin.inquiries")


def _bad_next(target: str | None) -> bool:
    """A `next=` with control characters (CR/LF would split the Location header)."""
    return bool(target) and any(ord(c) < 0x20 or ord(c) == 0x7F for c in target or "")


def _bad_next_page() -> tuple[str, int]:
    return render_template("admin/message.html", title=t.ERROR_TITLE, message=t.BAD_NEXT), 400


@bp.get("/login")
def login() -> Any:
    if _bad_next(request.args.get("next")):
        return _bad_next_page()
    return render_template("admin/login.html", error=None, email="", next=request.args.get("next"))


@bp.post("/login")
def login_post() -> Any:
    if _bad_next(request.form.get("next")):
        return _bad_next_page()
    email = request.form.get("email", "")[:254]
    password = request.form.get("password", "")[:200]
    error: str | None = None
    status = 401
    with unit_of_work() as session:
        clock = _runtime().clock
        try:
            operator = authenticate(session, clock, email, password, request.remote_addr)
        except OperatorError as exc:
            if exc.code == "locked" and exc.until is not None:
                error = t.LOGIN_LOCKED.format(until=format_jst(exc.until))
                status = 429
            else:
                error = t.LOGIN_FAILED
        else:
            token = console_sessions.open_session(session, clock.now(), operator.id)
    if error is not None:
        page = render_template("admin/login.html", error=error, email=email, next=None)
        return page, status
    rotate_csrf()  # a fresh token for the logged-in session
    cookie[SESSION_KEY] = token
    return redirect(_safe_next(request.form.get("next")))


@bp.post("/logout")
def logout() -> Any:
    token = cookie.pop(SESSION_KEY, None)
    with unit_of_work() as session:
        console_sessions.revoke(session, _runtime().clock.now(), token)
    rotate_csrf()
    return redirect(url_for("admin.login"))
