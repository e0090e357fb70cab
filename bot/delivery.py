"""Delivers the outbox: reply while the reply token is good, else push with a retry key."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from bot.line_client import InvalidReplyToken, LineApiError, LineClient, SendResult
from bot.runtime import Runtime
from models.db import transaction
from models.events import (
    OutboxStatus,
    OutgoingMessage,
    claim_due_outbox,
    has_due_outbox,
    mark_sending,
)
from models.reminders import ReminderPolicy

logger = logging.getLogger("benesapo.delivery")

MAX_DELIVERY_ATTEMPTS = 12
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

    @classmethod
    def of(cls, row: OutgoingMessage) -> Outgoing:
        return cls(
            row.id,
            tuple(row.to),
            tuple(row.messages),
            row.retry_key,
            row.reply_token,
            row.reply_deadline,
            row.reply_ambiguous,
            row.attempts,
        )


class Deliverer:
    def __init__(self, runtime: Runtime, line: LineClient) -> None:
        self.runtime = runtime
        self.line = line
        self.quiet = ReminderPolicy.from_env()

    def deliver_due(self, limit: int = 50) -> int:
        """Send what is due (the outbox retry job); returns how many rows were attempted."""
        now = self.runtime.clock.now()
        quiet = self.quiet.is_quiet(now)
        if not has_due_outbox(self.runtime.engine, now, quiet=quiet):
            return 0  # a lock-free look first: idle workers take no write lock
        with transaction(self.runtime.session_factory) as session:
            items = [Outgoing.of(row) for row in claim_due_outbox(session, now, limit, quiet=quiet)]
        for item in items:
            self.send(item)
        return len(items)

    def deliver_now(self, row_ids: Sequence[int]) -> None:
        """Send rows just written by the caller (the fast path)."""
        now = self.runtime.clock.now()
        with transaction(self.runtime.session_factory) as session:
            rows = session.scalars(
                select(OutgoingMessage)
                .where(
                    OutgoingMessage.id.in_(row_ids),
                    OutgoingMessage.status == OutboxStatus.PENDING.value,
                )
                .with_for_update(skip_locked=True)
            ).all()
            items = [Outgoing.of(mark_sending(row, now)) for row in rows]
        for item in items:
            self.send(item)

    def send(self, item: Outgoing) -> str:
        """One attempt for a claimed row (status `sending`); records and returns the outcome."""
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
                        # An earlier attempt timed out after LINE took it: already delivered.
                        result = SendResult(exc.request_id, "reply", duplicate=True)
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
        return self._record(item, result, error, ambiguous)

    def _record(
        self,
        item: Outgoing,
        result: SendResult | None,
        error: LineApiError | None,
        reply_ambiguous: bool,
    ) -> str:
        now = self.runtime.clock.now()
        with transaction(self.runtime.session_factory) as session:
            row = session.get(OutgoingMessage, item.id)
            assert row is not None
            row.reply_ambiguous = reply_ambiguous
            if result is not None:
                row.status = OutboxStatus.SENT.value
                row.sent_at = now
                row.sent_via = result.via
                row.request_id = result.request_id
                row.last_error = None
                return row.status
            assert error is not None
            row.last_error = str(error)[:2000]
            if error.retryable and item.attempts < MAX_DELIVERY_ATTEMPTS:
                row.status = OutboxStatus.PENDING.value
                row.next_attempt_at = now + delivery_backoff(item.attempts)
            else:
                row.status = OutboxStatus.FAILED.value
            logger.warning(
                json.dumps(
                    {
                        "event": "delivery_failed",
                        "outbox_id": item.id,
                        "status": error.status,
                        "request_id": error.request_id,
                        "retryable": error.retryable,
                        "final": row.status == OutboxStatus.FAILED.value,
                    }
                )
            )
        return row.status
