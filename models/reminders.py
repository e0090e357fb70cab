"""Expiry reminders: who is due (one set-based query) and what was already sent (once each)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    Select,
    SmallInteger,
    String,
    UniqueConstraint,
    exists,
    func,
    select,
    text,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.sql.functions import FunctionElement

from models.base import Base
from models.company import Company, CompanyStatus, Member, MemberStatus
from models.db import is_postgres
from models.line_user import LineUser
from models.points.tables import LotStatus, PointLot
from models.reminder_shards import Shard
from models.timeutil import jst_date, jst_midnight, last_day_of_month, to_jst

STAGE_FIRST = 1
STAGE_LAST_CALL = 2


@dataclass(frozen=True)
class ReminderPolicy:
    stage1_days: int = 30  # first notice from this many days before the expiry date
    stage2_days: int = 7  # last call
    min_points: int = 1
    quiet_start_hour: int = 21  # JST, no sends from here…
    quiet_end_hour: int = 9  # …until here
    monthly_budget: int | None = None  # messages a month we allow ourselves (None: LINE's quota)
    batch_size: int = 500  # recipients per multicast (LINE's maximum)
    send_workers: int = 8  # sends in flight at once (the LINE client's rate limit still rules)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ReminderPolicy:
        env = os.environ if env is None else env

        def number(name: str, default: int | None) -> int | None:
            raw = env.get(name)
            return int(raw) if raw not in (None, "") else default

        return cls(
            stage1_days=number("REMINDER_STAGE1_DAYS", 30) or 30,
            stage2_days=number("REMINDER_STAGE2_DAYS", 7) or 7,
            min_points=number("REMINDER_MIN_POINTS", 1) or 1,
            quiet_start_hour=number("QUIET_HOURS_START", 21) or 21,
            quiet_end_hour=number("QUIET_HOURS_END", 9) or 9,
            monthly_budget=number("REMINDER_MONTHLY_BUDGET", None),
            send_workers=number("REMINDER_SEND_WORKERS", 8) or 8,
        )

    def is_quiet(self, moment: datetime) -> bool:
        hour = to_jst(moment).hour
        return hour >= self.quiet_start_hour or hour < self.quiet_end_hour


@dataclass(frozen=True)
class ReminderWindow:
    """On a given JST day: the expiry date in play and the stage due for it (None: none)."""

    expiry_date: date
    stage: int | None
    expires_at: datetime  # the lots' exclusive bound (first instant of the next month, JST)

    @classmethod
    def on(cls, moment: datetime, policy: ReminderPolicy) -> ReminderWindow:
        today = jst_date(moment)
        expiry = last_day_of_month(today.year, today.month)
        days_left = (expiry - today).days
        stage = None
        if days_left <= policy.stage2_days:
            stage = STAGE_LAST_CALL
        elif days_left <= policy.stage1_days:
            stage = STAGE_FIRST
        return cls(expiry, stage, jst_midnight(expiry + timedelta(days=1)))


class ReminderSend(Base):
    """One reminder to one member for one expiry date and stage: the at-most-once record."""

    __tablename__ = "reminder_sends"
    __table_args__ = (
        UniqueConstraint("member_pk", "expiry_date", "stage", name="uq_reminder_sends_once"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    member_pk: Mapped[int] = mapped_column(ForeignKey("members.id"))
    line_user_id: Mapped[str] = mapped_column(String(64))
    expiry_date: Mapped[date] = mapped_column(Date)
    stage: Mapped[int] = mapped_column(SmallInteger)
    points: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime]


class wide_sum(FunctionElement):  # noqa: N801 - an SQL function, named like one
    """SUM that never overflows: PostgreSQL's sum(bigint) is already numeric; SQLite's sum()
    raises on a 64-bit overflow, its total() does not (a float, exact below 2^53). A member
    whose points do not fit is then one bad row of the run, not the end of it."""

    type = Numeric()
    inherit_cache = True


@compiles(wide_sum)
def _wide_sum(element: wide_sum, compiler: Any, **kw: Any) -> str:
    return f"sum({compiler.process(element.clauses, **kw)})"


@compiles(wide_sum, "sqlite")
def _wide_sum_sqlite(element: wide_sum, compiler: Any, **kw: Any) -> str:
    return f"total({compiler.process(element.clauses, **kw)})"


@dataclass(frozen=True)
class DueReminder:
    member_pk: int
    line_user_id: str
    points: int


def due_reminders_query(
    now: datetime, window: ReminderWindow, policy: ReminderPolicy, shard: Shard | None = None
) -> Select:
    """Linked, active, reachable, not opted out, not yet told: one grouped query over lots;
    with `shard`, only the members that shard owns (member id modulo the shard count)."""
    already = exists().where(
        ReminderSend.member_pk == Member.id,
        ReminderSend.expiry_date == window.expiry_date,
        ReminderSend.stage == window.stage,
    )
    points = wide_sum(PointLot.remaining)
    query = (
        select(Member.id, LineUser.line_user_id, points.label("points"))
        .select_from(PointLot)
        .join(Member, Member.id == PointLot.member_pk)
        .join(Company, Company.id == Member.company_id)
        .join(LineUser, LineUser.member_pk == Member.id)
        .where(
            PointLot.status == LotStatus.ACTIVE,
            PointLot.expires_at == window.expires_at,
            PointLot.remaining > 0,
            PointLot.available_at <= now,
            Member.status == MemberStatus.ACTIVE,
            Company.status == CompanyStatus.ACTIVE,
            LineUser.blocked.is_(False),
            LineUser.reminders_opt_out.is_(False),
            ~already,
        )
        .group_by(Member.id, LineUser.line_user_id)
        .having(points >= policy.min_points)
        .order_by(points, Member.id)
    )
    if shard is not None and shard.count > 1:
        query = query.where(Member.id % shard.count == shard.index)
    return query


def stream_due_reminders(
    conn: Connection,
    now: datetime,
    window: ReminderWindow,
    policy: ReminderPolicy,
    chunk: int = 500,
    shard: Shard | None = None,
) -> Iterator[list[DueReminder]]:
    """Stream the due reminders in chunks through a server-side cursor (bounded memory)."""
    result = conn.execution_options(yield_per=chunk).execute(
        due_reminders_query(now, window, policy, shard)
    )
    for partition in result.partitions():
        yield [DueReminder(row[0], row[1], int(row[2])) for row in partition]


def record_sends(
    session: Session,
    reminders: Sequence[DueReminder],
    window: ReminderWindow,
    now: datetime,
) -> list[int]:
    """Claim the (member, expiry, stage) slots; returns the member_pks this call claimed.

    INSERT … ON CONFLICT DO NOTHING: a second run, or a concurrent one, claims nothing twice.
    """
    if not reminders:
        return []
    if is_postgres(session):  # arrays in, one INSERT … SELECT unnest(…): no per-row SQL
        result = session.execute(
            _PG_CLAIM,
            {
                "member_pks": [r.member_pk for r in reminders],
                "line_user_ids": [r.line_user_id for r in reminders],
                "points": [r.points for r in reminders],
                "expiry_date": window.expiry_date,
                "stage": window.stage,
                "created_at": now,
            },
        )
        return list(result.scalars())
    rows = [
        {
            "member_pk": r.member_pk,
            "line_user_id": r.line_user_id,
            "expiry_date": window.expiry_date,
            "stage": window.stage,
            "points": r.points,
            "created_at": now,
        }
        for r in reminders
    ]
    return list(session.scalars(_SQLITE_CLAIM, rows))


_PG_CLAIM = text(
    "INSERT INTO reminder_sends (member_pk, line_user_id, expiry_date, stage, points, created_at)"
    " SELECT t.member_pk, t.line_user_id, CAST(:expiry_date AS date),"
    " CAST(:stage AS smallint), t.points, CAST(:created_at AS timestamptz)"
    " FROM unnest(CAST(:member_pks AS bigint[]), CAST(:line_user_ids AS text[]),"
    " CAST(:points AS bigint[])) AS t(member_pk, line_user_id, points)"
    " ON CONFLICT ON CONSTRAINT uq_reminder_sends_once DO NOTHING RETURNING member_pk"
)
_SQLITE_CLAIM = (
    sqlite.insert(ReminderSend)
    .on_conflict_do_nothing(index_elements=["member_pk", "expiry_date", "stage"])
    .returning(ReminderSend.member_pk)
)


def sent_this_month(session: Session, now: datetime) -> int:
    """Reminder messages recorded since the start of this JST month (our own budget count)."""
    today = jst_date(now)
    start = jst_midnight(date(today.year, today.month, 1))
    return (
        session.scalar(
            select(func.count()).select_from(ReminderSend).where(ReminderSend.created_at >= start)
        )
        or 0
    )
