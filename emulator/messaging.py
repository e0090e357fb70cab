"""The Messaging API endpoints the bot calls, answered as LINE answers them.

Authentication, fault injection, request ids and call recording are done for every `/v2/` path
by hooks in `emulator.app`, so each view here only does the endpoint's own work.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from flask import Blueprint, g, jsonify, request
from flask.typing import ResponseReturnValue
from pydantic.v1 import ValidationError  # the SDK's models are pydantic v1 models

from emulator.common import get_state, line_error
from emulator.limits import MessageLimitError
from emulator.request_models import REQUEST_MODELS, validate_request
from emulator.state import USER_ID_RE

messaging_api = Blueprint("messaging_api", __name__)

CHAT_ID_RE = re.compile(r"^[UCR][0-9a-f]{32}$")
PROPERTY_RE = re.compile(r"^([A-Za-z_][\w.\[\]]*): (.+)$", re.DOTALL)


def error_details(exc: MessageLimitError, kind: str | None = None) -> list[dict[str, str]]:
    """Split 'messages[0].quickReply[0]: label too long' into LINE's {message, property}.

    When the SDK's model for `kind` refused the body itself, one detail per field it named
    (a nested model's complaint has no path from the body, so it stays one message)."""
    cause = exc.__cause__
    if (
        kind is not None
        and isinstance(cause, ValidationError)
        and cause.model is REQUEST_MODELS[kind]
    ):
        return [{"message": e["msg"], "property": _property(e["loc"])} for e in cause.errors()]
    text = str(exc)
    match = PROPERTY_RE.match(text)
    if match:
        return [{"message": match.group(2), "property": match.group(1)}]
    if text.startswith("send "):
        return [{"message": text, "property": "messages"}]
    if text.startswith("multicast takes"):
        return [{"message": text, "property": "to"}]
    return [{"message": text}]


def _property(loc: tuple[int | str, ...]) -> str:
    """('userIds', 3) -> 'userIds[3]', as LINE names a property."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else part
    return path


def json_body() -> dict[str, Any] | None:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else None


def invalid_body(exc: MessageLimitError, kind: str | None = None) -> ResponseReturnValue:
    return body_errors(error_details(exc, kind))


def body_errors(details: list[dict[str, str]]) -> ResponseReturnValue:
    """LINE's 400 for a request body that breaks its rules: one detail per problem."""
    return line_error(400, f"The request body has {len(details)} error(s)", details)


def malformed_user_ids(ids: list[Any], name: str) -> ResponseReturnValue | None:
    """LINE's 400 naming each entry of the list `name` (`to`, `userIds`) that is not a user
    ID, or None when they all are."""
    bad = [i for i, uid in enumerate(ids) if not USER_ID_RE.match(str(uid))]
    if not bad:
        return None
    return body_errors([{"message": "invalid user id", "property": f"{name}[{i}]"} for i in bad])


def not_json() -> ResponseReturnValue:
    return line_error(400, "The request body could not be parsed as a JSON object")


def validated(kind: str) -> tuple[dict[str, Any] | None, ResponseReturnValue | None]:
    """The request's JSON body checked with the SDK's model for `kind` (a key of
    `emulator.request_models.REQUEST_MODELS`): (body, None), or (None, LINE's 400)."""
    body = json_body()
    if body is None:
        return None, not_json()
    try:
        validate_request(kind, body)
    except MessageLimitError as exc:
        return None, invalid_body(exc, kind)
    return body, None


def retry_key() -> tuple[str | None, ResponseReturnValue | None]:
    key = request.headers.get("X-Line-Retry-Key")
    if key is None:
        return None, None
    try:
        uuid.UUID(key)
    except ValueError:
        return None, line_error(
            400,
            "The value of the X-Line-Retry-Key header is invalid",
            [{"message": "must be a UUID", "property": "X-Line-Retry-Key"}],
        )
    return key.lower(), None


@messaging_api.post("/v2/bot/message/reply")
def reply() -> ResponseReturnValue:
    body, error = validated("reply")
    if error is not None:
        return error
    assert body is not None
    accepted = get_state().accept_reply(body["replyToken"], body["messages"])
    if accepted is None:
        return line_error(400, "Invalid reply token")
    _user_id, sent = accepted
    return jsonify({"sentMessages": sent})


def _send(
    via: str, recipients: list[str], body: dict[str, Any], key: str | None
) -> ResponseReturnValue:
    result = get_state().accept_send(via, recipients, body["messages"], key, g.line_request_id)
    if result.quota_exceeded:
        return line_error(429, "You have reached your monthly limit.")
    if not result.accepted:
        response = jsonify(
            {
                "message": "The retry key is already accepted",
                "sentMessages": result.sent_messages,
            }
            if via == "push"
            else {"message": "The retry key is already accepted"}
        )
        response.status_code = 409
        response.headers["x-line-accepted-request-id"] = result.accepted_request_id or ""
        return response
    return jsonify({"sentMessages": result.sent_messages} if via == "push" else {})


@messaging_api.post("/v2/bot/message/push")
def push() -> ResponseReturnValue:
    key, error = retry_key()
    if error is not None:
        return error
    body, error = validated("push")
    if error is not None:
        return error
    assert body is not None
    if not CHAT_ID_RE.match(body["to"]):
        return line_error(
            400,
            "The property, 'to', in the request body is invalid (line: -, column: -)",
            [{"message": "invalid user, group or room id", "property": "to"}],
        )
    return _send("push", [body["to"]], body, key)


@messaging_api.post("/v2/bot/message/multicast")
def multicast() -> ResponseReturnValue:
    key, error = retry_key()
    if error is not None:
        return error
    body, error = validated("multicast")
    if error is not None:
        return error
    assert body is not None
    error = malformed_user_ids(body["to"], "to")
    if error is not None:
        return error
    return _send("multicast", list(body["to"]), body, key)


@messaging_api.post("/v2/bot/message/validate/<kind>")
def validate_messages(kind: str) -> ResponseReturnValue:
    """LINE's message validation endpoints: 200 with an empty body, or 400 with details."""
    if kind not in {"reply", "push", "multicast", "narrowcast", "broadcast"}:
        return line_error(404, "Not found")
    body = json_body()
    if body is None:
        return not_json()
    try:
        validate_request("push", {"to": "U" + "0" * 32, "messages": body.get("messages")})
    except MessageLimitError as exc:
        return invalid_body(exc)
    return jsonify({})


@messaging_api.get("/v2/bot/message/quota")
def quota() -> ResponseReturnValue:
    value, _usage = get_state().quota_status()
    return jsonify({"type": "limited", "value": value})


@messaging_api.get("/v2/bot/message/quota/consumption")
def quota_consumption() -> ResponseReturnValue:
    _value, usage = get_state().quota_status()
    return jsonify({"totalUsage": usage})


@messaging_api.get("/v2/bot/profile/<user_id>")
def profile(user_id: str) -> ResponseReturnValue:
    user = get_state().get_user(user_id)
    if user is None or not user.following:
        return line_error(404, "Not found")
    return jsonify(
        {"userId": user.user_id, "displayName": user.display_name, "language": user.language}
    )


@messaging_api.get("/v2/bot/info")
def bot_info() -> ResponseReturnValue:
    state = get_state()
    return jsonify(
        {
            "userId": state.bot_user_id,
            "basicId": "@000emulator",
            "displayName": state.bot_display_name,
            "chatMode": "bot",
            "markAsReadMode": "auto",
        }
    )


@messaging_api.post("/v2/bot/user/<user_id>/linkToken")
def link_token(user_id: str) -> ResponseReturnValue:
    if not USER_ID_RE.match(user_id):
        return line_error(400, "The value of the userId path parameter is invalid")
    return jsonify({"linkToken": get_state().issue_link_token(user_id)})


@messaging_api.post("/v2/bot/chat/loading/start")
def loading_start() -> ResponseReturnValue:
    body, error = validated("loading")
    if error is not None:
        return error
    assert body is not None
    # LINE's rules beyond the model: one-on-one chats only, whole multiples of 5 seconds.
    chat_id = body["chatId"]
    seconds = body.get("loadingSeconds")
    seconds = 20 if seconds is None else seconds
    details = []
    if not USER_ID_RE.match(chat_id):
        details.append({"message": "must be a user ID", "property": "chatId"})
    if seconds % 5:
        details.append({"message": "must be a multiple of 5", "property": "loadingSeconds"})
    if details:
        return body_errors(details)
    get_state().record_loading(chat_id, seconds)
    return jsonify({}), 202


@messaging_api.post("/v2/bot/chat/markAsRead")
def mark_as_read() -> ResponseReturnValue:
    """Mark a user's messages read by the markAsReadToken of a message event (LINE: 200 with
    an empty body; 400 for a token it did not give this bot)."""
    body, error = validated("markAsRead")
    if error is not None:
        return error
    assert body is not None
    token = body.get("markAsReadToken")
    if not isinstance(token, str) or not get_state().mark_read(token):
        return line_error(
            400,
            "An invalid markAsReadToken is specified.",
            [{"message": "invalid token", "property": "markAsReadToken"}],
        )
    return jsonify({})
