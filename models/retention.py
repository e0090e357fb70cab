"""Retention: finished webhook events and outbox rows are deleted after RETENTION_DAYS.

Both tables take a row per event and per message, so without this they grow for ever (at
millions of members, by millions of rows a month), and webhook payloads hold what users typed,
which we should not keep longer than we need. Only finished rows go (events `done`/`failed`,
messages `sent`/`failed`); anything still open stays whatever its age.

Rows are walked oldest first by primary key, a batch per transaction, so no long lock is held
and no extra index is needed: ids grow with the insert time, and the walk stops at the first
row inside the window. An event redelivered after its record was deleted cannot be recognised
as a duplicate any more; processing ignores events older than the same window
(`is_beyond_retention`), so it is still never applied twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Column, Table, delete, select
from sqlalchemy.orm import Session, sessionmaker

from models.db import transaction
from models.events import EventStatus, OutboxStatus, OutgoingMessage, WebhookEvent

PRUNE_BATCH = 5_000


def retention_cutoff(now: datetime, days: int) -> datetime:
    """Rows recorded before this instant may be deleted."""
    return now - timedelta(days=days)


def is_beyond_retention(occurred_at: datetime, now: datetime, days: int) -> bool:
    """An event this old may have been processed and its record deleted since: ignore it."""
    return occurred_at < retention_cutoff(now, days)


@dataclass(frozen=True)
class PruneReport:
    events: int
    messages: int


# What each PruneReport field counts: the table, when a row was recorded, its finished statuses.
_PRUNED: dict[str, tuple[Table, str, tuple[str, ...]]] = {
    "events": (
        WebhookEvent.__table__,  # type: ignore[dict-item]
        "received_at",
        (EventStatus.DONE.value, EventStatus.FAILED.value),
    ),
    "messages": (
        OutgoingMessage.__table__,  # type: ignore[dict-item]
        "created_at",
        (OutboxStatus.SENT.value, OutboxStatus.FAILED.value),
    ),
}


def prune_finished(
    factory: sessionmaker[Session], now: datetime, days: int, batch: int = PRUNE_BATCH
) -> PruneReport:
    """Delete finished events and outbox rows recorded more than `days` days before `now`."""
    cutoff = retention_cutoff(now, days)
    return PruneReport(
        **{
            name: _prune(factory, table, table.c[column], finished, cutoff, batch)
            for name, (table, column, finished) in _PRUNED.items()
        }
    )


def _prune(
    factory: sessionmaker[Session],
    table: Table,
    recorded_at: Column[datetime],
    finished: tuple[str, ...],
    cutoff: datetime,
    batch: int,
) -> int:
    """Walk `table` by id from its oldest row, `batch` rows per transaction, deleting the
    finished ones recorded before `cutoff`; stop at the first row recorded at or after it."""
    deleted, after = 0, 0
    while True:
        with transaction(factory) as session:
            rows = session.execute(
                select(table.c.id, recorded_at)
                .where(table.c.id > after)
                .order_by(table.c.id)
                .limit(batch)
            ).all()
            old = [row.id for row in rows if row[1] < cutoff]
            if old:
                result = session.execute(
                    delete(table).where(
                        table.c.id > after,
                        table.c.id <= old[-1],
                        recorded_at < cutoff,
                        table.c.status.in_(finished),
                    )
                )
                deleted += int(result.rowcount or 0)  # type: ignore[attr-defined]
        if len(old) < len(rows) or len(rows) < batch:
            return deleted
        after = rows[-1].id
