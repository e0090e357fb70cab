"""Control API under `/_emulator/` for tests, `benesapo chat` and the chat page (JSON)."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from emulator import webhook
from emulator.common import get_state
from emulator.state import FAULT_BEFORE, EmulatorState, User

control_api = Blueprint("control_api", __name__, url_prefix="/_emulator")


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def _problem(status: int, error: str) -> ResponseReturnValue:
    return jsonify({"error": error}), status


def _after() -> int:
    try:
        return int(request.args.get("after", "0"))
    except ValueError:
        return 0


def _deliver_event(state: EmulatorState, event: dict[str, Any]) -> ResponseReturnValue:
    result = webhook.deliver_events(state, [event])
    return jsonify({"webhookEventId": event["webhookEventId"], "event": event, **result.to_dict()})


def _user_or_404(user_id: str) -> User | None:
    return get_state().get_user(user_id)


@control_api.get("/config")
def config() -> ResponseReturnValue:
    state = get_state()
    return jsonify({"webhook_url": state.webhook_url, "bot_user_id": state.bot_user_id})


@control_api.post("/webhook")
def set_webhook() -> ResponseReturnValue:
    """{url, timeout (optional): seconds the emulator waits for the bot's answer}."""
    body = _body()
    url, timeout = body.get("url"), body.get("timeout")
    if url is not None and not isinstance(url, str):
        return _problem(400, "url must be a string or null")
    if timeout is not None and (
        not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout <= 0
    ):
        return _problem(400, "timeout must be a positive number of seconds")
    state = get_state()
    state.webhook_url = url
    if timeout is not None:
        state.webhook_timeout = float(timeout)
    return jsonify({"webhook_url": url, "timeout": state.webhook_timeout})


@control_api.get("/webhook/redelivery")
def get_redelivery() -> ResponseReturnValue:
    queue = get_state().redeliveries
    return jsonify({"enabled": queue.enabled, "delays": queue.delays, "pending": queue.pending()})


@control_api.post("/webhook/redelivery")
def set_redelivery() -> ResponseReturnValue:
    """Turn LINE's webhook redelivery on or off: {enabled, delays (s, optional)}."""
    body = _body()
    enabled, delays = body.get("enabled"), body.get("delays")
    if not isinstance(enabled, bool):
        return _problem(400, "enabled must be true or false")
    if delays is not None and not (
        isinstance(delays, list)
        and all(isinstance(d, int | float) and not isinstance(d, bool) and d >= 0 for d in delays)
    ):
        return _problem(400, "delays must be a list of seconds")
    get_state().redeliveries.configure(enabled, delays)
    return get_redelivery()


@control_api.get("/users")
def list_users() -> ResponseReturnValue:
    return jsonify({"users": [u.to_dict() for u in get_state().list_users()]})


@control_api.post("/users")
def create_user() -> ResponseReturnValue:
    body = _body()
    try:
        user = get_state().add_user(body.get("user_id"), body.get("display_name"))
    except ValueError as exc:
        return _problem(400, str(exc))
    return jsonify(user.to_dict())


@control_api.get("/users/<user_id>")
def get_user(user_id: str) -> ResponseReturnValue:
    user = _user_or_404(user_id)
    if user is None:
        return _problem(404, f"unknown user {user_id}")
    return jsonify(user.to_dict())


@control_api.post("/users/<user_id>/text")
def send_text(user_id: str) -> ResponseReturnValue:
    state = get_state()
    if state.get_user(user_id) is None:
        return _problem(404, f"unknown user {user_id}")
    text = _body().get("text")
    if not isinstance(text, str) or not text:
        return _problem(400, "text is required")
    state.record_user_action(user_id, "text", {"type": "text", "text": text})
    return _deliver_event(state, webhook.text_event(state, user_id, text))


@control_api.post("/users/<user_id>/postback")
def send_postback(user_id: str) -> ResponseReturnValue:
    state = get_state()
    if state.get_user(user_id) is None:
        return _problem(404, f"unknown user {user_id}")
    body = _body()
    data = body.get("data")
    if not isinstance(data, str) or not data:
        return _problem(400, "data is required")
    params = body.get("params")
    shown = {"type": "postback", "data": data}
    if body.get("displayText"):
        shown["displayText"] = str(body["displayText"])
    state.record_user_action(user_id, "postback", shown)
    return _deliver_event(state, webhook.postback_event(state, user_id, data, params))


@control_api.post("/users/<user_id>/events")
def send_event(user_id: str) -> ResponseReturnValue:
    state = get_state()
    if state.get_user(user_id) is None:
        return _problem(404, f"unknown user {user_id}")
    extra = dict(_body())
    event_type = extra.pop("type", None)
    if not isinstance(event_type, str) or not event_type:
        return _problem(400, "type is required")
    if event_type == "follow":
        user = state.get_user(user_id)
        was_blocked = user is not None and not user.following
        extra.setdefault("follow", {"isUnblocked": was_blocked})
        state.set_following(user_id, True)
    elif event_type == "unfollow":
        state.set_following(user_id, False)
    state.record_user_action(user_id, "event", {"type": event_type})
    return _deliver_event(state, webhook.generic_event(state, user_id, event_type, extra))


@control_api.post("/deliver")
def deliver() -> ResponseReturnValue:
    state = get_state()
    body = _body()
    if "raw" in body:
        raw = str(body["raw"]).encode("utf-8")
    elif isinstance(body.get("body"), dict):
        payload = json.loads(json.dumps(body["body"]))
        if body.get("redelivery"):
            for event in payload.get("events", []):
                if isinstance(event, dict):
                    event.setdefault("deliveryContext", {})["isRedelivery"] = True
        raw = webhook.encode(payload)
    else:
        return _problem(400, "give 'body' (an object) or 'raw' (a string)")
    result = webhook.deliver_raw(
        state, raw, signed=bool(body.get("sign", True)), signature=body.get("signature")
    )
    return jsonify(result.to_dict())


@control_api.get("/users/<user_id>/inbox")
def inbox(user_id: str) -> ResponseReturnValue:
    entries = get_state().inbox(user_id, _after())
    return jsonify({"messages": [_inbox_dict(e.to_dict()) for e in entries]})


def _inbox_dict(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: entry[k] for k in ("seq", "via", "message", "at", "id")}


@control_api.get("/users/<user_id>/read")
def read_marks(user_id: str) -> ResponseReturnValue:
    """Ids of the user's messages the bot marked read (mark-as-read API)."""
    return jsonify({"message_ids": get_state().read_up_to(user_id)})


@control_api.get("/users/<user_id>/timeline")
def timeline(user_id: str) -> ResponseReturnValue:
    entries = get_state().timeline(user_id, _after())
    return jsonify({"entries": [e.to_dict() for e in entries]})


@control_api.get("/calls")
def calls() -> ResponseReturnValue:
    after = request.args.get("after", "0")
    if not after.isdigit():
        return _problem(400, "after must be a whole number of calls")
    found = get_state().recorded_calls(request.args.get("path"), int(after))
    return jsonify({"calls": [c.to_dict() for c in found]})


@control_api.post("/faults")
def add_fault() -> ResponseReturnValue:
    """Queue a fault for the next `count` calls to `path`: {path, status, delay, count, when}
    (`when`: "before" or "after" handling; see `emulator.state.Fault`)."""
    body = _body()
    path = body.get("path")
    if not isinstance(path, str) or not path.startswith("/"):
        return _problem(400, "path must be an absolute path such as /v2/bot/message/reply")
    try:
        status = int(body["status"]) if body.get("status") else None
        delay = float(body.get("delay") or 0.0)
        count = int(body.get("count", 1))
    except (TypeError, ValueError):
        return _problem(400, "status, delay and count must be numbers")
    if status is None and delay <= 0:
        return _problem(400, "a fault needs a status, a delay, or both")
    try:
        fault = get_state().add_fault(path, status, delay, count, body.get("when") or FAULT_BEFORE)
    except ValueError as exc:  # an unknown `when`
        return _problem(400, str(exc))
    return jsonify(fault.to_dict()), 201


@control_api.get("/faults")
def list_faults() -> ResponseReturnValue:
    state = get_state()
    with state.lock:
        faults = [f.to_dict() for f in state.faults]
    return jsonify({"faults": faults})


@control_api.post("/reply-tokens/expire")
def expire_reply_tokens() -> ResponseReturnValue:
    return jsonify({"expired": get_state().expire_reply_tokens()})


@control_api.post("/quota")
def set_quota() -> ResponseReturnValue:
    try:
        value = int(_body()["value"])
    except (KeyError, TypeError, ValueError):
        return _problem(400, "value must be an integer")
    get_state().set_quota(value)
    return jsonify({"value": value})


@control_api.post("/reset")
def reset() -> ResponseReturnValue:
    get_state().reset()
    return jsonify({"reset": True})
