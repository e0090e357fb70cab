"""Test helpers: LINE-signed webhook bodies and event builders."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import time
from typing import Any

CHANNEL_SECRET = "test-channel-secret"
ACCESS_TOKEN = "test-access-token"
# The web app refuses to start without SECRET_KEY: every test app passes this one.
SECRET_KEY = "test-secret-key-never-derived-from-the-channel-secret"
# The login page's LIFF app and the LINE Login channel it belongs to (the emulator's).
LOGIN_CHANNEL_ID = "2000000001"
LIFF_ID = LOGIN_CHANNEL_ID + "-LinkPage"

_counter = itertools.count(1)


def sign(body: bytes, secret: str = CHANNEL_SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def event_id() -> str:
    return f"01TESTEVENT{next(_counter):015d}"


def user_event(event_type: str, user_id: str = "U" + "a" * 32, **fields: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": event_type,
        "mode": "active",
        "timestamp": fields.pop("timestamp", int(time.time() * 1000)),
        "source": fields.pop("source", {"type": "user", "userId": user_id}),
        "webhookEventId": fields.pop("webhookEventId", event_id()),
        "deliveryContext": {"isRedelivery": fields.pop("isRedelivery", False)},
    }
    event.update(fields)
    return event


def text_event(text: str, user_id: str = "U" + "a" * 32, **fields: Any) -> dict[str, Any]:
    return user_event(
        "message",
        user_id,
        replyToken=fields.pop("replyToken", f"rt-{next(_counter)}"),
        message={"id": str(next(_counter)), "type": "text", "text": text, "quoteToken": "q"},
        **fields,
    )


def body_of(*events: dict[str, Any]) -> bytes:
    return json.dumps({"destination": "U" + "0" * 32, "events": list(events)}).encode()
