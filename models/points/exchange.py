"""Art. 7: exchanging points for a special service or reward, and giving them back when it
cannot be provided (7.2)."""

from __future__ import annotations

from sqlalchemy import select

from models.company import Member
from models.points.core import by_exchange, by_member
from models.points.frame import Op, Receipt, operation
from models.points.jobs import Jobs
from models.points.rules import PointsError, as_points, as_ref
from models.points.tables import EntryKind, Exchange, ExchangeStatus


class Exchanges(Jobs):
    @operation(locate=by_member, reward_ref=as_ref("reward_ref"), points=as_points)
    def exchange(self, op: Op, member: Member | str, reward_ref: str, points: int) -> Receipt:
        """Art. 7.1-7.2: spend points on a special service / reward."""
        self._require_member_in_good_standing(op)
        if self.session.scalar(select(Exchange.id).where(Exchange.reward_ref == reward_ref)):
            raise PointsError("duplicate_reference", f"exchange {reward_ref} already exists")
        available = self._available(op.member.id, op.at)
        if points > available:
            raise PointsError.insufficient(available)
        exchange = Exchange(
            member_pk=op.member.id,
            reward_ref=reward_ref,
            points=points,
            status=ExchangeStatus.OPEN.value,
            occurred_at=op.at,
            partner_id=self._partner_id,
        )
        self.session.add(exchange)
        self.session.flush()
        self._consume(op, points, exchange=exchange)
        self._entry(
            op, EntryKind.EXCHANGE, points=-points, available=-points, source_ref=reward_ref
        )
        return self._receipt(op, reward_ref, -points)

    @operation(locate=by_exchange, reward_ref=as_ref("reward_ref"))
    def cancel_exchange(self, op: Op, reward_ref: str) -> Receipt:
        """Art. 7.2: the reward cannot be delivered (out of stock); the points come back."""
        exchange = self._exchange(reward_ref)
        self.session.refresh(exchange)
        if exchange.status != ExchangeStatus.OPEN:
            raise PointsError("already_cancelled", f"exchange {reward_ref} was cancelled")
        allocations = self._outstanding(exchange=exchange)
        outstanding = sum(a.points - a.returned for a in allocations)
        result = self._give_back(op, allocations, outstanding, reward_ref)
        exchange.status = ExchangeStatus.CANCELLED.value
        self._entry(op, EntryKind.EXCHANGE_CANCEL, source_ref=reward_ref)
        applied = self._auto_apply(op, result["returned"])
        return self._receipt(
            op, reward_ref, result["returned"] - applied, auto_applied=applied, **result
        )
