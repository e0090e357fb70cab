"""The read side: a member's balance (available, pending, debt, coming expiries) and history.

Both are computed from the lots and entries by time, so they are right whether or not the
confirm and expire jobs have run yet; a partner sees only what its own operations did.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, or_, select

from models.company import Member
from models.points.core import LedgerCore
from models.points.rules import last_usable_day
from models.points.tables import (
    EntryKind,
    LotStatus,
    PointAccount,
    PointEntry,
    PointLot,
    PointOperation,
)
from models.timeutil import jst_date


@dataclass(frozen=True)
class DatedPoints:
    date: date
    points: int


@dataclass(frozen=True)
class Balance:
    member_id: str
    as_of: datetime
    available: int
    pending: int
    debt_yen: int
    pending_lots: list[DatedPoints]  # by the JST date they become available
    expiring: list[DatedPoints]  # by the last JST date they can be used, soonest first


@dataclass(frozen=True)
class HistoryItem:
    id: int
    kind: str
    points: int  # what to show: signed change, or the amount confirmed / lapsed
    debt_yen: int
    source_ref: str | None
    reason: str | None
    occurred_at: datetime


class Queries(LedgerCore):
    def balance(self, member: Member | str, as_of: datetime | None = None) -> Balance:
        """Available, pending, debt and the coming expiries at `as_of` (default now).

        Read-only and computed from the lots by time, so it is right whether or not the
        confirm/expire jobs have run yet.
        """
        member = self._readable(member)
        at = as_of or self.clock.now()
        open_lots = (
            PointLot.member_pk == member.id,
            PointLot.remaining > 0,
            PointLot.status == LotStatus.ACTIVE,
            PointLot.expires_at > at,
        )
        pending_rows = self.session.execute(
            select(PointLot.available_at, PointLot.remaining)
            .where(*open_lots, PointLot.available_at > at)
            .order_by(PointLot.available_at)
        ).all()
        expiring_rows = self.session.execute(
            select(PointLot.expires_at, func.sum(PointLot.remaining))
            .where(*open_lots, PointLot.available_at <= at)
            .group_by(PointLot.expires_at)
            .order_by(PointLot.expires_at)
        ).all()
        account = self.session.get(PointAccount, member.id)
        pending = _group_by_date((jst_date(a), int(p)) for a, p in pending_rows)
        expiring = _group_by_date((last_usable_day(e), int(p)) for e, p in expiring_rows)
        return Balance(
            member_id=member.member_id,
            as_of=at,
            available=sum(x.points for x in expiring),
            pending=sum(x.points for x in pending),
            debt_yen=account.debt_yen if account else 0,
            pending_lots=pending,
            expiring=expiring,
        )

    def history(
        self, member: Member | str, limit: int = 20, before_id: int | None = None
    ) -> list[HistoryItem]:
        """The member's latest entries, newest first; for a partner, only the entries of its
        own operations and of the lots it created (what other partners did stays private)."""
        member = self._readable(member)
        query = select(PointEntry).where(PointEntry.member_pk == member.id)
        if self.actor is not None:
            partner = self.actor.partner_id
            query = query.where(
                or_(
                    PointEntry.operation_id.in_(
                        select(PointOperation.id).where(PointOperation.partner_id == partner)
                    ),
                    PointEntry.lot_id.in_(
                        select(PointLot.id).where(PointLot.partner_id == partner)
                    ),
                )
            )
        if before_id is not None:
            query = query.where(PointEntry.id < before_id)
        rows = self.session.scalars(query.order_by(PointEntry.id.desc()).limit(limit)).all()
        items = []
        for e in rows:
            if e.kind == EntryKind.CONFIRM:
                shown = e.available
            elif e.kind == EntryKind.LAPSE:
                shown = -e.lapsed
            else:
                shown = e.points
            items.append(
                HistoryItem(e.id, e.kind, shown, e.debt_yen, e.source_ref, e.reason, e.occurred_at)
            )
        return items


def _group_by_date(rows: Iterable[tuple[date, int]]) -> list[DatedPoints]:
    grouped: dict[date, int] = {}
    for day, points in rows:
        grouped[day] = grouped.get(day, 0) + points
    return [DatedPoints(day, points) for day, points in sorted(grouped.items())]
