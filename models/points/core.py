"""The ledger's state and the lookups, locks and entry writing every operation shares.

`LedgerCore` holds the session, the clock, the policy and the actor; the operation modules
(earning, grants, redemption, exchange, revocation) and the jobs build on it, and
`models.points.PointsLedger` puts them together.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Self

from sqlalchemy import exists, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from models.company import Member
from models.points.frame import Op, Receipt
from models.points.rules import (
    MAX_MEMBER_ID_LENGTH,
    Actor,
    PointsError,
    PointsPolicy,
    check_text,
    expires_at_for,
)
from models.points.tables import (
    EntryKind,
    Exchange,
    LotKind,
    LotStatus,
    PointAccount,
    PointEntry,
    PointLot,
    PointOperation,
    Purchase,
)
from models.timeutil import Clock


class LedgerCore:
    """The points service over one Session. Methods flush; the caller commits."""

    def __init__(
        self,
        session: Session,
        clock: Clock,
        policy: PointsPolicy | None = None,
        actor: Actor | None = None,
    ):
        self.session = session
        self.clock = clock
        self.policy = policy or PointsPolicy()
        # A partner sees and changes only what it created; None (CLI, jobs) sees everything.
        self.actor = actor
        self._partner_id = actor.partner_id if actor else None

    @classmethod
    def configured(
        cls, session: Session, clock: Clock, settings: Any, actor: Actor | None = None
    ) -> Self:
        """The ledger under the policy this deployment configured (BENESAPO_POINTS_*)."""
        return cls(session, clock, PointsPolicy.from_settings(settings), actor)

    def _settle(self, op: Op) -> None:
        """Bring the member up to `op.at` before an operation (`models.points.jobs.Jobs`)."""
        raise NotImplementedError

    def _owned(self, statement: Any, table: Any) -> Any:
        if self.actor is None:
            return statement
        return statement.where(table.partner_id == self.actor.partner_id)

    # ------------------------------------------------------------------ lookups and locks
    def member(self, member: Member | str) -> Member:
        if isinstance(member, Member):
            return member
        member = check_text(member, "member_id", MAX_MEMBER_ID_LENGTH)
        found = self.session.scalar(select(Member).where(Member.member_id == member))
        if found is None:
            raise PointsError("unknown_member", f"no member with ID {member}")
        return found

    def _readable(self, member: Member | str) -> Member:
        """A partner reads only members it has operated on: to anyone else, unknown."""
        found = self.member(member)
        if self.actor is not None and not self.session.scalar(
            select(
                exists().where(
                    PointOperation.member_pk == found.id,
                    PointOperation.partner_id == self.actor.partner_id,
                )
            )
        ):
            raise PointsError("unknown_member", f"no member with ID {found.member_id}")
        return found

    @property
    def _postgres(self) -> bool:
        return self.session.get_bind().dialect.name == "postgresql"

    def _lock_account(self, member_pk: int) -> PointAccount:
        dialect_insert = postgresql.insert if self._postgres else sqlite.insert
        self.session.execute(
            dialect_insert(PointAccount)
            .values(member_pk=member_pk, debt_yen=0)
            .on_conflict_do_nothing(index_elements=["member_pk"])
        )
        return self.session.execute(
            select(PointAccount)
            .where(PointAccount.member_pk == member_pk)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).scalar_one()

    def _lot_by_ref(self, source_ref: str, kinds: Iterable[str]) -> PointLot:
        for kind in kinds:
            lot = self.session.scalar(
                self._owned(
                    select(PointLot).where(
                        PointLot.kind == kind, PointLot.source_ref == source_ref
                    ),
                    PointLot,
                )
            )
            if lot is not None:
                return lot
        raise PointsError("unknown_reference", f"no grant with reference {source_ref}")

    def _purchase(self, purchase_ref: str) -> Purchase:
        found = self.session.scalar(
            self._owned(select(Purchase).where(Purchase.purchase_ref == purchase_ref), Purchase)
        )
        if found is None:
            raise PointsError("unknown_reference", f"no redemption for purchase {purchase_ref}")
        return found

    def _exchange(self, reward_ref: str) -> Exchange:
        found = self.session.scalar(
            self._owned(select(Exchange).where(Exchange.reward_ref == reward_ref), Exchange)
        )
        if found is None:
            raise PointsError("unknown_reference", f"no exchange with reference {reward_ref}")
        return found

    # ------------------------------------------------------------------ writing
    def _receipt(self, op: Op, ref: str, points: int, **details: Any) -> Receipt:
        return Receipt(op.kind, op.member.member_id, ref, points, op.at.isoformat(), details)

    def _entry(self, op: Op, kind: EntryKind, **values: Any) -> PointEntry:
        entry = PointEntry(
            member_pk=op.member.id,
            kind=kind.value,
            operation_id=op.operation.id if op.operation else None,
            occurred_at=op.at,
            created_at=self.clock.now(),
            **{"points": 0, "available": 0, "debt_yen": 0, "lapsed": 0, **values},
        )
        self.session.add(entry)
        return entry

    def _require_member_in_good_standing(self, op: Op) -> None:
        """Art. 11: once membership is lost, no new grants and no use of points."""
        if op.account.forfeited_at is not None or not op.member.is_active:
            raise PointsError("membership_lost", "the member no longer holds membership")

    def _refuse_duplicate_lot(self, kind: LotKind, source_ref: str) -> None:
        found = self.session.scalar(
            select(PointLot.id).where(PointLot.kind == kind, PointLot.source_ref == source_ref)
        )
        if found is not None:
            raise PointsError("duplicate_reference", f"{kind} {source_ref} already exists")

    def _new_lot(
        self,
        op: Op,
        kind: LotKind,
        source_ref: str,
        points: int,
        available_at: datetime,
        reason: str | None,
    ) -> PointLot:
        lot = PointLot(
            member_pk=op.member.id,
            kind=kind.value,
            source_ref=source_ref,
            reason=reason,
            amount=points,
            remaining=points,
            status=LotStatus.ACTIVE.value,
            occurred_at=op.at,
            available_at=available_at,
            expires_at=expires_at_for(available_at, self.policy.expiry_years),
            partner_id=self._partner_id,
        )
        self.session.add(lot)
        self.session.flush()
        return lot

    # ------------------------------------------------------------------ balances
    def _available(self, member_pk: int, at: datetime) -> int:
        return int(
            self.session.scalar(
                select(func.coalesce(func.sum(PointLot.remaining), 0)).where(
                    PointLot.member_pk == member_pk,
                    PointLot.remaining > 0,
                    PointLot.status == LotStatus.ACTIVE,
                    PointLot.available_at <= at,
                    PointLot.expires_at > at,
                )
            )
            or 0
        )


# -- where an operation finds the member whose account it locks (`@operation(locate=…)`) ----


def by_member(ledger: LedgerCore, args: dict[str, Any]) -> int:
    return ledger.member(args["member"]).id


def by_lot(*kinds: LotKind) -> Any:
    def locate(ledger: LedgerCore, args: dict[str, Any]) -> int:
        return ledger._lot_by_ref(args["source_ref"], kinds).member_pk

    return locate


def by_purchase(ledger: LedgerCore, args: dict[str, Any]) -> int:
    return ledger._purchase(args["purchase_ref"]).member_pk


def by_exchange(ledger: LedgerCore, args: dict[str, Any]) -> int:
    return ledger._exchange(args["reward_ref"]).member_pk
