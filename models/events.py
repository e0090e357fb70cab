"""Recorded webhook events (each once, by webhookEventId) and the outbox of LINE messages."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Index,
    Integer,
    String,
    Text,
    and_,
    any_,
    bindparam,
    exists,
    func,
    literal_column,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Mapped, Session, aliased, mapped_column

from models.base import Base
from models.db import is_postgres, read_only
from models.outbox_insert import insert_outbox_rows


class EventStatus(enum.StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    REPLYING = "replying"  # processed and committed; its reply not sent yet
    DONE = "done"
    FAILED = "failed"


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


OPEN_STATUSES = (EventStatus.PENDING.value, EventStatus.PROCESSING.value)
# An earlier event of the user in one of these holds the user's next event back, so that
# events are processed, and their replies sent, in order.
ORDER_STATUSES = (*OPEN_STATUSES, EventStatus.REPLYING.value)
CLAIM_LEASE = timedelta(minutes=5)
# A reply claimed for sending whose outcome was not recorded after this long, while its reply
# token is still good (its worker died, or hangs): taken back and retried by reply, so that
# LINE's "Invalid reply token" proves the first attempt delivered it (no push, no duplicate).
REPLY_CLAIM_LEASE = timedelta(seconds=10)
# A reply not recorded as sent after this long (its worker died between commit and send; the
# outbox retries it) stops holding the user's next events back.
REPLY_HOLD = timedelta(minutes=2)


class WebhookEvent(Base):
    __tablename__ = "webhook_events"
    __table_args__ = (
        Index("ix_webhook_events_claim", "status", "available_at"),
        Index(
            "ix_webhook_events_pending_order",
            "occurred_at",
            "id",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        # Is an earlier event of this user still open? (the per-user order of the claim)
        Index(
            "ix_webhook_events_open_by_user",
            "user_key",
            "occurred_at",
            "id",
            postgresql_where=text("status IN ('pending', 'processing', 'replying')"),
            sqlite_where=text("status IN ('pending', 'processing', 'replying')"),
        ),
        # A user's recent exchange, copied into a live chat's transcript (models/handoff*).
        Index("ix_webhook_events_user_recent", "user_key", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    webhook_event_id: Mapped[str] = mapped_column(String(64), unique=True)
    event_type: Mapped[str] = mapped_column(String(40))
    source_type: Mapped[str] = mapped_column(String(10))
    user_key: Mapped[str] = mapped_column(String(80))  # ordering key: user, group or room id
    line_user_id: Mapped[str | None] = mapped_column(String(64))
    occurred_at: Mapped[datetime]
    received_at: Mapped[datetime]
    is_redelivery: Mapped[bool] = mapped_column(Boolean, default=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(12), default=EventStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    available_at: Mapped[datetime]
    claimed_at: Mapped[datetime | None]
    processed_at: Mapped[datetime | None]
    handler: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)


class OutgoingMessage(Base):
    """A message (batch) to deliver; written in the same transaction as the change it reports."""

    __tablename__ = "outgoing_messages"
    __table_args__ = (
        Index("ix_outgoing_messages_due", "status", "next_attempt_at"),
        # Is this reply token used already? (models/inquiry_thread)
        Index("ix_outgoing_messages_reply_token", "reply_token"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(120), unique=True)
    to: Mapped[list[str]] = mapped_column(JSON)  # one user id (reply/push) or many (multicast)
    reply_token: Mapped[str | None] = mapped_column(String(100))
    reply_deadline: Mapped[datetime | None]
    messages: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    retry_key: Mapped[str] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(10), default=OutboxStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    reply_ambiguous: Mapped[bool] = mapped_column(Boolean, default=False)
    # Notifications nobody asked for right now (reminders) wait out the quiet hours.
    respects_quiet_hours: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    sent_via: Mapped[str | None] = mapped_column(String(10))
    request_id: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)


class LineChat(Base):
    """Groups and rooms the bot was added to: told once that it works one-to-one."""

    __tablename__ = "line_chats"

    chat_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    chat_type: Mapped[str] = mapped_column(String(10))
    noticed_at: Mapped[datetime]


# -- recording ---------------------------------------------------------------------------


def _source_keys(event: dict[str, Any]) -> tuple[str, str, str | None]:
    source = event.get("source") or {}
    kind = str(source.get("type") or "none")
    user_id = source.get("userId")
    key = source.get("groupId") or source.get("roomId") or user_id or "none"
    return kind, str(key), user_id


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def record_events(
    db: Session | Connection, events: Sequence[dict[str, Any]], now: datetime
) -> list[str]:
    """Insert events not seen before; return the webhookEventIds that were new.

    INSERT … ON CONFLICT DO NOTHING makes this safe against concurrent redeliveries, and makes
    a redelivery complete a recording that failed half-way (the webhook runs it in autocommit
    on PostgreSQL: one statement, unless a body held over 1,000 events).
    """
    rows = []
    for event in events:
        kind, key, user_id = _source_keys(event)
        rows.append(
            {
                "webhook_event_id": event["webhookEventId"],
                "event_type": str(event["type"])[:40],
                "source_type": kind[:10],
                "user_key": key[:80],
                "line_user_id": user_id,
                "occurred_at": _EPOCH + timedelta(milliseconds=event["timestamp"]),
                "received_at": now,
                "is_redelivery": bool((event.get("deliveryContext") or {}).get("isRedelivery")),
                "payload": event,
                "status": EventStatus.PENDING.value,
                "attempts": 0,
                "available_at": now,
            }
        )
    if not rows:
        return []
    # Core, not the ORM's bulk insert: this is the acknowledgement's critical path.
    conn = db.connection() if isinstance(db, Session) else db
    result = conn.execute(_record_statement(conn.dialect.name == "postgresql"), rows)
    return list(result.scalars())


_RECORD_STATEMENTS: dict[bool, Any] = {}


def _record_statement(postgres: bool) -> Any:
    """INSERT … ON CONFLICT DO NOTHING RETURNING, built once per dialect (compiled once)."""
    if postgres not in _RECORD_STATEMENTS:
        dialect = postgresql if postgres else sqlite
        _RECORD_STATEMENTS[postgres] = (
            dialect.insert(WebhookEvent.__table__)
            .on_conflict_do_nothing(index_elements=["webhook_event_id"])
            .returning(WebhookEvent.__table__.c.webhook_event_id)
        )
    return _RECORD_STATEMENTS[postgres]


# -- claiming ----------------------------------------------------------------------------


def claim_next_events(
    session: Session, now: datetime, limit: int = 1, page: int = 100
) -> list[WebhookEvent]:
    """Claim up to `limit` due events, oldest first, never two open events of one user.

    An event is claimable when it is due and no earlier event of its user (or group) is still
    open, so each user's events are processed in timestamp order. The oldest due events are
    read a page at a time (an index walk); one UPDATE … RETURNING then claims the heads among
    them (one indexed look each). On PostgreSQL the chosen rows are locked with SKIP LOCKED, so
    several workers share the queue: a head another worker holds is skipped, and the events
    behind it are not heads while it is open. SQLite serialises writers. Returned in order.
    """
    after: Any = None
    while True:
        candidates = select(WebhookEvent.id, WebhookEvent.occurred_at).where(
            WebhookEvent.status == _PENDING, WebhookEvent.available_at <= now
        )
        if after is not None:
            candidates = candidates.where(
                tuple_(WebhookEvent.occurred_at, WebhookEvent.id) > tuple_(*after)
            )
        rows = session.execute(
            candidates.order_by(WebhookEvent.occurred_at, WebhookEvent.id).limit(page)
        ).all()
        if not rows:
            return []
        claimed = session.scalars(
            _claim_statement(is_postgres(session), limit),
            {"ids": [row.id for row in rows], "now": now},
            execution_options={"synchronize_session": False},
        ).all()
        if claimed or len(rows) < page:
            return sorted(claimed, key=lambda event: (event.occurred_at, event.id))
        after = (rows[-1].occurred_at, rows[-1].id)  # all held or blocked: the next page


# Written into the SQL, not bound, so PostgreSQL's generic plans still match the partial indexes.
_PENDING = literal_column(f"'{EventStatus.PENDING.value}'")
_REPLYING = literal_column(f"'{EventStatus.REPLYING.value}'")
_ORDER = [literal_column(f"'{status}'") for status in ORDER_STATUSES]
_CLAIM_STATEMENTS: dict[tuple[bool, int], Any] = {}


def _claim_statement(postgres: bool, limit: int) -> Any:
    """UPDATE … RETURNING of the heads among the candidate ids (`ids`), built once."""
    if (postgres, limit) not in _CLAIM_STATEMENTS:
        earlier = aliased(WebhookEvent)
        # PostgreSQL: one array parameter, so the SQL text is the same for any number of ids
        # (psycopg caches its conversion and prepares it; 100 placeholders it would not).
        among_ids = (
            WebhookEvent.id == any_(bindparam("ids", type_=postgresql.ARRAY(BigInteger)))
            if postgres
            else WebhookEvent.id.in_(bindparam("ids", expanding=True))
        )
        heads = (
            select(WebhookEvent.id)
            .where(
                among_ids,
                WebhookEvent.status == _PENDING,
                ~exists().where(
                    earlier.user_key == WebhookEvent.user_key,
                    earlier.status.in_(_ORDER),
                    tuple_(earlier.occurred_at, earlier.id)
                    < tuple_(WebhookEvent.occurred_at, WebhookEvent.id),
                ),
            )
            .order_by(WebhookEvent.occurred_at, WebhookEvent.id)
            .limit(limit)
        )
        if postgres:
            heads = heads.with_for_update(skip_locked=True, of=WebhookEvent)
        _CLAIM_STATEMENTS[(postgres, limit)] = (
            update(WebhookEvent)
            .where(WebhookEvent.id.in_(heads.scalar_subquery()))
            .values(
                status=EventStatus.PROCESSING.value,
                claimed_at=bindparam("now"),
                attempts=WebhookEvent.attempts + 1,
            )
            .returning(WebhookEvent)
        )
    return _CLAIM_STATEMENTS[(postgres, limit)]


def mark_done(session: Session, done: Sequence[tuple[int, str, bool]], now: datetime) -> None:
    """Mark processed events, (id, handler, a reply is about to be sent) each: `replying`
    until finish_replying, else `done`. On PostgreSQL one statement over arrays, elsewhere
    one executemany.

    The claimed ORM objects are left untouched while the handlers run, so the session's
    autoflush never writes them one by one between two handlers.
    """
    if not done:
        return
    rows = [
        (event_id, handler[:64], (EventStatus.REPLYING if replying else EventStatus.DONE).value)
        for event_id, handler, replying in done
    ]
    _update_rows(session, _MARK_DONE, ("_id", "handler", "status"), rows, now=now)


def finish_replying(session: Session, event_ids: Sequence[int]) -> None:
    """The replies of these events went out (or failed for now): let their users' next events
    be claimed."""
    if event_ids:
        session.execute(
            update(WebhookEvent)
            .where(WebhookEvent.id.in_(event_ids), WebhookEvent.status == _REPLYING)
            .values(status=EventStatus.DONE.value),
            execution_options={"synchronize_session": False},
        )


def has_stale_replying(engine: Engine, now: datetime) -> bool:
    """A lock-free look for release_stale_replying (idle workers take no write lock)."""
    with read_only(engine) as conn:
        return conn.execute(select(WebhookEvent.id).where(_stale(now)).limit(1)).first() is not None


def release_stale_replying(session: Session, now: datetime) -> int:
    """Events still `replying` REPLY_HOLD after their claim (their worker died before the
    send was recorded; the outbox sends the reply): done, so they hold nobody back."""
    result = session.execute(
        update(WebhookEvent).where(_stale(now)).values(status=EventStatus.DONE.value),
        execution_options={"synchronize_session": False},
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _stale(now: datetime) -> Any:
    return and_(WebhookEvent.status == _REPLYING, WebhookEvent.claimed_at < now - REPLY_HOLD)


def record_sent(
    session: Session, sent: Sequence[tuple[int, str, str | None, bool]], now: datetime
) -> None:
    """Mark outbox rows sent, (id, via, LINE request id, reply_ambiguous) each: on PostgreSQL
    in one statement over arrays, elsewhere in one executemany."""
    if sent:
        names = ("_id", "via", "request_id", "ambiguous")
        _update_rows(session, _RECORD_SENT, names, sent, now=now)


def _update_rows(
    session: Session,
    statements: tuple[Any, Any],
    names: Sequence[str],
    rows: Sequence[Sequence[Any]],
    **shared: Any,
) -> None:
    """UPDATE many rows by id, each with values of its own (`rows`: tuples in `names` order):
    on PostgreSQL one statement over one array per name, elsewhere an executemany.
    `statements`: (the executemany one, the PostgreSQL one); `shared`: values for all rows."""
    generic, postgres = statements
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        arrays = [list(column) for column in zip(*rows, strict=True)]
        conn.execute(postgres, {**dict(zip(names, arrays, strict=True)), **shared})
    else:
        conn.execute(generic, [{**dict(zip(names, row, strict=True)), **shared} for row in rows])


_events_table = WebhookEvent.__table__
_MARK_DONE_EACH = (
    update(_events_table)
    .where(_events_table.c.id == bindparam("_id"))
    .values(
        status=bindparam("status"),
        processed_at=bindparam("now"),
        handler=bindparam("handler"),
        last_error=None,
    )
)
_MARK_DONE = (
    _MARK_DONE_EACH,
    text(
        """
        UPDATE webhook_events AS e
        SET status = v.status, processed_at = :now, handler = v.handler, last_error = NULL
        FROM unnest(
            CAST(:_id AS bigint[]), CAST(:handler AS varchar[]), CAST(:status AS varchar[])
        ) AS v(id, handler, status)
        WHERE e.id = v.id
        """
    ),
)
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


def backlog_size(session: Session) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(WebhookEvent)
            .where(WebhookEvent.status.in_(OPEN_STATUSES))
        )
        or 0
    )


# -- outbox ------------------------------------------------------------------------------


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


def has_due_events(engine: Engine, now: datetime) -> bool:
    stmt = (
        select(WebhookEvent.id)
        .where(WebhookEvent.status == EventStatus.PENDING.value, WebhookEvent.available_at <= now)
        .limit(1)
    )
    with read_only(engine) as conn:
        return conn.execute(stmt).first() is not None
