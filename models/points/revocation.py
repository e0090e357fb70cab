"""Art. 5.1-5.2 and 8: revoking a grant or earning (spent points become a debt in yen);
Art. 11: on loss of membership every point lapses."""

from __future__ import annotations

from sqlalchemy import func, select, update

from models.company import Member
from models.points import texts
from models.points.core import by_lot, by_member
from models.points.frame import Op, Receipt, operation
from models.points.jobs import Jobs
from models.points.rules import PointsError, as_reason, as_ref
from models.points.tables import (
    Allocation,
    Debt,
    EntryKind,
    LotKind,
    LotStatus,
    PointLot,
    Purchase,
)


class Revocation(Jobs):
    @operation(
        locate=by_lot(LotKind.GRANT, LotKind.EARNING),
        source_ref=as_ref("source_ref"),
        reason=as_reason("to revoke"),
    )
    def revoke(self, op: Op, source_ref: str, reason: str) -> Receipt:
        """Art. 5.1-5.2, 8: cancel a grant or earning. Unspent points are cancelled; points
        already spent become a debt in yen; the balance never goes negative."""
        rate = self.policy.yen_per_point
        lot = self._lot_by_ref(source_ref, [LotKind.GRANT, LotKind.EARNING])
        self.session.refresh(lot, with_for_update=True)
        if lot.status == LotStatus.REVOKED:
            raise PointsError("already_revoked", f"{source_ref} was already revoked")
        if lot.status == LotStatus.CANCELLED:
            raise PointsError("already_cancelled", f"{source_ref} was already cancelled")
        unspent = lot.remaining
        confirmed = lot.confirmed_at is not None
        spent = int(
            self.session.scalar(
                select(func.coalesce(func.sum(Allocation.points - Allocation.returned), 0)).where(
                    Allocation.lot_id == lot.id
                )
            )
            or 0
        )
        lot.remaining = 0
        lot.status = LotStatus.REVOKED.value
        self._entry(
            op,
            EntryKind.REVOKE,
            points=-unspent,
            available=-unspent if confirmed else 0,
            lot_id=lot.id,
            source_ref=source_ref,
            reason=reason.strip(),
        )
        debt_yen = spent * rate
        if debt_yen:
            self.session.add(
                Debt(
                    member_pk=op.member.id,
                    lot_id=lot.id,
                    amount_yen=debt_yen,
                    remaining_yen=debt_yen,
                    reason=reason.strip(),
                    occurred_at=op.at,
                )
            )
            op.account.debt_yen += debt_yen
            self._entry(
                op,
                EntryKind.DEBT,
                debt_yen=debt_yen,
                lot_id=lot.id,
                source_ref=source_ref,
                reason=reason.strip(),
            )
        return self._receipt(
            op, source_ref, -unspent, cancelled=unspent, debt_yen=debt_yen, lot_id=lot.id
        )

    @operation(locate=by_member, partner_api=False)
    def forfeit(self, op: Op, member: Member | str, reason: str = texts.FORFEIT_REASON) -> Receipt:
        """Art. 11: on loss of membership all points lapse, pending grants are cancelled,
        no new grants are accepted; debts remain."""
        if op.account.forfeited_at is not None:
            raise PointsError("already_forfeited", "points were already forfeited")
        lots = self.session.scalars(
            select(PointLot)
            .where(PointLot.member_pk == op.member.id, PointLot.status == LotStatus.ACTIVE)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).all()
        total = sum(lot.remaining for lot in lots)
        available = sum(lot.remaining for lot in lots if lot.confirmed_at is not None)
        for lot in lots:
            lot.remaining = 0
            lot.status = (
                LotStatus.FORFEITED if lot.confirmed_at is not None else LotStatus.CANCELLED
            ).value
        self.session.execute(
            update(Purchase).where(Purchase.member_pk == op.member.id).values(auto_apply_until=None)
        )
        op.account.forfeited_at = op.at
        self._entry(op, EntryKind.FORFEIT, points=-total, available=-available, reason=reason)
        return self._receipt(
            op,
            op.member.member_id,
            -total,
            forfeited=available,
            pending_cancelled=total - available,
            debt_yen=op.account.debt_yen,
        )
