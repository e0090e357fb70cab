"""POST /callback: verify the signature, check the shape, record each event once, ack fast."""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from linebot.v3.webhook import SignatureValidator

from bot import metrics
from models.db import single_statement
from models.events import record_events

logger = logging.getLogger("benesapo.webhook")
bp = Blueprint("webhook", __name__)


_OK = b'{"status": "ok"}\n'  # the acknowledgement, built once


class BadWebhook(ValueError):
    pass


def parse_webhook_body(raw: bytes) -> list[dict[str, Any]]:
    """The events of a webhook body, or BadWebhook if it is not LINE's webhook shape."""
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadWebhook("body is not JSON") from exc
    if not isinstance(body, dict) or not isinstance(body.get("events"), list):
        raise BadWebhook("body has no events list")
    events = body["events"]
    for event in events:
        if not isinstance(event, dict):
            raise BadWebhook("event is not an object")
        if not isinstance(event.get("type"), str) or not event["type"]:
            raise BadWebhook("event has no type")
        if not isinstance(event.get("webhookEventId"), str) or not event["webhookEventId"]:
            raise BadWebhook("event has no webhookEventId")
        if len(event["webhookEventId"]) > 64:
            raise BadWebhook("webhookEventId too long")
        timestamp = event.get("timestamp")
        if not isinstance(timestamp, int) or isinstance(timestamp, bool) or timestamp < 0:
            raise BadWebhook("event has no timestamp")
        source = event.get("source")
        if source is not None and not isinstance(source, dict):
            raise BadWebhook("event source is not an object")
    return events


def _error(status: int, message: str):  # type: ignore[no-untyped-def]
    return jsonify({"error": message}), status


WEBHOOK_PATH = "/callback"


@bp.post(WEBHOOK_PATH)
def callback():  # type: ignore[no-untyped-def]
    from bot.app import get_runtime, get_worker_pool

    runtime = get_runtime(current_app)
    signature = request.headers.get("X-Line-Signature", "")  # header names are case-insensitive
    raw = request.get_data(cache=False)  # over MAX_CONTENT_LENGTH: Flask answers 413
    validator = SignatureValidator(runtime.settings.channel_secret)
    try:
        valid = bool(signature) and validator.validate(raw.decode("utf-8"), signature)
    except UnicodeDecodeError:
        valid = False
    if not valid:
        logger.warning(json.dumps({"event": "webhook_rejected", "reason": "signature"}))
        return _error(400, "invalid signature")
    try:
        events = parse_webhook_body(raw)
    except BadWebhook as exc:
        logger.warning(json.dumps({"event": "webhook_rejected", "reason": str(exc)}))
        return _error(400, str(exc))
    if events:
        with single_statement(runtime.engine) as conn:  # one INSERT of all the events
            new = record_events(conn, events, runtime.clock.now())
        by_id = {e["webhookEventId"]: e["type"] for e in events}
        for event_id in new:
            metrics.EVENTS_RECEIVED.labels(by_id[event_id]).inc()
        duplicates = len(events) - len(new)
        if duplicates:
            metrics.EVENTS_DUPLICATE.inc(duplicates)
        pool = get_worker_pool(current_app)
        if pool is not None and new:
            pool.notify(len(new))
    return current_app.response_class(_OK, mimetype="application/json")
