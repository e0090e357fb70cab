"""The login page of LINE's account-link flow: GET /link, POST /link/identify, POST /link.

The bot's login button is a LIFF URL; LINE opens `GET /link` (the LIFF app's endpoint) in the
LIFF browser of the user who tapped it. The page posts that user's LIFF ID token to
`/link/identify`, which has LINE verify it (`bot.linking_liff`) and remembers the verified LINE
user in the signed session cookie; only then is that user's own open link request found, a
link token asked of LINE for them (here, at the web edge: the chat handler never calls LINE)
and the login form shown. The token travels in the form and only the one issued for the
request is accepted back. After the company code, member ID and password are checked, the
browser is redirected to LINE's account-link URL with the link token and a fresh nonce.
CSRF: `bot.csrf` (the token in Flask's signed session cookie, `bot.session_cookie`); headers:
`bot.security_headers`; attempts limited per address, member ID and LINE user
(`models.login_guard`).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

from flask import (
    Blueprint,
    Response,
    redirect,
    render_template_string,
    request,
    url_for,
)
from flask import session as cookie_session

from adapters.line_client import LineApiError
from adapters.line_login import IdTokenRejected, LineLoginUnavailable
from adapters.runtime import Runtime
from bot import linking_liff
from bot.appstate import get_runtime, get_services
from bot.csrf import csrf_ok, csrf_token, rotate_csrf
from bot.security_headers import LOGIN_PAGE, PagePolicy, liff_landing, secure
from common.config import Settings
from common.logging_setup import log_fields
from handlers import linking_texts as t
from models import companies, link_requests
from models.companies import LoginError
from models.db import transaction

logger = logging.getLogger("benesapo.linking")

bp = Blueprint(
    "linking_page", __name__, static_folder="linking_static", static_url_path="/link/static"
)

DEFAULT_ACCOUNT_LINK_URL = "https://access.line.me/dialog/bot/accountLink"
DEFAULT_LINE_API = "https://api.line.me"
LINK_USER_KEY = "link_user"  # the LINE user LINE vouched for (LIFF ID token), in the cookie
LINK_NAME_KEY = "link_name"  # their LINE display name, shown on the form

ERROR_STATUS = {"invalid": 401, "locked": 429}


def account_link_url(settings: Settings) -> str:
    """LINE's account-link URL. A setting wins; against the emulator (a LINE API base URL that
    is not LINE's) the emulator's own page at the same path; else LINE's."""
    explicit = getattr(settings, "line_account_link_url", None) or settings.extra.get(
        "BENESAPO_LINE_ACCOUNT_LINK_URL"
    )
    if explicit:
        return str(explicit)
    if settings.line_api_base_url.rstrip("/") != DEFAULT_LINE_API:
        return settings.line_api_base_url.rstrip("/") + "/dialog/bot/accountLink"
    return DEFAULT_ACCOUNT_LINK_URL


PAGE = """<!doctype html>
<html lang="ja"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ t.PAGE_TITLE }}</title>
<style>
body{font-family:-apple-system,"Hiragino Sans","Noto Sans JP",sans-serif;margin:0;
background:#f4f6f8;color:#222}
main{max-width:420px;margin:0 auto;padding:24px 16px}
h1{font-size:1.25rem;color:#06c755;margin:0 0 12px}
p{line-height:1.6}
label{display:block;font-weight:bold;margin:16px 0 6px}
input{width:100%;box-sizing:border-box;font-size:1.1rem;padding:12px;border:1px solid #bbb;
border-radius:8px;background:#fff}
button{width:100%;margin-top:24px;padding:14px;font-size:1.1rem;font-weight:bold;color:#fff;
background:#06c755;border:0;border-radius:8px}
.error{background:#fdecea;color:#b3261e;padding:12px;border-radius:8px}
.note{font-size:.85rem;color:#666}
</style></head><body><main>
<h1>{{ title }}</h1>
{% if error %}<p class="error" role="alert">{{ error }}</p>{% endif %}
{% if form %}
{% if line_name %}<p class="account">{{ t.PAGE_LINE_ACCOUNT.format(name=line_name) }}</p>{% endif %}
<p>{{ t.PAGE_LEAD }}</p>
<form method="post" action="{{ action }}" autocomplete="off">
<input type="hidden" name="csrf_token" value="{{ csrf_token }}">
<input type="hidden" name="linkToken" value="{{ link_token }}">
<label for="company_code">{{ t.PAGE_COMPANY_CODE }}</label>
<input id="company_code" name="company_code" value="{{ company_code }}" required
 maxlength="20" autocapitalize="characters" autocorrect="off" spellcheck="false">
<label for="member_id">{{ t.PAGE_MEMBER_ID }}</label>
<input id="member_id" name="member_id" value="{{ member_id }}" required maxlength="40"
 autocomplete="username" autocapitalize="characters" autocorrect="off" spellcheck="false">
<label for="password">{{ t.PAGE_PASSWORD }}</label>
<input id="password" name="password" type="password" required maxlength="200"
 autocomplete="current-password">
<button type="submit">{{ t.PAGE_SUBMIT }}</button>
</form>
<p class="note">{{ t.PAGE_NOTE }}</p>
{% else %}<p>{{ message }}</p>{% endif %}
</main></body></html>
"""


def _secure(response: Response, policy: PagePolicy = LOGIN_PAGE) -> Response:
    return secure(response, policy)


def _page(status: int = 200, **values: Any) -> Response:
    values.setdefault("title", t.PAGE_TITLE)
    values.setdefault("error", None)
    values.setdefault("form", False)
    html = render_template_string(PAGE, t=t, **values)
    return _secure(Response(html, status=status, mimetype="text/html"))


def _expired() -> Response:
    return _page(400, title=t.PAGE_EXPIRED_TITLE, message=t.PAGE_EXPIRED)


def _unavailable() -> Response:
    return _page(503, title=t.PAGE_UNAVAILABLE_TITLE, message=t.PAGE_UNAVAILABLE)


def _form(link_token: str, company_code: str, member_id: str = "", **extra: Any) -> Response:
    return _page(
        action=url_for("linking_page.link_submit"),
        form=True,
        csrf_token=csrf_token(),
        link_token=link_token,
        company_code=company_code,
        member_id=member_id,
        line_name=cookie_session.get(LINK_NAME_KEY),
        **extra,
    )


def _csrf_ok() -> bool:
    return csrf_ok(request.form.get("csrf_token"))


def _runtime() -> Runtime:
    return get_runtime()


@bp.get("/link")
def link_form() -> Response:
    """The LIFF app's endpoint: hand the LIFF ID token to /link/identify (no secret here)."""
    settings = _runtime().settings
    if not linking_liff.configured(settings):
        return _unavailable()
    html = linking_liff.landing_html(
        settings,
        action=url_for("linking_page.link_identify"),
        csrf_token=csrf_token(),
        script_url=url_for("linking_page.static", filename="liff-login.js"),
    )
    response = Response(html, status=200, mimetype="text/html")
    return _secure(response, liff_landing(linking_liff.sdk_origin(settings)))


@bp.post("/link/identify")
def link_identify() -> Response:
    """LINE verifies the ID token; the verified user's own link request gets a link token."""
    runtime = _runtime()
    if not linking_liff.configured(runtime.settings):
        return _unavailable()
    if not _csrf_ok():
        return _page(400, title=t.PAGE_EXPIRED_TITLE, message=t.PAGE_CSRF)
    try:  # outside any transaction: LINE may be slow
        claims = linking_liff.login_client().verify_id_token(request.form.get("id_token", ""))
    except IdTokenRejected as exc:
        log_fields(logger, logging.INFO, {"event": "link_id_token_refused", "reason": exc.reason})
        return _page(401, title=t.PAGE_LIFF_REFUSED_TITLE, message=t.PAGE_LIFF_REFUSED)
    except LineLoginUnavailable as exc:
        log_fields(
            logger,
            logging.WARNING,
            {"event": "link_id_token_unverified", "error": type(exc).__name__},
        )
        return _unavailable()
    line_user_id = claims.sub
    with runtime.session_factory() as session:
        link_request = link_requests.open_link_request(session, runtime.clock, line_user_id)
        if link_request is None:
            return _expired()
        code = link_request.company_code
    try:
        link_token = get_services().line.issue_link_token(line_user_id)
    except LineApiError as exc:
        log_fields(
            logger, logging.WARNING, {"event": "link_token_not_issued", "error": type(exc).__name__}
        )
        return _unavailable()
    with transaction(runtime.session_factory) as session:
        link_request = link_requests.open_link_request(session, runtime.clock, line_user_id)
        if link_request is None:  # used, closed or expired meanwhile
            return _expired()
        link_requests.attach_link_token(link_request, link_token)
    cookie_session[LINK_USER_KEY] = line_user_id
    cookie_session[LINK_NAME_KEY] = claims.name
    return _form(link_token, code)


@bp.post("/link")
def link_submit() -> Response:
    runtime = _runtime()
    form = request.form
    link_token = form.get("linkToken", "")[:200]
    company_code = form.get("company_code", "")[:20]
    member_id = form.get("member_id", "")[:40]
    password = form.get("password", "")[:200]
    if not _csrf_ok():
        response = _form(link_token, company_code, member_id, error=t.PAGE_CSRF)
        response.status_code = 400
        return response
    line_user_id = cookie_session.get(LINK_USER_KEY)
    if not isinstance(line_user_id, str) or not line_user_id:
        return _expired()  # LINE never vouched for this browser's user
    with runtime.session_factory() as session:
        link_request = link_requests.open_link_request(session, runtime.clock, line_user_id)
        if link_request is None or not link_requests.link_token_matches(link_request, link_token):
            return _expired()
        try:
            member = companies.check_login(
                session,
                runtime.clock,
                company_code=company_code,
                member_id=member_id,
                password=password,
                line_user_id=link_request.line_user_id,
                remote_addr=request.remote_addr,
            )
        except LoginError as exc:
            session.commit()  # the attempt counts toward the lockout
            log_fields(logger, logging.INFO, {"event": "link_login_refused", "code": exc.code})
            response = _form(link_token, company_code, member_id, error=t.PAGE_ERRORS[exc.code])
            response.status_code = ERROR_STATUS.get(exc.code, 403)
            return response
        nonce = link_requests.issue_nonce(session, runtime.clock, link_request, member)
        session.commit()
    target = (
        account_link_url(runtime.settings)
        + "?"
        + urlencode({"linkToken": link_token, "nonce": nonce})
    )
    rotate_csrf()
    cookie_session.pop(LINK_USER_KEY, None)
    cookie_session.pop(LINK_NAME_KEY, None)
    return _secure(redirect(target, code=302))
