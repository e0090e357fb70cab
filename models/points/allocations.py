"""Allocations: which lots paid for a purchase or an exchange, and giving points back.

Points are taken soonest expiry first (Art. 6.1); a return closes the latest-taken first and
sends each point back to its lot while that lot is usable (Art. 6.3, 7.2), lapses it when the
lot expired or was forfeited (Art. 5.4), reduces the debt when the lot was revoked (Art. 8).
"""

from __future__ import annotations

from sqlalchemy import select

from models.points import texts
from models.points.core import LedgerCore
from models.points.frame import Op
from models.points.rules import PointsError
from models.points.tables import (
    Allocation,
    Debt,
    EntryKind,
    Exchange,
    LotStatus,
    PointLot,
    Purchase,
)


class Allocations(LedgerCore):
    def _consume(
        self,
        op: Op,
        points: int,
        *,
        purchase: Purchase | None = None,
        exchange: Exchange | None = None,
    ) -> None:
        """Take `points` from the member's usable lots, soonest expiry first."""
        lots = self.session.scalars(
            select(PointLot)
            .where(
                PointLot.member_pk == op.member.id,
                PointLot.remaining > 0,
                PointLot.status == LotStatus.ACTIVE,
                PointLot.confirmed_at.is_not(None),
                PointLot.available_at <= op.at,
                PointLot.expires_at > op.at,
            )
            .order_by(PointLot.expires_at, PointLot.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        need = points
        for lot in lots:
            take = min(need, lot.remaining)
            lot.remaining -= take
            self.session.add(
                Allocation(
                    lot_id=lot.id,
                    purchase_id=purchase.id if purchase else None,
                    exchange_id=exchange.id if exchange else None,
                    points=take,
                    returned=0,
                )
            )
            need -= take
            if need == 0:
                break
        if need:
            raise PointsError("insufficient_points", "not enough points")
        self.session.flush()

    def _outstanding(
        self, *, purchase: Purchase | None = None, exchange: Exchange | None = None
    ) -> list[Allocation]:
        query = select(Allocation).where(Allocation.returned < Allocation.points)
        if purchase is not None:
            query = query.where(Allocation.purchase_id == purchase.id)
        else:
            assert exchange is not None
            query = query.where(Allocation.exchange_id == exchange.id)
        # Latest-consumed first: a partial return gives back the longest-lived points.
        return list(self.session.scalars(query.order_by(Allocation.id.desc())))

    def _give_back(
        self,
        op: Op,
        allocations: list[Allocation],
        points: int,
        ref: str,
        *,
        cash: bool = False,
    ) -> dict[str, int]:
        """Close `points` of these allocations (Art. 6.3, 7.2).

        Each point goes back to its lot while that lot is usable; if the lot expired or was
        forfeited it lapses (Art. 5.4); if the lot was revoked it reduces the debt that the
        revocation created (Art. 8); with `cash`, usable points are refunded in cash instead.
        """
        rate = self.policy.yen_per_point
        result = {"returned": 0, "lapsed": 0, "debt_cleared_yen": 0, "cash_yen": 0}
        need = points
        for alloc in allocations:
            if need == 0:
                break
            take = min(need, alloc.points - alloc.returned)
            alloc.returned += take
            need -= take
            lot = self.session.get(PointLot, alloc.lot_id, with_for_update=True)
            assert lot is not None
            if lot.status == LotStatus.REVOKED:
                debt = self.session.scalar(select(Debt).where(Debt.lot_id == lot.id))
                cleared = min(take * rate, debt.remaining_yen if debt else 0)
                if debt is not None and cleared:
                    debt.remaining_yen -= cleared
                    op.account.debt_yen -= cleared
                    result["debt_cleared_yen"] += cleared
            elif cash:
                result["cash_yen"] += take * rate
            elif lot.status == LotStatus.ACTIVE and lot.expires_at > op.at:
                lot.remaining += take
                result["returned"] += take
            else:
                result["lapsed"] += take
        if need:
            raise PointsError("invalid_request", "more points than were spent")
        if result["returned"]:
            n = result["returned"]
            self._entry(op, EntryKind.RETURN, points=n, available=n, source_ref=ref)
        if result["lapsed"]:
            self._entry(op, EntryKind.LAPSE, lapsed=result["lapsed"], source_ref=ref)
        if result["debt_cleared_yen"]:
            self._entry(
                op, EntryKind.DEBT_CLEARED, debt_yen=-result["debt_cleared_yen"], source_ref=ref
            )
        if result["cash_yen"]:
            reason = texts.CASH_REFUND_REASON.format(yen=result["cash_yen"])
            self._entry(op, EntryKind.CASH_REFUND, source_ref=ref, reason=reason)
        self.session.flush()
        return result
