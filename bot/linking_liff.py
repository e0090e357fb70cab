"""The LIFF side of the login page: which LINE user is this browser's?

The login button in chat is a LIFF URL (`https://liff.line.me/{LIFF_ID}`); LINE opens the LIFF
app's endpoint URL (`PUBLIC_BASE_URL/link`) in the LIFF browser of the user who tapped it. The
landing page loads the LIFF SDK, takes the user's ID token (`liff.getIDToken()`) and posts it
to `/link/identify`, where LINE's "Verify ID token" endpoint, asked with our LINE Login
channel's ID as `client_id`, says whose it is (`sub`). Only that user's own link request is
then offered: a login URL forwarded to somebody else opens *their* LIFF browser, with *their*
ID token, and links nothing to the sender (the link hijack of issue 16.9).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import render_template_string

from adapters.line_login import LineLoginClient
from bot.appstate import get_line_login
from common.config import Settings
from handlers import linking_texts as t

LINE_API = "https://api.line.me"
LINE_LIFF_SDK = "https://static.line-scdn.net/liff/edge/2/sdk.js"
EMULATOR_SDK_PATH = "/liff/edge/2/sdk.js"

LANDING = """<!doctype html>
<html lang="ja"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ t.PAGE_TITLE }}</title>
<style>
body{font-family:-apple-system,"Hiragino Sans","Noto Sans JP",sans-serif;margin:0;
background:#f4f6f8;color:#222}
main{max-width:420px;margin:0 auto;padding:24px 16px}
h1{font-size:1.25rem;color:#06c755;margin:0 0 12px}
p{line-height:1.6}
.error{background:#fdecea;color:#b3261e;padding:12px;border-radius:8px}
</style></head><body><main>
<h1>{{ t.PAGE_TITLE }}</h1>
<div id="liff-login" data-liff-id="{{ liff_id }}" data-failed="{{ t.PAGE_LIFF_FAILED }}">
<p id="status" role="status">{{ t.PAGE_LIFF_CHECKING }}</p>
<noscript><p class="error">{{ t.PAGE_LIFF_FAILED }}</p></noscript>
</div>
<form id="identify" method="post" action="{{ action }}">
<input type="hidden" name="csrf_token" value="{{ csrf_token }}">
<input type="hidden" name="id_token" value="">
</form>
<script src="{{ sdk_url }}"></script>
<script src="{{ script_url }}"></script>
</main></body></html>
"""


def configured(settings: Settings) -> bool:
    return bool(settings.liff_id and settings.line_login_channel_id)


def sdk_url(settings: Settings) -> str:
    """The LIFF SDK: a setting wins; against the emulator, the emulator's; else LINE's CDN."""
    if settings.liff_sdk_url:
        return settings.liff_sdk_url
    base = settings.line_api_base_url.rstrip("/")
    if base != LINE_API:
        return base + EMULATOR_SDK_PATH
    return LINE_LIFF_SDK


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def sdk_origin(settings: Settings) -> str:
    """Where the LIFF SDK comes from (the landing page's policy allows it:
    `bot.security_headers.liff_landing`)."""
    return _origin(sdk_url(settings))


def landing_html(settings: Settings, *, action: str, csrf_token: str, script_url: str) -> str:
    return render_template_string(
        LANDING,
        t=t,
        liff_id=settings.liff_id,
        action=action,
        csrf_token=csrf_token,
        sdk_url=sdk_url(settings),
        script_url=script_url,
    )


def login_client() -> LineLoginClient:
    """The app's LINE Login client (one per app, made on first use)."""
    return get_line_login()
