"""Webhook events as LINE builds them, signed and delivered to the bot's webhook URL."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import requests

from emulator.ids import new_ulid

if TYPE_CHECKING:  # the state imports the redelivery queue, which delivers through here
    from emulator.state import EmulatorState

# Event types LINE sends without a reply token.
NO_REPLY_TOKEN_TYPES = {"unfollow", "unsend", "leave", "memberLeft"}


def sign(channel_secret: str, body: bytes) -> str:
    """`X-Line-Signature`: base64 of HMAC-SHA256 over the exact body bytes."""
    digest = hmac.new(channel_secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def base_event(state: EmulatorState, user_id: str, event_type: str) -> dict[str, Any]:
    """Fields every one-to-one chat event carries (and a fresh reply token where LINE adds one)."""
    event: dict[str, Any] = {"type": event_type, "mode": "active"}
    now = state.clock()
    event["timestamp"] = int(now * 1000)
    event["source"] = {"type": "user", "userId": user_id}
    event["webhookEventId"] = new_ulid(now)
    event["deliveryContext"] = {"isRedelivery": False}
    if event_type not in NO_REPLY_TOKEN_TYPES:
        event["replyToken"] = state.issue_reply_token(user_id)
    return event


def new_message_id() -> str:
    return str(secrets.randbelow(9 * 10**17) + 10**17)


def text_event(state: EmulatorState, user_id: str, text: str) -> dict[str, Any]:
    event = base_event(state, user_id, "message")
    event["message"] = {
        "id": new_message_id(),
        "type": "text",
        "text": text,
        "quoteToken": secrets.token_urlsafe(32),
    }
    event["message"]["markAsReadToken"] = state.issue_read_token(user_id, event["message"]["id"])
    return event


def postback_event(
    state: EmulatorState, user_id: str, data: str, params: dict[str, Any] | None = None
) -> dict[str, Any]:
    event = base_event(state, user_id, "postback")
    event["postback"] = {"data": data}
    if params:
        event["postback"]["params"] = params
    return event


def generic_event(
    state: EmulatorState, user_id: str, event_type: str, extra: dict[str, Any]
) -> dict[str, Any]:
    event = base_event(state, user_id, event_type)
    if event_type == "follow" and "follow" not in extra:
        extra = {**extra, "follow": {"isUnblocked": False}}
    event.update(extra)
    message = event.get("message")
    if event_type == "message" and isinstance(message, dict) and "markAsReadToken" not in message:
        message["markAsReadToken"] = state.issue_read_token(user_id, str(message.get("id", "")))
    return event


def wrap(state: EmulatorState, events: list[dict[str, Any]]) -> dict[str, Any]:
    return {"destination": state.bot_user_id, "events": events}


@dataclass
class Delivery:
    """What the bot answered to one webhook request."""

    status: int | None
    body: str
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "body": self.body, "error": self.error}


def encode(body: dict[str, Any]) -> bytes:
    # LINE sends compact JSON with non-ASCII characters as UTF-8.
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def deliver_raw(
    state: EmulatorState,
    raw: bytes,
    *,
    signed: bool = True,
    signature: str | None = None,
    attempt: int = 0,
) -> Delivery:
    """POST the exact bytes to the bot's webhook URL, signed like LINE; a failed delivery is
    redelivered later when redelivery is on (`attempt`: 0 for the first delivery)."""
    delivery = _post(state, raw, signed=signed, signature=signature)
    if signed and signature is None:  # a deliberately mis-signed body is not LINE's to resend
        state.redeliveries.after_delivery(raw, delivery.status, attempt)
    return delivery


def _post(state: EmulatorState, raw: bytes, *, signed: bool, signature: str | None) -> Delivery:
    url = state.webhook_url
    if not url:
        return Delivery(None, "", "the bot's webhook URL is not set")
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "LineBotWebhook/2.0",
    }
    if signature is not None:
        headers["X-Line-Signature"] = signature
    elif signed:
        headers["X-Line-Signature"] = sign(state.channel_secret, raw)
    try:
        response = requests.post(url, data=raw, headers=headers, timeout=state.webhook_timeout)
    except requests.RequestException as exc:
        return Delivery(None, "", f"{type(exc).__name__}: {exc}")
    return Delivery(response.status_code, response.text)


def deliver_events(state: EmulatorState, events: list[dict[str, Any]]) -> Delivery:
    return deliver_raw(state, encode(wrap(state, events)))
