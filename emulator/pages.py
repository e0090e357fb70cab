"""Browser-facing pages: the chat page and LINE's account-link dialog."""

from __future__ import annotations

from html import escape
from urllib.parse import quote

from flask import Blueprint, Response, current_app, request, send_from_directory
from flask.typing import ResponseReturnValue

from emulator import webhook
from emulator.common import get_state

pages = Blueprint("pages", __name__)

LINK_PAGE = """<!doctype html>
<html lang="ja"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>アカウント連携 - LINE エミュレーター</title>
<link rel="icon" href="/_emulator/static/favicon.svg" type="image/svg+xml">
<style>
body {{ font-family: sans-serif; background: #f5f6f7; margin: 0; padding: 48px 16px; }}
main {{ max-width: 420px; margin: auto; background: #fff; border-radius: 12px; padding: 24px;
  box-shadow: 0 1px 4px rgba(0,0,0,.1); text-align: center; }}
h1 {{ font-size: 18px; }} p {{ line-height: 1.6; }}
a.back {{ display: inline-block; margin-top: 16px; padding: 10px 20px; border-radius: 8px;
  background: #06c755; color: #fff; text-decoration: none; font-weight: bold; }}
.note {{ color: #888; font-size: 12px; }}
</style></head>
<body><main>
<h1>{title}</h1>
<p>{message}</p>
<p class="note">{note}</p>
{back}
</main></body></html>
"""


@pages.get("/")
def chat_page() -> Response:
    return send_from_directory(current_app.static_folder or "", "chat.html")


@pages.get("/favicon.ico")
def favicon() -> Response:
    """What a browser asks for by itself (pages link the SVG; this is for the others)."""
    return send_from_directory(
        current_app.static_folder or "", "favicon.svg", mimetype="image/svg+xml", max_age=86400
    )


@pages.get("/dialog/bot/accountLink")
def account_link() -> ResponseReturnValue:
    """LINE's side of account linking: tell the bot the result with an `accountLink` event."""
    state = get_state()
    token = request.args.get("linkToken", "")
    nonce = request.args.get("nonce", "")
    user_id, ok = state.use_link_token(token)
    # The browser's LINE login identifies the user even when the link token is unknown.
    user_id = user_id or request.args.get("user") or None
    if user_id is None:
        html = LINK_PAGE.format(
            title="連携できませんでした",
            message="連携用のトークンが無効です。トーク画面からもう一度お試しください。",
            note="(エミュレーター: 不明な linkToken のため、通知するユーザーがいません)",
            back='<a class="back" href="/">トーク画面に戻る</a>',
        )
        return Response(html, status=400, mimetype="text/html")
    event = webhook.base_event(state, user_id, "accountLink")
    event["link"] = {"result": "ok" if ok else "failed", "nonce": nonce}
    if not ok:
        # LINE leaves out the reply token when linking failed.
        event.pop("replyToken", None)
    result = webhook.deliver_events(state, [event])
    if ok:
        title = "アカウント連携"
        message = "連携処理が完了しました。トーク画面に戻ってください。"
    else:
        title = "連携できませんでした"
        message = "このリンクは使用済みか期限切れです。トーク画面に戻ってください。"
    if result.error:
        note = f"(エミュレーター: accountLink イベントが Bot に届きませんでした: {result.error})"
    else:
        note = f"(エミュレーター: accountLink イベント送信済み — Bot の応答 HTTP {result.status})"
    back = f'<a class="back" href="/?user={quote(user_id)}">トーク画面に戻る</a>'
    html = LINK_PAGE.format(
        title=escape(title), message=escape(message), note=escape(note), back=back
    )
    return Response(html, status=200, mimetype="text/html")
