"""LIFF and LINE Login, as far as a LIFF login page needs them.

- `GET /_emulator/liff/open?user=U&uri=<LIFF URL>`: what the LINE app does when its user `U`
  taps a LIFF URL (`https://liff.line.me/{liffId}[/path][?query]`): the LIFF browser logs in
  as `U`, gets an ID token for the LIFF app's channel and opens the app's endpoint URL. The
  additional path and query travel in `liff.state` (LINE's "primary redirect"); the ID token
  in the URL fragment, which no server sees, for the SDK below to pick up.
- `GET /liff/edge/2/sdk.js`: a stand-in LIFF SDK (`liff.init`, `liff.isLoggedIn`,
  `liff.getIDToken`, …) that does the "secondary redirect" to `liff.state` as LINE's does.
- `POST /oauth2/v2.1/verify`: LINE Login's "Verify ID token" (form: id_token, client_id,
  optional nonce and user_id), answered with the token's payload or LINE's error body.
- Control: `POST /_emulator/liff/apps` {endpointUrl, liffId?, channelId?} registers a LIFF
  app (LINE Developers console's job), `GET /_emulator/liff/apps`,
  `POST /_emulator/id-tokens/expire`.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from flask import Blueprint, Response, jsonify, redirect, request, send_from_directory
from flask.typing import ResponseReturnValue

from emulator.common import get_state
from emulator.liff_state import DEFAULT_LOGIN_CHANNEL_ID, VerifyError

LIFF_URL_PREFIX = "https://liff.line.me/"
VERIFY_PATH = "/oauth2/v2.1/verify"
STATIC_DIR = Path(__file__).with_name("static")

liff_api = Blueprint("liff_api", __name__)

ERROR_PAGE = """<!doctype html>
<html lang="ja"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>LIFF - LINE エミュレーター</title></head>
<body style="font-family:sans-serif;padding:48px 16px;text-align:center">
<h1 style="font-size:18px">LIFFアプリを開けませんでした</h1><p>{message}</p></body></html>
"""


def _error_page(status: int, message: str) -> Response:
    return Response(ERROR_PAGE.format(message=escape(message)), status, mimetype="text/html")


def split_liff_url(uri: str) -> tuple[str, str] | None:
    """(LIFF ID, additional path + query) of a LIFF URL, or None if it is not one."""
    if not uri.startswith(LIFF_URL_PREFIX):
        return None
    parts = urlsplit(uri)
    liff_id, _, rest = parts.path.lstrip("/").partition("/")
    if not liff_id:
        return None
    extra = ("/" + rest if rest else "") + ("?" + parts.query if parts.query else "")
    return liff_id, extra


def primary_redirect(endpoint_url: str, extra: str, id_token: str) -> str:
    """The endpoint URL, `liff.state` carrying the additional path and query, the ID token in
    the fragment."""
    parts = urlsplit(endpoint_url)
    query = parts.query
    if extra:
        query = (query + "&" if query else "") + urlencode({"liff.state": extra})
    fragment = urlencode({"liff.id_token": id_token})
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, fragment))


@liff_api.get("/_emulator/liff/open")
def open_liff() -> ResponseReturnValue:
    state = get_state()
    user = state.get_user(request.args.get("user", ""))
    if user is None:
        return _error_page(404, "ユーザーが見つかりません。トーク画面から開いてください。")
    split = split_liff_url(request.args.get("uri", ""))
    app = state.liff.app(split[0]) if split else None
    if split is None or app is None:
        return _error_page(404, "このLIFF URLのLIFFアプリは登録されていません。")
    token = state.liff.issue_id_token(app, user.user_id, user.display_name)
    return redirect(primary_redirect(app.endpoint_url, split[1], token), code=302)


@liff_api.get("/liff/edge/2/sdk.js")
def sdk() -> Response:
    response = send_from_directory(STATIC_DIR, "liff-sdk.js", mimetype="text/javascript")
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _login_error(description: str, status: int = 400) -> ResponseReturnValue:
    return jsonify({"error": "invalid_request", "error_description": description}), status


@liff_api.post(VERIFY_PATH)
def verify_id_token() -> ResponseReturnValue:
    if request.mimetype != "application/x-www-form-urlencoded":
        return _login_error("Content-Type must be application/x-www-form-urlencoded")
    form = request.form
    id_token, client_id = form.get("id_token", ""), form.get("client_id", "")
    if not id_token or not client_id:
        return _login_error("id_token and client_id are required")
    try:
        payload = get_state().liff.verify(
            id_token,
            client_id,
            nonce=form.get("nonce") or None,
            user_id=form.get("user_id") or None,
        )
    except VerifyError as exc:
        return _login_error(exc.description)
    return jsonify(payload)


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


@liff_api.post("/_emulator/liff/apps")
def add_app() -> ResponseReturnValue:
    body = _body()
    endpoint = body.get("endpointUrl")
    liff_id = body.get("liffId")
    channel_id = body.get("channelId") or DEFAULT_LOGIN_CHANNEL_ID
    if not isinstance(endpoint, str) or not isinstance(channel_id, str):
        return jsonify({"error": "endpointUrl (and channelId) must be strings"}), 400
    if liff_id is not None and not isinstance(liff_id, str):
        return jsonify({"error": "liffId must be a string"}), 400
    try:
        app = get_state().liff.add_app(endpoint, liff_id=liff_id, channel_id=channel_id)
    except ValueError as exc:
        return jsonify({"error": str(exc)}), 400
    return jsonify(app.to_dict()), 201


@liff_api.get("/_emulator/liff/apps")
def list_apps() -> ResponseReturnValue:
    return jsonify({"apps": [a.to_dict() for a in get_state().liff.list_apps()]})


@liff_api.post("/_emulator/id-tokens/expire")
def expire_id_tokens() -> ResponseReturnValue:
    return jsonify({"expired": get_state().liff.expire_id_tokens()})
