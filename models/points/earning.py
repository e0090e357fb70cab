"""Art. 2: points earned by using a service: pending for a period, then available (2.3);
while pending, a price change amends the grant and a cancellation or return cancels it."""

from __future__ import annotations

from models.company import Member
from models.points.core import by_lot, by_member
from models.points.frame import Op, Receipt, operation
from models.points.jobs import Jobs
from models.points.rules import PointsError, as_points, as_ref, last_usable_day
from models.points.tables import EntryKind, LotKind, LotStatus, PointLot
from models.timeutil import jst_date


class Earning(Jobs):
    @operation(locate=by_member, points=as_points, source_ref=as_ref("source_ref"))
    def earn(self, op: Op, member: Member | str, points: int, source_ref: str) -> Receipt:
        """Art. 2.1/2.3: a service use creates a pending grant, available after the period."""
        self._require_member_in_good_standing(op)
        self._refuse_duplicate_lot(LotKind.EARNING, source_ref)
        available_at = op.at + self.policy.pending_period
        lot = self._new_lot(op, LotKind.EARNING, source_ref, points, available_at, None)
        self._entry(op, EntryKind.EARN, points=points, lot_id=lot.id, source_ref=source_ref)
        if available_at <= op.at:  # a zero-day pending period
            self._settle(op)
        return self._receipt(
            op,
            source_ref,
            points,
            lot_id=lot.id,
            available_on=jst_date(available_at).isoformat(),
            expires_on=last_usable_day(lot.expires_at).isoformat(),
        )

    @operation(locate=by_lot(LotKind.EARNING), points=as_points, source_ref=as_ref("source_ref"))
    def amend_earning(self, op: Op, source_ref: str, points: int) -> Receipt:
        """Art. 2.3: the price changed during the pending period; the grant follows it."""
        lot = self._pending_lot(source_ref)
        delta = points - lot.amount
        lot.amount = points
        lot.remaining = points
        self._entry(op, EntryKind.EARN_AMEND, points=delta, lot_id=lot.id, source_ref=source_ref)
        return self._receipt(op, source_ref, delta, lot_id=lot.id, amount=points)

    @operation(locate=by_lot(LotKind.EARNING), source_ref=as_ref("source_ref"))
    def cancel_earning(self, op: Op, source_ref: str) -> Receipt:
        """Art. 2.3: cancelled or returned during the pending period: nothing is granted."""
        lot = self._pending_lot(source_ref)
        cancelled = lot.remaining
        lot.remaining = 0
        lot.status = LotStatus.CANCELLED.value
        self._entry(
            op, EntryKind.EARN_CANCEL, points=-cancelled, lot_id=lot.id, source_ref=source_ref
        )
        return self._receipt(op, source_ref, -cancelled, lot_id=lot.id)

    def _pending_lot(self, source_ref: str) -> PointLot:
        lot = self._lot_by_ref(source_ref, [LotKind.EARNING])
        self.session.refresh(lot)
        if lot.status == LotStatus.CANCELLED:
            raise PointsError("already_cancelled", f"earning {source_ref} was already cancelled")
        if lot.status != LotStatus.ACTIVE or lot.confirmed_at is not None:
            raise PointsError(
                "already_confirmed",
                f"earning {source_ref} is no longer pending; revoke it instead (Art. 5.1)",
            )
        return lot
