"""Processes recorded webhook events off the request path, a batch per transaction.

One transaction claims a batch of due events (each the head of its user's queue), runs their
handlers and queues their replies (already claimed for sending); after commit the replies are
sent from memory and their outcomes recorded together. If a handler raises, the whole batch
rolls back (nothing was sent yet): the failure is counted against the event that raised (retried
with backoff, then failed with an apology) and its neighbours simply run again in the next batch.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from adapters.runtime import Runtime
from bot.delivery import REPLY_TOKEN_LIFETIME, Deliverer, Outgoing
from bot.event_routing import prefetch, route_event
from chat.messages import Message, text
from chat.router import Router
from chat.understanding.semantic import message_batch
from common import metrics
from common.logging_setup import log_fields
from handlers import texts
from models.db import is_postgres, transaction
from models.events import (
    EventStatus,
    WebhookEvent,
    claim_next_events,
    has_due_events,
    has_stale_replying,
    mark_done,
    new_outbox_row,
    queue_claimed,
    release_stale_replying,
)

logger = logging.getLogger("benesapo.events")


@dataclass(frozen=True)
class _Done:
    """A processed event: what to log about it, and its reply's outbox row (if any)."""

    id: int
    webhook_event_id: str
    kind: str
    handler: str
    received_at: datetime
    outbox: dict[str, Any] | None
    ms: float  # time spent running the handler

    def reply_queued(self, queued: dict[str, int]) -> bool:
        """Its reply is among the rows queue_claimed inserted (to be sent after commit)."""
        return self.outbox is not None and self.outbox["dedupe_key"] in queued


def event_backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(60, 2 ** max(0, attempts - 1)))


class EventProcessor:
    def __init__(
        self, runtime: Runtime, router: Router, deliverer: Deliverer, batch_size: int = 10
    ) -> None:
        self.runtime = runtime
        self.router = router
        self.deliverer = deliverer
        self.batch_size = max(1, batch_size)
        self._solo_rounds = 0  # after a rolled-back batch: this many events one at a time
        self._backlog = False  # the last batch was full
        self._postgres = is_postgres(runtime.engine)

    @property
    def max_attempts(self) -> int:
        return self.runtime.settings.event_max_attempts

    def run_once(self) -> int:
        """Claim and process a batch of due events; returns how many (0: nothing to do)."""
        clock = self.runtime.clock
        # SQLite: a lock-free look first, so idle workers take no write lock (skipped while
        # the last batch came back full: there is a backlog). PostgreSQL's claim starts with
        # the same look and takes no lock when it finds nothing.
        if (
            not self._backlog
            and not self._postgres
            and not has_due_events(self.runtime.engine, clock.now())
        ):
            return 0
        limit = self.batch_size
        if self._solo_rounds > 0:
            self._solo_rounds -= 1
            limit = 1
        started = time.perf_counter()
        culprit: int | None = None  # the event a failure is counted against
        events: list[WebhookEvent] = []
        try:
            with transaction(self.runtime.session_factory) as session:
                events = claim_next_events(session, clock.now(), limit=limit)
                self._backlog = len(events) == limit
                prefetch(session, events)
                done = []
                with message_batch(self._free_texts(events)):
                    for event in events:
                        culprit = event.id
                        done.append(self._process(session, event))
                culprit = events[0].id if len(events) == 1 else None
                queued = queue_claimed(session, [d.outbox for d in done if d.outbox])
                mark_done(  # an event with a reply to send holds its user's next one back
                    session,
                    [(d.id, d.handler, d.reply_queued(queued)) for d in done],
                    clock.now(),
                )
        except Exception as exc:  # noqa: BLE001 - one bad event must never stop the others
            if not events:
                raise  # nothing claimed (the database is away): the worker loop waits
            if culprit is not None:  # its handler raised: count it, the others just run again
                self._failed(culprit, exc, started)
            else:  # not one event's fault (nothing was sent): go one by one to find out
                log_fields(logger, logging.WARNING, {"event": "batch_rolled_back"}, exc_info=True)
                self._solo_rounds = self.batch_size
            return 1
        replies = [
            Outgoing.from_values(queued[d.outbox["dedupe_key"]], d.outbox, event_id=d.id)
            for d in done
            if d.outbox and d.reply_queued(queued)
        ]
        for d in done:
            self._observe(d)
        if replies:
            self.deliverer.send_many(replies)
        return len(done)

    def release_stale_replies(self) -> int:
        """Events whose reply a dead worker never recorded stop holding their users back."""
        now = self.runtime.clock.now()
        if not has_stale_replying(self.runtime.engine, now):
            return 0
        with transaction(self.runtime.session_factory) as session:
            released = release_stale_replying(session, now)
        if released:
            log_fields(
                logger, logging.WARNING, {"event": "stale_replies_released", "count": released}
            )
        return released

    def run_until_idle(self, max_events: int = 10_000) -> int:
        count = 0
        while count < max_events:
            processed = self.run_once()
            if not processed:
                break
            count += processed
        return count

    def _free_texts(self, events: list[WebhookEvent]) -> list[str]:
        """The batch's text messages that are no keyword: those the understanding layer may
        read, whose model queries are then encoded together (chat.understanding.semantic)."""
        texts = []
        for event in events:
            message = event.payload.get("message") or {}
            if event.event_type == "message" and message.get("type") == "text":
                value = str(message.get("text", ""))
                if not self.router.is_flow_word(value):
                    texts.append(value)
        return texts

    def _process(self, session: Session, event: WebhookEvent) -> _Done:
        clock = self.runtime.clock
        started = time.perf_counter()
        messages, handler = route_event(session, event, self.router, self.runtime.settings, clock)
        outbox = self._outbox_row(event, messages, f"event:{event.webhook_event_id}")
        return _Done(
            event.id,
            event.webhook_event_id,
            event.event_type,
            handler,
            event.received_at,
            outbox,
            (time.perf_counter() - started) * 1000,
        )

    def _observe(self, done: _Done) -> None:
        metrics.EVENTS_PROCESSED.labels(done.kind, "ok").inc()
        latency = (self.runtime.clock.now() - done.received_at).total_seconds()
        metrics.PROCESSING_LATENCY.observe(max(0.0, latency))
        _log_event(done.webhook_event_id, done.kind, done.handler, done.ms, "ok")

    def _outbox_row(
        self, event: WebhookEvent, messages: list[Message], dedupe_key: str
    ) -> dict[str, Any] | None:
        """The reply's outbox row, claimed for sending by this worker right after commit."""
        if not messages:
            return None
        to = event.line_user_id if event.source_type == "user" else event.user_key
        token = event.payload.get("replyToken")
        return new_outbox_row(
            dedupe_key=dedupe_key,
            to=[to],
            messages=messages,
            now=self.runtime.clock.now(),
            reply_token=token,
            reply_deadline=event.received_at + REPLY_TOKEN_LIFETIME if token else None,
        )

    def _failed(self, event_id: int, exc: Exception, started: float) -> None:
        log_fields(
            logger, logging.ERROR, {"event": "handler_error", "event_pk": event_id}, exc_info=True
        )
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
                    row = self._outbox_row(
                        event,
                        [text(texts.PROCESSING_FAILED)],
                        f"event:{event.webhook_event_id}:failed",
                    )
                    assert row is not None
                    queued = queue_claimed(session, [row])
                    if row["dedupe_key"] in queued:
                        apology = Outgoing.from_values(queued[row["dedupe_key"]], row)
            else:
                event.status = EventStatus.PENDING.value
                event.available_at = now + event_backoff(event.attempts)
            kind, webhook_event_id = event.event_type, event.webhook_event_id
        outcome = "failed" if final else "retry"
        metrics.EVENTS_PROCESSED.labels(kind, outcome).inc()
        if final:
            metrics.EVENTS_FAILED.labels(kind).inc()
        ms = (time.perf_counter() - started) * 1000
        _log_event(webhook_event_id, kind, None, ms, outcome, type(exc).__name__)
        if apology is not None:
            self.deliverer.send(apology)


def _log_event(
    event_id: str,
    kind: str,
    handler: str | None,
    ms: float,
    outcome: str,
    error: str | None = None,
) -> None:
    fields = {
        "event": "webhook_event",
        "event_id": event_id,
        "type": kind,
        "handler": handler,
        "ms": round(ms, 1),
        "outcome": outcome,
    }
    if error:
        fields["error"] = error
    log_fields(logger, logging.INFO if outcome == "ok" else logging.WARNING, fields)
