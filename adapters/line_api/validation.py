"""Message and request bodies checked as LINE would: LINE's limits, then the SDK's own models."""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from linebot.v3.messaging import (
    CreateRichMenuAliasRequest,
    MarkMessagesAsReadByTokenRequest,
    MulticastRequest,
    PushMessageRequest,
    ReplyMessageRequest,
    RichMenuBulkLinkRequest,
    RichMenuBulkUnlinkRequest,
    RichMenuRequest,
    ShowLoadingAnimationRequest,
    UpdateRichMenuAliasRequest,
)
from linebot.v3.messaging import (
    Message as SdkMessage,
)

from adapters.line_limits import MessageLimitError, check_messages, check_recipients

# Request bodies `validate_request` checks with the SDK's own models (the emulator has its own
# table of them, `emulator/request_models.py`).
REQUEST_MODELS: dict[str, Any] = {
    "reply": ReplyMessageRequest,
    "push": PushMessageRequest,
    "multicast": MulticastRequest,
    "richmenu": RichMenuRequest,
    "loading": ShowLoadingAnimationRequest,
    "markAsRead": MarkMessagesAsReadByTokenRequest,
    "richmenu.bulk.link": RichMenuBulkLinkRequest,
    "richmenu.bulk.unlink": RichMenuBulkUnlinkRequest,
    "richmenu.alias.create": CreateRichMenuAliasRequest,
    "richmenu.alias.update": UpdateRichMenuAliasRequest,
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


# Keys whose string values are free text to the SDK's models (no enum, pattern or format):
# replaced by a placeholder, they leave a message's shape, what those models check.
FREE_TEXT_KEYS = frozenset({"text", "altText", "label", "displayText", "data", "fillInText"})


def message_shape(value: Any) -> Any:
    """`value` with every non-empty free text replaced by "x" (LINE's limits on the texts
    themselves are check_messages's, on the real messages)."""
    if isinstance(value, dict):
        return {
            key: "x"
            if key in FREE_TEXT_KEYS and isinstance(item, str) and item
            else message_shape(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [message_shape(item) for item in value]
    return value


@lru_cache(maxsize=1024)  # a few MB at most: Flex messages run to a few KB
def _validate_shape_json(canonical: str) -> None:
    try:
        [SdkMessage.from_dict(m) for m in json.loads(canonical)]
    except (ValueError, TypeError, KeyError) as exc:
        raise MessageLimitError(f"not a valid LINE message: {exc}") from exc


def checked_messages(messages: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """validate_messages, with the SDK's models run once per message shape; returns the
    messages as a list.

    LINE's limits (lengths, counts) are checked on every message; the SDK's models check
    types, enums and structure, which free texts do not change: the same card with another
    member's points or name is not parsed by them again."""
    try:
        shape = message_shape(list(messages))
        canonical = json.dumps(shape, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:  # not JSON at all
        raise MessageLimitError(f"not a valid LINE message: {exc}") from exc
    check_messages(messages)
    _validate_shape_json(canonical)
    return list(messages)


def validate_request(kind: str, body: dict[str, Any]) -> Any:
    """Validate a whole request body (`kind`: a key of REQUEST_MODELS) as LINE would.

    Raises MessageLimitError; when the SDK's model refused the body, its `__cause__` is the
    model's validation error."""
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
