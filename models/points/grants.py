"""Art. 2.1 (当社が相当と認めた場合): an operator's grant, available at once."""

from __future__ import annotations

from models.company import Member
from models.points.core import by_member
from models.points.frame import Op, Receipt, operation
from models.points.jobs import Jobs
from models.points.rules import as_points, as_reason, as_ref, last_usable_day
from models.points.tables import EntryKind, LotKind


class Grants(Jobs):
    @operation(
        locate=by_member,
        points=as_points,
        source_ref=as_ref("source_ref"),
        reason=as_reason("for a grant"),
    )
    def grant(
        self, op: Op, member: Member | str, points: int, source_ref: str, reason: str
    ) -> Receipt:
        """Art. 2.1: available at once; goes first to an open all-points purchase (Art. 6.6)."""
        self._require_member_in_good_standing(op)
        self._refuse_duplicate_lot(LotKind.GRANT, source_ref)
        lot = self._new_lot(op, LotKind.GRANT, source_ref, points, op.at, reason.strip())
        lot.confirmed_at = op.at
        self._entry(
            op,
            EntryKind.GRANT,
            points=points,
            available=points,
            lot_id=lot.id,
            source_ref=source_ref,
            reason=reason.strip(),
        )
        applied = self._auto_apply(op, points)
        return self._receipt(
            op,
            source_ref,
            points - applied,
            lot_id=lot.id,
            auto_applied=applied,
            expires_on=last_usable_day(lot.expires_at).isoformat(),
        )
