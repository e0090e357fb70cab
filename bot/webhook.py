"""POST /callback: verify the signature, check the shape, record each event once, ack fast."""

from __future__ import annotations

import json
import logging
import math
import re
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from linebot.v3.webhook import SignatureValidator
from werkzeug.exceptions import RequestEntityTooLarge

from bot.appstate import get_runtime, get_worker_pool
from bot.webhook_record import DATABASE_UNAVAILABLE, record_retrying
from common import metrics
from common.logging_setup import log_fields

logger = logging.getLogger("benesapo.webhook")
bp = Blueprint("webhook", __name__)


_OK = b'{"status": "ok"}\n'  # the acknowledgement, built once


class BadWebhook(ValueError):
    pass


# The last instant a datetime holds (9999-12-31T23:59:59.999Z), in LINE's milliseconds.
MAX_TIMESTAMP_MS = 253_402_300_799_999
# Ids and tokens we store in columns (webhookEventId, userId, groupId, roomId: LINE's are 26-33
# characters; reply tokens are 32).
MAX_ID_LENGTH = 64
MAX_REPLY_TOKEN_LENGTH = 100
# What the database cannot store: NUL characters, unpaired surrogates (JSON escapes can encode
# both). Only a body with such an escape is searched for them.
_SUSPECT_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")


def _not_finite(value: str) -> float:
    raise ValueError(f"{value} is not a JSON number")


def _finite_float(value: str) -> float:
    number = float(value)
    if math.isinf(number):  # 1e400: the database's JSON would refuse "Infinity"
        raise ValueError("number out of range")
    return number


_DECODER = json.JSONDecoder(parse_constant=_not_finite, parse_float=_finite_float)


def _decode(raw: bytes) -> Any:
    try:
        return _DECODER.decode(raw.decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # also: too deep, integers over 4,300 digits
        raise BadWebhook("body is not JSON") from exc


def _storable(body: Any) -> bool:
    """No string (or key) in the body holds a NUL character or an unpaired surrogate."""
    stack = [body]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            if "\x00" in item:
                return False
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return False
    return True


def _string(container: dict[str, Any], key: str, what: str, limit: int | None = None) -> None:
    """`container[key]`, when present, is a string (of at most `limit` characters)."""
    value = container.get(key)
    if value is None:
        return
    if not isinstance(value, str):
        raise BadWebhook(f"{what} is not a string")
    if limit is not None and len(value) > limit:
        raise BadWebhook(f"{what} too long")


def _check_event(event: Any) -> None:
    """The fields we read and store have LINE's types; anything else LINE adds is kept as is."""
    if not isinstance(event, dict):
        raise BadWebhook("event is not an object")
    if not isinstance(event.get("type"), str) or not event["type"]:
        raise BadWebhook("event has no type")
    if not isinstance(event.get("webhookEventId"), str) or not event["webhookEventId"]:
        raise BadWebhook("event has no webhookEventId")
    if len(event["webhookEventId"]) > MAX_ID_LENGTH:
        raise BadWebhook("webhookEventId too long")
    timestamp = event.get("timestamp")
    if not isinstance(timestamp, int) or isinstance(timestamp, bool):
        raise BadWebhook("event has no timestamp")
    if not 0 <= timestamp <= MAX_TIMESTAMP_MS:
        raise BadWebhook("event timestamp out of range")
    _string(event, "mode", "event mode")
    _string(event, "replyToken", "replyToken", MAX_REPLY_TOKEN_LENGTH)
    delivery = event.get("deliveryContext")
    if delivery is not None:
        if not isinstance(delivery, dict):
            raise BadWebhook("deliveryContext is not an object")
        redelivery = delivery.get("isRedelivery")
        if redelivery is not None and not isinstance(redelivery, bool):
            raise BadWebhook("isRedelivery is not a boolean")
    source = event.get("source")
    if source is not None:
        if not isinstance(source, dict):
            raise BadWebhook("event source is not an object")
        _string(source, "type", "source type")
        for key in ("userId", "groupId", "roomId"):
            _string(source, key, f"source {key}", MAX_ID_LENGTH)
    for key in ("message", "postback"):  # what routing reads
        value = event.get(key)
        if value is not None and not isinstance(value, dict):
            raise BadWebhook(f"event {key} is not an object")


def parse_webhook_body(raw: bytes) -> list[dict[str, Any]]:
    """The events of a webhook body, or BadWebhook if it is not LINE's webhook shape.

    Everything recording reads is checked here, so that a malformed body is a 400 with nothing
    recorded, never an error half-way through recording it.
    """
    body = _decode(raw)
    if not isinstance(body, dict) or not isinstance(body.get("events"), list):
        raise BadWebhook("body has no events list")
    events = body["events"]
    for event in events:
        _check_event(event)
    if _SUSPECT_ESCAPE.search(raw) and not _storable(body):
        raise BadWebhook("body has a NUL character or an unpaired surrogate")
    return events


def _error(status: int, message: str):  # type: ignore[no-untyped-def]
    return jsonify({"error": message}), status


WEBHOOK_PATH = "/callback"
MAX_BODY_BYTES = 1024 * 1024


def _read_body() -> bytes:
    """The body, or 413 when it is over MAX_BODY_BYTES, with or without Content-Length.

    A chunked body (no Content-Length) is only cut at the request's limit by Werkzeug, without
    an error: it is read with a limit one byte over ours, so that one byte too many is seen.
    """
    request.max_content_length = MAX_BODY_BYTES + 1  # a larger Content-Length: 413 at once
    raw = request.get_data(cache=False)
    if len(raw) > MAX_BODY_BYTES:
        raise RequestEntityTooLarge()
    return raw


@bp.post(WEBHOOK_PATH)
def callback():  # type: ignore[no-untyped-def]
    runtime = get_runtime()
    signature = request.headers.get("X-Line-Signature", "")  # header names are case-insensitive
    raw = _read_body()
    validator = SignatureValidator(runtime.settings.channel_secret)
    try:
        valid = bool(signature) and validator.validate(raw.decode("utf-8"), signature)
    except UnicodeDecodeError:
        valid = False
    if not valid:
        log_fields(logger, logging.WARNING, {"event": "webhook_rejected", "reason": "signature"})
        return _error(400, "invalid signature")
    try:
        events = parse_webhook_body(raw)
    except BadWebhook as exc:
        log_fields(logger, logging.WARNING, {"event": "webhook_rejected", "reason": str(exc)})
        return _error(400, str(exc))
    if events:
        try:  # one INSERT of all the events, tried again while the database is briefly away
            new = record_retrying(runtime.engine, events, runtime.clock.now)
        except DATABASE_UNAVAILABLE:
            # Answered 503 (bot.errors): LINE sends it again only with webhook redelivery on.
            metrics.WEBHOOK_REFUSED.labels("database_unavailable").inc()
            metrics.EVENTS_REFUSED.inc(len(events))
            raise
        by_id = {e["webhookEventId"]: e["type"] for e in events}
        for event_id in new:
            metrics.EVENTS_RECEIVED.labels(by_id[event_id]).inc()
        duplicates = len(events) - len(new)
        if duplicates:
            metrics.EVENTS_DUPLICATE.inc(duplicates)
        pool = get_worker_pool()
        if pool is not None and new:
            pool.notify(len(new))
    return current_app.response_class(_OK, mimetype="application/json")
