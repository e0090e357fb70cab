"""Delivers the outbox: reply while the reply token is good, else push with a retry key."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import select

from bot.line_client import InvalidReplyToken, LineApiError, LineClient, SendResult
from bot.runtime import Runtime
from models.db import transaction
from models.events import OutboxStatus, OutgoingMessage, claim_due_outbox
from models.reminders import ReminderPolicy

logger = logging.getLogger("benesapo.delivery")

MAX_DELIVERY_ATTEMPTS = 12
REPLY_TOKEN_LIFETIME = timedelta(seconds=50)  # LINE allows one minute; keep a margin


def delivery_backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(600, 5 * 2 ** max(0, attempts - 1)))


class Deliverer:
    def __init__(self, runtime: Runtime, line: LineClient) -> None:
        self.runtime = runtime
        self.line = line
        self.quiet = ReminderPolicy.from_env()

    def deliver_due(self, limit: int = 50) -> int:
        """Send what is due (the outbox retry job); returns how many rows were attempted."""
        now = self.runtime.clock.now()
        with transaction(self.runtime.session_factory) as session:
            rows = claim_due_outbox(session, now, limit, quiet=self.quiet.is_quiet(now))
            ids = [row.id for row in rows]
        for row_id in ids:
            self._send(row_id)
        return len(ids)

    def deliver_now(self, row_ids: Sequence[int]) -> None:
        """Send rows just written (the fast path right after an event was handled)."""
        now = self.runtime.clock.now()
        with transaction(self.runtime.session_factory) as session:
            rows = list(
                session.scalars(
                    select(OutgoingMessage)
                    .where(
                        OutgoingMessage.id.in_(row_ids),
                        OutgoingMessage.status == OutboxStatus.PENDING.value,
                    )
                    .with_for_update(skip_locked=True)
                )
            )
            for row in rows:
                row.status = OutboxStatus.SENDING.value
                row.attempts += 1
                row.next_attempt_at = now
            ids = [row.id for row in rows]
        for row_id in ids:
            self._send(row_id)

    def _send(self, row_id: int) -> None:
        with self.runtime.session_factory() as session:
            row = session.get(OutgoingMessage, row_id)
            assert row is not None
            to, messages, retry_key = list(row.to), list(row.messages), row.retry_key
            token = row.reply_token
            token_good = (
                token is not None
                and row.reply_deadline is not None
                and (self.runtime.clock.now() < row.reply_deadline)
            )
            ambiguous = row.reply_ambiguous
            attempts = row.attempts
        result: SendResult | None = None
        error: LineApiError | None = None
        reply_ambiguous = ambiguous
        try:
            if token_good and len(to) == 1:
                try:
                    result = self.line.reply(token, messages)  # type: ignore[arg-type]
                except InvalidReplyToken as exc:
                    if exc.ambiguous or ambiguous:
                        # An earlier attempt timed out after LINE took it: already delivered.
                        result = SendResult(exc.request_id, "reply", duplicate=True)
                    else:
                        result = self.line.push(to[0], messages, retry_key)
                except LineApiError as exc:
                    reply_ambiguous = reply_ambiguous or exc.ambiguous
                    raise
            elif len(to) == 1:
                result = self.line.push(to[0], messages, retry_key)
            else:
                result = self.line.multicast(to, messages, retry_key)
        except LineApiError as exc:
            error = exc
        except ValueError as exc:  # a message LINE would refuse: a bug, never retried
            error = LineApiError("validate", None, str(exc), retryable=False)
        self._record(row_id, result, error, reply_ambiguous, attempts)

    def _record(
        self,
        row_id: int,
        result: SendResult | None,
        error: LineApiError | None,
        reply_ambiguous: bool,
        attempts: int,
    ) -> None:
        now = self.runtime.clock.now()
        with transaction(self.runtime.session_factory) as session:
            row = session.get(OutgoingMessage, row_id)
            assert row is not None
            row.reply_ambiguous = reply_ambiguous
            if result is not None:
                row.status = OutboxStatus.SENT.value
                row.sent_at = now
                row.sent_via = result.via
                row.request_id = result.request_id
                row.last_error = None
                return
            assert error is not None
            row.last_error = str(error)[:2000]
            if error.retryable and attempts < MAX_DELIVERY_ATTEMPTS:
                row.status = OutboxStatus.PENDING.value
                row.next_attempt_at = now + delivery_backoff(attempts)
            else:
                row.status = OutboxStatus.FAILED.value
            logger.warning(
                json.dumps(
                    {
                        "event": "delivery_failed",
                        "outbox_id": row_id,
                        "status": error.status,
                        "request_id": error.request_id,
                        "retryable": error.retryable,
                        "final": row.status == OutboxStatus.FAILED.value,
                    }
                )
            )
