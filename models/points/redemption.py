"""Art. 6: paying with points, cancelling and repricing a purchase, and auto-apply (6.6)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from models.company import Member
from models.points.allocations import Allocations
from models.points.core import by_member, by_purchase
from models.points.frame import Op, Receipt, operation
from models.points.rules import PointsError, as_new_price, as_points, as_price, as_ref, one_of
from models.points.tables import EntryKind, Purchase, PurchaseStatus


def _mode_and_points(args: dict[str, Any]) -> dict[str, Any]:
    """mode "points" uses `points`; mode "all" uses all the member's points (up to the price)."""
    one_of("mode", "points", "all")(args["mode"])
    if args["mode"] == "points":
        args["points"] = as_points(args["points"])
    elif args["points"] is not None:
        raise PointsError("invalid_request", "give either points or mode 'all', not both")
    return args


class Redemption(Allocations):
    @operation(
        locate=by_member,
        purchase_ref=as_ref("purchase_ref"),
        price=as_price,
        check=_mode_and_points,
    )
    def redeem(
        self,
        op: Op,
        member: Member | str,
        purchase_ref: str,
        price: int,
        points: int | None = None,
        *,
        mode: str = "points",
    ) -> Receipt:
        """Art. 6.1: pay all or part of a purchase; soonest-expiring lots first.

        mode "points" uses `points`; mode "all" uses all the member's points (up to the price).
        """
        rate = self.policy.yen_per_point
        self._require_member_in_good_standing(op)
        if self.session.scalar(select(Purchase.id).where(Purchase.purchase_ref == purchase_ref)):
            raise PointsError("duplicate_reference", f"purchase {purchase_ref} already paid")
        available = self._available(op.member.id, op.at)
        use = min(available, price // rate) if mode == "all" else int(points or 0)
        if use * rate > price:
            raise PointsError("points_exceed_price", "more points than the price")
        if use <= 0 or use > available:
            raise PointsError.insufficient(available)
        purchase = Purchase(
            member_pk=op.member.id,
            purchase_ref=purchase_ref,
            mode=mode,
            price=price,
            points_used=use,
            other_yen=price - use * rate,
            other_refunded_yen=0,
            cash_refunded_yen=0,
            status=PurchaseStatus.PAID.value,
            occurred_at=op.at,
            auto_apply_until=(op.at + self.policy.auto_apply_window if use == available else None),
            partner_id=self._partner_id,
        )
        self.session.add(purchase)
        self.session.flush()
        self._consume(op, use, purchase=purchase)
        self._entry(op, EntryKind.REDEEM, points=-use, available=-use, source_ref=purchase_ref)
        return self._receipt(
            op,
            purchase_ref,
            -use,
            points_used=use,
            other_yen=purchase.other_yen,
            price=price,
            mode=mode,
        )

    def _paid(self, purchase_ref: str) -> Purchase:
        purchase = self._purchase(purchase_ref)
        self.session.refresh(purchase)
        if purchase.status != PurchaseStatus.PAID:
            raise PointsError("already_cancelled", f"purchase {purchase_ref} was cancelled")
        return purchase

    @operation(
        locate=by_purchase,
        purchase_ref=as_ref("purchase_ref"),
        refund=one_of("refund", "points", "cash"),
    )
    def cancel_redemption(self, op: Op, purchase_ref: str, *, refund: str = "points") -> Receipt:
        """Art. 6.3: points go back to their lots (expired ones lapse), or a cash refund."""
        purchase = self._paid(purchase_ref)
        allocations = self._outstanding(purchase=purchase)
        outstanding = sum(a.points - a.returned for a in allocations)
        result = self._give_back(op, allocations, outstanding, purchase_ref, cash=refund == "cash")
        purchase.cash_refunded_yen += result["cash_yen"]
        purchase.other_refunded_yen += purchase.other_yen
        purchase.points_used = 0
        purchase.other_yen = 0
        purchase.status = PurchaseStatus.CANCELLED.value
        purchase.auto_apply_until = None
        self._entry(op, EntryKind.REDEEM_CANCEL, source_ref=purchase_ref)
        applied = self._auto_apply(op, result["returned"])
        return self._receipt(
            op,
            purchase_ref,
            result["returned"] - applied,
            refund=refund,
            auto_applied=applied,
            **result,
        )

    @operation(locate=by_purchase, purchase_ref=as_ref("purchase_ref"), price=as_new_price)
    def reprice(self, op: Op, purchase_ref: str, price: int) -> Receipt:
        """Art. 6.4-6.5: the purchase price changed after paying with points.

        Down: the other payment is refunded first, then points (Art. 6.4).
        Up: paid by other means, except in "use all my points" mode, where the member's
        remaining points pay first (Art. 6.5).
        """
        rate = self.policy.yen_per_point
        purchase = self._paid(purchase_ref)
        old = purchase.price
        points_delta = 0
        details: dict[str, Any] = {"old_price": old, "price": price}
        if price < old:
            cut = old - price
            other_back = min(cut, purchase.other_yen)
            purchase.other_yen -= other_back
            rest = cut - other_back
            # Whole points covering the rest; with a rate above 1 yen the part of a point
            # beyond the cut is left to pay by other means.
            points_back = -(-rest // rate)
            purchase.other_refunded_yen += other_back
            purchase.price = price
            purchase.points_used -= points_back
            purchase.other_yen += points_back * rate - rest
            self._entry(op, EntryKind.REPRICE, source_ref=purchase_ref, reason=f"{old}→{price}")
            result = self._give_back(
                op, self._outstanding(purchase=purchase), points_back, purchase_ref
            )
            points_delta = result["returned"]
            details.update(other_refunded_yen=other_back, **result)
            applied = self._auto_apply(op, result["returned"])
            points_delta -= applied
            details["auto_applied"] = applied
        elif price > old:
            rise = price - old
            use = 0
            if purchase.mode == "all":
                use = min(self._available(op.member.id, op.at), rise // rate)
                if use:
                    self._consume(op, use, purchase=purchase)
            purchase.points_used += use
            purchase.other_yen += rise - use * rate
            purchase.price = price
            self._entry(
                op,
                EntryKind.REPRICE,
                points=-use,
                available=-use,
                source_ref=purchase_ref,
                reason=f"{old}→{price}",
            )
            points_delta = -use
            details.update(points_used=use, other_yen_added=rise - use * rate)
        else:
            self._entry(op, EntryKind.REPRICE, source_ref=purchase_ref, reason=f"{old}→{price}")
        details.update(points_used_total=purchase.points_used, other_yen=purchase.other_yen)
        return self._receipt(op, purchase_ref, points_delta, **details)

    def _auto_apply(self, op: Op, new_points: int) -> int:
        """Art. 6.6: points granted or returned within the window after an all-points purchase
        go to that purchase's remaining non-point amount. Returns the points applied."""
        if new_points <= 0:
            return 0
        rate = self.policy.yen_per_point
        purchases = self.session.scalars(
            select(Purchase)
            .where(
                Purchase.member_pk == op.member.id,
                Purchase.status == PurchaseStatus.PAID,
                Purchase.auto_apply_until.is_not(None),
                Purchase.auto_apply_until >= op.at,
                Purchase.other_yen >= rate,
            )
            .order_by(Purchase.occurred_at, Purchase.id)
        ).all()
        applied = 0
        for purchase in purchases:
            available = self._available(op.member.id, op.at)
            use = min(new_points - applied, available, purchase.other_yen // rate)
            if use <= 0:
                continue
            self._consume(op, use, purchase=purchase)
            purchase.points_used += use
            purchase.other_yen -= use * rate
            purchase.other_refunded_yen += use * rate
            self._entry(
                op,
                EntryKind.AUTO_APPLY,
                points=-use,
                available=-use,
                source_ref=purchase.purchase_ref,
            )
            applied += use
        return applied
