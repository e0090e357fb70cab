"""Delivers the outbox: reply while the reply token is good, else push with a retry key."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import bindparam, update

from adapters.line_client import InvalidReplyToken, LineApiError, LineClient, SendResult
from adapters.runtime import Runtime
from common.logging_setup import log_fields
from models.db import transaction
from models.events import (
    OutboxStatus,
    OutgoingMessage,
    claim_due_outbox,
    finish_replying,
    has_due_outbox,
    record_sent,
)
from models.outbox_recovery import claim_still_held, replying_events
from models.reminders import ReminderPolicy

logger = logging.getLogger("benesapo.delivery")

MAX_DELIVERY_ATTEMPTS = 12
SEND_CONCURRENCY = 4  # messages of one batch in flight at once
REPLY_TOKEN_LIFETIME = timedelta(seconds=50)  # LINE allows one minute; keep a margin


def delivery_backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(600, 5 * 2 ** max(0, attempts - 1)))


@dataclass(frozen=True)
class Outgoing:
    """What one claimed outbox row needs to be sent, read once in the claiming transaction."""

    id: int
    to: tuple[str, ...]
    messages: tuple[dict[str, Any], ...]
    retry_key: str
    reply_token: str | None
    reply_deadline: datetime | None
    reply_ambiguous: bool
    attempts: int
    event_id: int | None = None  # the webhook event it answers, held `replying` until sent

    @classmethod
    def of(cls, row: OutgoingMessage, event_id: int | None = None) -> Outgoing:
        return cls(
            row.id,
            tuple(row.to),
            tuple(row.messages),
            row.retry_key,
            row.reply_token,
            row.reply_deadline,
            row.reply_ambiguous,
            row.attempts,
            event_id,
        )

    @classmethod
    def from_values(
        cls, row_id: int, values: dict[str, Any], event_id: int | None = None
    ) -> Outgoing:
        """From the values of a row queue_claimed just inserted."""
        return cls(
            row_id,
            tuple(values["to"]),
            tuple(values["messages"]),
            values["retry_key"],
            values["reply_token"],
            values["reply_deadline"],
            values["reply_ambiguous"],
            values["attempts"],
            event_id,
        )


class Deliverer:
    def __init__(self, runtime: Runtime, line: LineClient) -> None:
        self.runtime = runtime
        self.line = line
        self.quiet = ReminderPolicy.from_env()
        # Its threads start on first use only.
        self._senders = ThreadPoolExecutor(SEND_CONCURRENCY, thread_name_prefix="line-send")

    def deliver_due(self, limit: int = 50) -> int:
        """Send what is due (the outbox retry job); returns how many rows were attempted."""
        now = self.runtime.clock.now()
        quiet = self.quiet.is_quiet(now)
        if not has_due_outbox(self.runtime.engine, now, quiet=quiet):
            return 0  # a lock-free look first: idle workers take no write lock
        with transaction(self.runtime.session_factory) as session:
            rows = claim_due_outbox(session, now, limit, quiet=quiet)
            events = replying_events(session, rows)  # replies a dead worker left behind
            items = [Outgoing.of(row, events.get(row.id)) for row in rows]
        self.send_many(items)
        return len(items)

    def send(self, item: Outgoing) -> str:
        """One attempt for a claimed row (status `sending`); records and returns the outcome."""
        return self.send_many([item])[0]

    def send_many(self, items: Sequence[Outgoing]) -> list[str]:
        """One attempt each; the outcomes are recorded in one transaction.

        Messages to different recipients go out side by side (each waits on LINE, not on the
        CPU); several to one recipient go one after the other, in order. If an attempt raises
        unexpectedly, what went out is recorded as sent before the error goes on.
        """
        side_by_side = len(items) > 1 and len({item.to for item in items}) == len(items)
        attempts: list[Callable[[], _Outcome]] = (
            [self._senders.submit(self._attempt, item).result for item in items]
            if side_by_side
            else [partial(self._attempt, item) for item in items]
        )
        outcomes: list[_Outcome] = []
        failure: BaseException | None = None
        for attempt in attempts:
            try:
                outcomes.append(attempt())
            except BaseException as exc:  # noqa: BLE001 - raised again below
                failure = failure or exc
                if not side_by_side:
                    break  # in order: the rest wait for the outbox's retry
        statuses = self._record(outcomes) if outcomes else []
        if failure is not None:
            raise failure
        return statuses

    def _attempt(self, item: Outgoing) -> _Outcome:
        now = self.runtime.clock.now()
        token_good = (
            item.reply_token is not None
            and item.reply_deadline is not None
            and now < item.reply_deadline
            and len(item.to) == 1
        )
        result: SendResult | None = None
        error: LineApiError | None = None
        ambiguous = item.reply_ambiguous
        try:
            if token_good:
                try:
                    result = self.line.reply(item.reply_token, item.messages)  # type: ignore[arg-type]
                except InvalidReplyToken as exc:
                    if exc.ambiguous or ambiguous:
                        # An earlier attempt (a timeout, a 5xx, a worker that died) may have
                        # reached LINE, and the token is used up: it was delivered.
                        result = SendResult(exc.request_id, "reply", duplicate=True)
                    elif not self._still_held(item):
                        # Another worker took the claim back and used the token: its reply.
                        return _Outcome(item, None, None, ambiguous, superseded=True)
                    else:
                        result = self.line.push(item.to[0], item.messages, item.retry_key)
                except LineApiError as exc:
                    ambiguous = ambiguous or exc.ambiguous
                    raise
            elif len(item.to) == 1:
                result = self.line.push(item.to[0], item.messages, item.retry_key)
            else:
                result = self.line.multicast(item.to, item.messages, item.retry_key)
        except LineApiError as exc:
            error = exc
        except ValueError as exc:  # a message LINE would refuse: a bug, never retried
            error = LineApiError("validate", None, str(exc), retryable=False)
        return _Outcome(item, result, error, ambiguous)

    def _record(self, outcomes: Sequence[_Outcome]) -> list[str]:
        """Write each attempt's outcome (UPDATE by primary key); returns the statuses."""
        now = self.runtime.clock.now()
        sent: list[tuple[int, str, str | None, bool]] = []
        failed: list[dict[str, Any]] = []
        statuses: list[str] = []
        for outcome in outcomes:
            item, result, error = outcome.item, outcome.result, outcome.error
            if outcome.superseded:  # the claim's new holder records it
                statuses.append(OutboxStatus.SENDING.value)
                continue
            if result is not None:
                sent.append((item.id, result.via, result.request_id, outcome.ambiguous))
                statuses.append(OutboxStatus.SENT.value)
                continue
            assert error is not None
            retry = error.retryable and item.attempts < MAX_DELIVERY_ATTEMPTS
            status = (OutboxStatus.PENDING if retry else OutboxStatus.FAILED).value
            failed.append(
                {
                    "_id": item.id,
                    "_attempts": item.attempts,
                    "reply_ambiguous": outcome.ambiguous,
                    "status": status,
                    "last_error": str(error)[:2000],
                    "next_attempt_at": now + delivery_backoff(item.attempts) if retry else now,
                }
            )
            statuses.append(status)
            log_fields(
                logger,
                logging.WARNING,
                {
                    "event": "delivery_failed",
                    "outbox_id": item.id,
                    "status": error.status,
                    "request_id": error.request_id,
                    "retryable": error.retryable,
                    "final": not retry,
                },
            )
        with transaction(self.runtime.session_factory) as session:
            record_sent(session, sent, now)
            if failed:
                session.connection().execute(_UPDATE_BY_ID, failed)
            # Sent, or failed for now: either way the user's next event may go ahead.
            finish_replying(session, [o.item.event_id for o in outcomes if o.item.event_id])
        return statuses

    def _still_held(self, item: Outgoing) -> bool:
        with self.runtime.session_factory() as session:
            return claim_still_held(session, item.id, item.attempts)


_outbox = OutgoingMessage.__table__
# A failure is recorded only while the claim is still this attempt's (a claim taken back by
# another worker, who may have sent it since, is not set back to pending).
_UPDATE_BY_ID = update(_outbox).where(
    _outbox.c.id == bindparam("_id"),
    _outbox.c.attempts == bindparam("_attempts"),
    _outbox.c.status == OutboxStatus.SENDING.value,
)


@dataclass(frozen=True)
class _Outcome:
    item: Outgoing
    result: SendResult | None
    error: LineApiError | None
    ambiguous: bool
    superseded: bool = False  # another worker took the claim back: not ours to record
