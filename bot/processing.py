"""Processes recorded webhook events off the request path.

One transaction per event claims it, runs the handler and queues the reply (already claimed
for sending); the reply is then sent from memory and its outcome recorded in a second one. If
the handler raises, that transaction rolls back whole and the attempt is counted apart.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import timedelta

from sqlalchemy.orm import Session

from bot import metrics
from bot.delivery import REPLY_TOKEN_LIFETIME, Deliverer, Outgoing
from bot.dispatch import Router
from bot.event_routing import route_event
from bot.messages import Message, text
from bot.runtime import Runtime
from handlers import texts
from models.db import transaction
from models.events import (
    EventStatus,
    WebhookEvent,
    claim_next_events,
    enqueue_messages,
    has_due_events,
)

logger = logging.getLogger("benesapo.events")


def event_backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(60, 2 ** max(0, attempts - 1)))


class EventProcessor:
    def __init__(self, runtime: Runtime, router: Router, deliverer: Deliverer) -> None:
        self.runtime = runtime
        self.router = router
        self.deliverer = deliverer

    @property
    def max_attempts(self) -> int:
        return self.runtime.settings.event_max_attempts

    def run_once(self) -> bool:
        """Claim and process one due event; False when there was nothing to do."""
        clock = self.runtime.clock
        if not has_due_events(self.runtime.engine, clock.now()):
            return False  # a lock-free look first: idle workers take no write lock
        started = time.perf_counter()
        claimed_id: int | None = None
        try:
            with transaction(self.runtime.session_factory) as session:
                claimed = claim_next_events(session, clock.now(), limit=1)
                if not claimed:
                    return False
                event = claimed[0]
                claimed_id = event.id
                messages, handler = route_event(
                    session, event, self.router, self.runtime.settings, clock
                )
                reply = self._queue(session, event, messages, f"event:{event.webhook_event_id}")
                event.status = EventStatus.DONE.value
                event.processed_at = clock.now()
                event.handler = handler[:64]
                event.last_error = None
                kind, webhook_event_id = event.event_type, event.webhook_event_id
                received_at = event.received_at
        except Exception as exc:  # noqa: BLE001 - one bad event must never stop the others
            if claimed_id is None:
                raise
            self._failed(claimed_id, exc, started)
            return True
        metrics.EVENTS_PROCESSED.labels(kind, "ok").inc()
        metrics.PROCESSING_LATENCY.observe(max(0.0, (clock.now() - received_at).total_seconds()))
        _log_event(webhook_event_id, kind, handler, started, "ok")
        if reply is not None:
            self.deliverer.send(reply)
        return True

    def run_until_idle(self, max_events: int = 10_000) -> int:
        count = 0
        while count < max_events and self.run_once():
            count += 1
        return count

    def _queue(
        self, session: Session, event: WebhookEvent, messages: list[Message], dedupe_key: str
    ) -> Outgoing | None:
        """Queue the reply, claimed for sending by this worker right after commit."""
        if not messages:
            return None
        to = event.line_user_id if event.source_type == "user" else event.user_key
        token = event.payload.get("replyToken")
        row = enqueue_messages(
            session,
            dedupe_key=dedupe_key,
            to=[to],
            messages=messages,
            now=self.runtime.clock.now(),
            reply_token=token,
            reply_deadline=event.received_at + REPLY_TOKEN_LIFETIME if token else None,
            claim=True,
        )
        return Outgoing.of(row)

    def _failed(self, event_id: int, exc: Exception, started: float) -> None:
        logger.exception(json.dumps({"event": "handler_error", "event_pk": event_id}))
        now = self.runtime.clock.now()
        apology = None
        with transaction(self.runtime.session_factory) as session:
            event = session.get(WebhookEvent, event_id)
            assert event is not None
            event.attempts += 1
            event.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            final = event.attempts >= self.max_attempts
            if final:
                event.status = EventStatus.FAILED.value
                event.processed_at = now
                if event.event_type in {"message", "postback"}:
                    apology = self._queue(
                        session,
                        event,
                        [text(texts.PROCESSING_FAILED)],
                        f"event:{event.webhook_event_id}:failed",
                    )
            else:
                event.status = EventStatus.PENDING.value
                event.available_at = now + event_backoff(event.attempts)
            kind, webhook_event_id = event.event_type, event.webhook_event_id
        outcome = "failed" if final else "retry"
        metrics.EVENTS_PROCESSED.labels(kind, outcome).inc()
        if final:
            metrics.EVENTS_FAILED.labels(kind).inc()
        _log_event(webhook_event_id, kind, None, started, outcome, type(exc).__name__)
        if apology is not None:
            self.deliverer.send(apology)


def _log_event(
    event_id: str,
    kind: str,
    handler: str | None,
    started: float,
    outcome: str,
    error: str | None = None,
) -> None:
    fields = {
        "event": "webhook_event",
        "event_id": event_id,
        "type": kind,
        "handler": handler,
        "ms": round((time.perf_counter() - started) * 1000, 1),
        "outcome": outcome,
    }
    if error:
        fields["error"] = error
    (logger.info if outcome == "ok" else logger.warning)(json.dumps(fields))
