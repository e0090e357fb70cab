"""Request bodies checked as LINE checks them: the SDK's request models (the published OpenAPI
spec, generated) plus LINE's documented limits from `emulator.limits`."""

from __future__ import annotations

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

from emulator.limits import MessageLimitError, check_messages, check_recipients

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
