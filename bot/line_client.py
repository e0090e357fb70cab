"""The only module that talks to the Messaging API (and the only importer of linebot.v3.messaging)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from linebot.v3.messaging import (
    Message as SdkMessage,
)
from linebot.v3.messaging import (
    MulticastRequest,
    PushMessageRequest,
    ReplyMessageRequest,
    RichMenuRequest,
)

from bot.line_limits import MessageLimitError, check_messages, check_recipients

REQUEST_MODELS: dict[str, Any] = {
    "reply": ReplyMessageRequest,
    "push": PushMessageRequest,
    "multicast": MulticastRequest,
    "richmenu": RichMenuRequest,
}


def validate_messages(messages: Sequence[dict[str, Any]]) -> list[SdkMessage]:
    """Parse message dicts with the SDK's own models and check LINE's limits.

    Raises MessageLimitError (a ValueError) naming what is wrong.
    """
    check_messages(messages)
    try:
        return [SdkMessage.from_dict(dict(m)) for m in messages]
    except (ValueError, TypeError, KeyError) as exc:
        raise MessageLimitError(f"not a valid LINE message: {exc}") from exc


def validate_request(kind: str, body: dict[str, Any]) -> Any:
    """Validate a whole request body ("reply", "push", "multicast", "richmenu") as LINE would."""
    model = REQUEST_MODELS[kind]
    if kind in {"reply", "push", "multicast"}:
        check_messages(body.get("messages") or [])
    if kind == "multicast":
        check_recipients(body.get("to") or [])
    try:
        parsed = model.from_dict(body)
    except (ValueError, TypeError, KeyError) as exc:
        raise MessageLimitError(f"invalid {kind} request: {exc}") from exc
    if parsed is None:
        raise MessageLimitError(f"invalid {kind} request: empty body")
    return parsed
