"""Questions the bot did not understand ("unknown") or was unsure of ("もしかして"), kept for
the back office so the FAQ and intents can grow from what people actually ask.

One row per normalised question and audience, with a count and first/last seen; no LINE user
id is stored. Rows not seen for RETENTION_DAYS are deleted (nightly, with the other prunes).
The count is one atomic upsert, so two workers recording the same question at once add two.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Integer, String, UniqueConstraint, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Base

TEXT_MAX = 200


class UnansweredQuestion(Base):
    __tablename__ = "unanswered_questions"
    __table_args__ = (UniqueConstraint("text", "audience"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(TEXT_MAX))
    audience: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(16))  # the latest: unknown / close_call
    count: Mapped[int] = mapped_column(Integer, default=1)
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime] = mapped_column(index=True)


@dataclass(frozen=True)
class UnansweredStat:
    text: str
    audience: str
    outcome: str
    count: int
    first_seen: datetime
    last_seen: datetime


def record_unanswered(
    session: Session, text: str, audience: str, outcome: str, now: datetime
) -> None:
    """Count one occurrence of `text` (already normalised) for `audience`."""
    values = {
        "text": text[:TEXT_MAX],
        "audience": audience,
        "outcome": outcome,
        "count": 1,
        "first_seen": now,
        "last_seen": now,
    }
    table = UnansweredQuestion.__table__
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=["text", "audience"],
        set_={
            "count": table.c.count + 1,
            "outcome": statement.excluded.outcome,
            "last_seen": statement.excluded.last_seen,
        },
    )
    session.execute(statement)


def unanswered(session: Session, limit: int = 100) -> list[UnansweredStat]:
    """Most frequent first, then most recent."""
    rows = session.scalars(
        select(UnansweredQuestion)
        .order_by(
            UnansweredQuestion.count.desc(),
            UnansweredQuestion.last_seen.desc(),
            UnansweredQuestion.id,
        )
        .limit(limit)
    ).all()
    return [
        UnansweredStat(r.text, r.audience, r.outcome, r.count, r.first_seen, r.last_seen)
        for r in rows
    ]


def prune_unanswered(session: Session, now: datetime, days: int) -> int:
    """Delete questions not seen for `days` days."""
    result = session.execute(
        delete(UnansweredQuestion).where(UnansweredQuestion.last_seen < now - timedelta(days=days))
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
