"""The outbox: LINE calls queued in the same transaction as the change they report, claimed
for one send attempt at a time, and recorded as sent."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from models.db import is_postgres, read_only
from models.events.batch import update_rows
from models.events.tables import CLAIM_LEASE, REPLY_CLAIM_LEASE, OutboxStatus, OutgoingMessage
from models.outbox_insert import insert_outbox_rows


def enqueue_messages(
    session: Session,
    *,
    dedupe_key: str,
    to: Sequence[str],
    messages: Sequence[dict[str, Any]],
    now: datetime,
) -> OutgoingMessage:
    """Queue a push for the outbox job, once per dedupe_key (a replay returns the first row)."""
    existing = session.scalar(
        select(OutgoingMessage).where(OutgoingMessage.dedupe_key == dedupe_key)
    )
    if existing is not None:
        return existing
    row = OutgoingMessage(
        **new_outbox_row(dedupe_key=dedupe_key, to=to, messages=messages, now=now, claimed=False)
    )
    session.add(row)
    session.flush()
    return row


def new_outbox_row(
    *,
    dedupe_key: str,
    to: Sequence[str],
    messages: Sequence[dict[str, Any]],
    now: datetime,
    reply_token: str | None = None,
    reply_deadline: datetime | None = None,
    respects_quiet_hours: bool = False,
    claimed: bool = True,
) -> dict[str, Any]:
    """The column values of a new outbox row; `claimed`: already claimed for one send attempt
    by the caller, right after commit (see queue_claimed), else left for the outbox job."""
    return {
        "dedupe_key": dedupe_key,
        "to": list(to),
        "messages": list(messages),
        "reply_token": reply_token,
        "reply_deadline": reply_deadline,
        "retry_key": str(uuid.uuid4()),
        "status": (OutboxStatus.SENDING if claimed else OutboxStatus.PENDING).value,
        "attempts": 1 if claimed else 0,
        "next_attempt_at": now,
        "created_at": now,
        "reply_ambiguous": False,
        "respects_quiet_hours": respects_quiet_hours,
    }


def queue_claimed(session: Session, rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Insert outbox rows (from new_outbox_row) in one statement, skipping dedupe keys already
    queued; returns {dedupe_key: id} of the rows inserted, which the caller sends after commit."""
    if not rows:
        return {}
    if is_postgres(session):  # one statement text whatever the count (arrays)
        inserted = insert_outbox_rows(session.connection(), rows)
        return {key: row_id for row_id, key in inserted}
    stmt = _queue_statement(False)  # Core: no ORM bulk-insert machinery
    return {key: row_id for row_id, key in session.connection().execute(stmt, list(rows))}


_QUEUE_STATEMENTS: dict[bool, Any] = {}
_outbox_table = OutgoingMessage.__table__


def _queue_statement(postgres: bool) -> Any:
    if postgres not in _QUEUE_STATEMENTS:
        dialect = postgresql if postgres else sqlite
        _QUEUE_STATEMENTS[postgres] = (
            dialect.insert(_outbox_table)
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(_outbox_table.c.id, _outbox_table.c.dedupe_key)
        )
    return _QUEUE_STATEMENTS[postgres]


def mark_sending(row: OutgoingMessage, now: datetime) -> OutgoingMessage:
    """Claim a row for one send attempt (a stale claim is taken back: CLAIM_LEASE, or
    REPLY_CLAIM_LEASE for a reply whose token is still good). A taken-back claim's attempt
    may have reached LINE: the row becomes `reply_ambiguous`, so that a used reply token then
    counts as delivered."""
    if row.status == OutboxStatus.SENDING.value:
        row.reply_ambiguous = True
    row.status = OutboxStatus.SENDING.value
    row.next_attempt_at = now
    row.attempts += 1
    return row


def claim_due_outbox(
    session: Session, now: datetime, limit: int = 50, *, quiet: bool = False
) -> list[OutgoingMessage]:
    """Claim rows due for a (re)try; during quiet hours (`quiet`), not the quiet-hours ones."""
    stmt = (
        select(OutgoingMessage)
        .where(_due_outbox_condition(now, quiet))
        .order_by(OutgoingMessage.id)
        .limit(limit)
    )
    if is_postgres(session):
        stmt = stmt.with_for_update(skip_locked=True)
    rows = [mark_sending(row, now) for row in session.scalars(stmt)]
    session.flush()
    return rows


def _due_outbox_condition(now: datetime, quiet: bool) -> Any:
    condition = or_(
        and_(
            OutgoingMessage.status == OutboxStatus.PENDING.value,
            OutgoingMessage.next_attempt_at <= now,
        ),
        and_(
            OutgoingMessage.status == OutboxStatus.SENDING.value,
            OutgoingMessage.next_attempt_at <= now - CLAIM_LEASE,
        ),
        and_(
            OutgoingMessage.status == OutboxStatus.SENDING.value,
            OutgoingMessage.reply_token.is_not(None),
            OutgoingMessage.reply_deadline > now,
            OutgoingMessage.next_attempt_at <= now - REPLY_CLAIM_LEASE,
        ),
    )
    if quiet:
        condition = and_(condition, OutgoingMessage.respects_quiet_hours.is_(False))
    return condition


def has_due_outbox(engine: Engine, now: datetime, *, quiet: bool = False) -> bool:
    """A lock-free look (no write lock on SQLite) before claiming anything."""
    stmt = select(OutgoingMessage.id).where(_due_outbox_condition(now, quiet)).limit(1)
    with read_only(engine) as conn:
        return conn.execute(stmt).first() is not None


def record_sent(
    session: Session, sent: Sequence[tuple[int, str, str | None, bool]], now: datetime
) -> None:
    """Mark outbox rows sent, (id, via, LINE request id, reply_ambiguous) each: on PostgreSQL
    in one statement over arrays, elsewhere in one executemany."""
    if sent:
        names = ("_id", "via", "request_id", "ambiguous")
        update_rows(session, _RECORD_SENT, names, sent, now=now)


_outbox_columns = OutgoingMessage.__table__.c
_RECORD_SENT_EACH = (
    update(OutgoingMessage.__table__)
    .where(_outbox_columns.id == bindparam("_id"))
    .values(
        status=OutboxStatus.SENT.value,
        sent_at=bindparam("now"),
        sent_via=bindparam("via"),
        request_id=bindparam("request_id"),
        last_error=None,
        reply_ambiguous=bindparam("ambiguous"),
    )
)
_RECORD_SENT = (
    _RECORD_SENT_EACH,
    text(
        f"""
        UPDATE outgoing_messages AS o
        SET status = '{OutboxStatus.SENT.value}', sent_at = :now, sent_via = v.via,
            request_id = v.request_id, last_error = NULL, reply_ambiguous = v.ambiguous
        FROM unnest(
            CAST(:_id AS bigint[]), CAST(:via AS varchar[]), CAST(:request_id AS varchar[]),
            CAST(:ambiguous AS boolean[])
        ) AS v(id, via, request_id, ambiguous)
        WHERE o.id = v.id
        """
    ),
)
