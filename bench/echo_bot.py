"""The baseline for bench/webhook.py: an echo bot written the way the LINE SDK's examples are.

Like line-bot-sdk-python's `examples/flask-echo/app.py` (v3 API): Flask, `WebhookHandler`,
and `MessagingApi.reply_message_with_http_info` called inline, inside the webhook request,
with a fresh `ApiClient` per event. Nothing is recorded; the reply is the ack's critical path.

    gunicorn -w 2 -k gthread --threads 8 bench.echo_bot:app

Environment: LINE_CHANNEL_SECRET, LINE_CHANNEL_ACCESS_TOKEN and LINE_API_BASE_URL (the
emulator's URL; defaults to LINE's own).
"""

from __future__ import annotations

import os
import sys

from flask import Flask, abort, request
from linebot.v3 import WebhookHandler
from linebot.v3.exceptions import InvalidSignatureError
from linebot.v3.messaging import (
    ApiClient,
    Configuration,
    MessagingApi,
    ReplyMessageRequest,
    TextMessage,
)
from linebot.v3.webhooks import MessageEvent, TextMessageContent

app = Flask(__name__)

channel_secret = os.getenv("LINE_CHANNEL_SECRET")
channel_access_token = os.getenv("LINE_CHANNEL_ACCESS_TOKEN")
if channel_secret is None or channel_access_token is None:
    print("Specify LINE_CHANNEL_SECRET and LINE_CHANNEL_ACCESS_TOKEN.", file=sys.stderr)
    sys.exit(1)

handler = WebhookHandler(channel_secret)
configuration = Configuration(
    host=os.getenv("LINE_API_BASE_URL", "https://api.line.me").rstrip("/"),
    access_token=channel_access_token,
)


@app.route("/callback", methods=["POST"])
def callback():  # type: ignore[no-untyped-def]
    signature = request.headers["X-Line-Signature"]
    body = request.get_data(as_text=True)
    app.logger.info("Request body: " + body)
    try:
        handler.handle(body, signature)
    except InvalidSignatureError:
        abort(400)
    return "OK"


@handler.add(MessageEvent, message=TextMessageContent)
def message_text(event):  # type: ignore[no-untyped-def]
    with ApiClient(configuration) as api_client:
        line_bot_api = MessagingApi(api_client)
        line_bot_api.reply_message_with_http_info(
            ReplyMessageRequest(
                reply_token=event.reply_token,
                messages=[TextMessage(text=event.message.text)],
            )
        )
