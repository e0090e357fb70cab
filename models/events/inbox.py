"""The inbox: webhook events recorded once each (by webhookEventId), claimed in per-user order,
and their status as they are processed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    and_,
    any_,
    bindparam,
    exists,
    func,
    literal_column,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, aliased

from models.db import is_postgres, read_only
from models.events.batch import update_rows
from models.events.tables import (
    OPEN_STATUSES,
    ORDER_STATUSES,
    REPLY_HOLD,
    EventStatus,
    WebhookEvent,
)


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
    update_rows(session, _MARK_DONE, ("_id", "handler", "status"), rows, now=now)


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


def backlog_size(session: Session) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(WebhookEvent)
            .where(WebhookEvent.status.in_(OPEN_STATUSES))
        )
        or 0
    )


def has_due_events(engine: Engine, now: datetime) -> bool:
    stmt = (
        select(WebhookEvent.id)
        .where(WebhookEvent.status == EventStatus.PENDING.value, WebhookEvent.available_at <= now)
        .limit(1)
    )
    with read_only(engine) as conn:
        return conn.execute(stmt).first() is not None
