"""The points ledger service: one method per operation of the points terms (ポイント利用規約).

Every operation:
- runs in a SAVEPOINT, so a refused operation changes nothing (the caller commits);
- locks the member's `PointAccount` row (`SELECT … FOR UPDATE` on PostgreSQL; SQLite's
  `BEGIN IMMEDIATE` already serialises writers), so two operations on one member never
  interleave;
- is idempotent under the caller's key: a replay returns the first `Receipt`, the same key with
  other parameters raises `idempotency_conflict`;
- carries `occurred_at` (default now): before the member's latest entry → `stale_occurred_at`,
  more than 5 minutes ahead → `future_occurred_at` unless the policy allows future dates;
- first settles the member at that time (pending lots whose period ended become available,
  lots past their expiry expire), then appends entries and never edits history.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import case, exists, func, insert, literal, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from models.company import Member
from models.points_rules import (
    MAX_MEMBER_ID_LENGTH,
    MAX_POINTS_PER_OPERATION,
    MAX_PRICE_YEN,
    MAX_REASON_LENGTH,
    MAX_REF_LENGTH,
    Actor,
    PointsError,
    PointsPolicy,
    check_amount,
    check_text,
    check_time,
    expires_at_for,
    last_usable_day,
)
from models.points_tables import (
    Allocation,
    Debt,
    Exchange,
    LotKind,
    LotStatus,
    PointAccount,
    PointEntry,
    PointLot,
    PointOperation,
    Purchase,
)
from models.timeutil import Clock, jst_date

__all__ = [
    "Balance",
    "HistoryItem",
    "PointsError",
    "PointsLedger",
    "PointsPolicy",
    "Receipt",
    "run_in_transaction",
]

T = TypeVar("T")
MemberRange = tuple[int, int]  # member keys, inclusive


@dataclass(frozen=True)
class Receipt:
    """What an operation did; replays return the stored first receipt (`replayed=True`)."""

    operation: str
    member_id: str
    ref: str
    points: int  # change in the points the member holds (available + pending)
    occurred_at: str
    details: dict[str, Any] = field(default_factory=dict)
    replayed: bool = False

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("replayed")
        return data


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


@dataclass
class _Op:
    kind: str
    member: Member
    account: PointAccount
    at: datetime
    operation: PointOperation | None = None
    replay: Receipt | None = None


def _canonical(params: dict[str, Any]) -> str:
    return hashlib.sha256(
        json.dumps(params, sort_keys=True, ensure_ascii=False, default=str).encode()
    ).hexdigest()


def _positive_int(
    value: Any, name: str, *, allow_zero: bool = False, maximum: int = MAX_POINTS_PER_OPERATION
) -> int:
    return check_amount(value, name, maximum=maximum, allow_zero=allow_zero)


def _ref(value: Any, name: str) -> str:
    return check_text(value, name, MAX_REF_LENGTH)


def _reason(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise PointsError("invalid_request", f"a reason is required {what}")
    return check_text(value, "reason", MAX_REASON_LENGTH, multiline=True)


class PointsLedger:
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
    ) -> PointsLedger:
        """The ledger under the policy this deployment configured (BENESAPO_POINTS_*)."""
        return cls(session, clock, PointsPolicy.from_settings(settings), actor)

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

    # ------------------------------------------------------------------ operation frame
    def _run(
        self,
        kind: str,
        key: str,
        params: dict[str, Any],
        member_pk_of: Callable[[], int],
        occurred_at: datetime | None,
        body: Callable[[_Op], Receipt],
    ) -> Receipt:
        if not isinstance(key, str) or not key.strip() or len(key) > 255:
            raise PointsError("invalid_request", "an idempotency key (≤255 chars) is required")
        request = dict(params, operation=kind)
        if occurred_at is not None:
            request["occurred_at"] = occurred_at.isoformat()
        digest = _canonical(request)
        with self.session.begin_nested():
            member_pk = member_pk_of()
            account = self._lock_account(member_pk)
            previous = self.session.scalar(
                select(PointOperation).where(PointOperation.idempotency_key == key)
            )
            if previous is not None:
                if previous.kind != kind or previous.request_hash != digest:
                    raise PointsError(
                        "idempotency_conflict",
                        "this idempotency key was already used with other parameters",
                    )
                return Receipt(**json.loads(previous.result_json), replayed=True)
            now = self.clock.now()
            at = now if occurred_at is None else check_time(occurred_at, "occurred_at")
            if at > now + self.policy.future_tolerance and not self.policy.allow_future_dates:
                raise PointsError("future_occurred_at", "occurred_at is in the future")
            if account.last_occurred_at is not None and at < account.last_occurred_at:
                raise PointsError(
                    "stale_occurred_at",
                    "occurred_at is before the member's latest entry "
                    f"({account.last_occurred_at.isoformat()})",
                )
            member = self.session.get(Member, member_pk)
            assert member is not None
            # Settling is a fact of time, kept even when the operation itself is refused.
            self._settle(_Op("settle", member, account, at))
        with self.session.begin_nested():
            operation = PointOperation(
                idempotency_key=key,
                kind=kind,
                request_hash=digest,
                member_pk=member_pk,
                result_json="{}",
                occurred_at=at,
                created_at=now,
                partner_id=self._partner_id,
                api_key_id=self.actor.api_key_id if self.actor else None,
            )
            self.session.add(operation)
            self.session.flush()
            op = _Op(kind, member, account, at, operation)
            receipt = body(op)
            account.last_occurred_at = at
            operation.result_json = json.dumps(receipt.to_json(), ensure_ascii=False)
            self.session.flush()
            return receipt

    def _receipt(self, op: _Op, ref: str, points: int, **details: Any) -> Receipt:
        return Receipt(op.kind, op.member.member_id, ref, points, op.at.isoformat(), details)

    def _entry(self, op: _Op, kind: str, **values: Any) -> PointEntry:
        entry = PointEntry(
            member_pk=op.member.id,
            kind=kind,
            operation_id=op.operation.id if op.operation else None,
            occurred_at=op.at,
            created_at=self.clock.now(),
            **{"points": 0, "available": 0, "debt_yen": 0, "lapsed": 0, **values},
        )
        self.session.add(entry)
        return entry

    def _require_member_in_good_standing(self, op: _Op) -> None:
        """Art. 11: once membership is lost, no new grants and no use of points."""
        if op.account.forfeited_at is not None or not op.member.is_active:
            raise PointsError("membership_lost", "the member no longer holds membership")

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
            if e.kind == "confirm":
                shown = e.available
            elif e.kind == "lapse":
                shown = -e.lapsed
            else:
                shown = e.points
            items.append(
                HistoryItem(e.id, e.kind, shown, e.debt_yen, e.source_ref, e.reason, e.occurred_at)
            )
        return items

    # ------------------------------------------------------------------ Art. 2: earn
    def earn(
        self,
        member: Member | str,
        points: int,
        source_ref: str,
        *,
        key: str,
        occurred_at: datetime | None = None,
    ) -> Receipt:
        """Art. 2.1/2.3: a service use creates a pending grant, available after the period."""
        points = _positive_int(points, "points")
        source_ref = _ref(source_ref, "source_ref")

        def body(op: _Op) -> Receipt:
            self._require_member_in_good_standing(op)
            self._refuse_duplicate_lot(LotKind.EARNING, source_ref)
            available_at = op.at + self.policy.pending_period
            lot = self._new_lot(op, LotKind.EARNING, source_ref, points, available_at, None)
            self._entry(op, "earn", points=points, lot_id=lot.id, source_ref=source_ref)
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

        return self._run(
            "earn",
            key,
            {"member": self._member_key(member), "points": points, "source_ref": source_ref},
            lambda: self.member(member).id,
            occurred_at,
            body,
        )

    def amend_earning(
        self, source_ref: str, points: int, *, key: str, occurred_at: datetime | None = None
    ) -> Receipt:
        """Art. 2.3: the price changed during the pending period; the grant follows it."""
        points = _positive_int(points, "points")
        source_ref = _ref(source_ref, "source_ref")

        def body(op: _Op) -> Receipt:
            lot = self._pending_lot(op, source_ref)
            delta = points - lot.amount
            lot.amount = points
            lot.remaining = points
            self._entry(op, "earn_amend", points=delta, lot_id=lot.id, source_ref=source_ref)
            return self._receipt(op, source_ref, delta, lot_id=lot.id, amount=points)

        return self._run(
            "amend_earning",
            key,
            {"source_ref": source_ref, "points": points},
            lambda: self._lot_by_ref(source_ref, [LotKind.EARNING]).member_pk,
            occurred_at,
            body,
        )

    def cancel_earning(
        self, source_ref: str, *, key: str, occurred_at: datetime | None = None
    ) -> Receipt:
        """Art. 2.3: cancelled or returned during the pending period: nothing is granted."""
        source_ref = _ref(source_ref, "source_ref")

        def body(op: _Op) -> Receipt:
            lot = self._pending_lot(op, source_ref)
            cancelled = lot.remaining
            lot.remaining = 0
            lot.status = LotStatus.CANCELLED
            self._entry(op, "earn_cancel", points=-cancelled, lot_id=lot.id, source_ref=source_ref)
            return self._receipt(op, source_ref, -cancelled, lot_id=lot.id)

        return self._run(
            "cancel_earning",
            key,
            {"source_ref": source_ref},
            lambda: self._lot_by_ref(source_ref, [LotKind.EARNING]).member_pk,
            occurred_at,
            body,
        )

    def _pending_lot(self, op: _Op, source_ref: str) -> PointLot:
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

    # ------------------------------------------------------------------ Art. 2.1: grant
    def grant(
        self,
        member: Member | str,
        points: int,
        source_ref: str,
        reason: str,
        *,
        key: str,
        occurred_at: datetime | None = None,
    ) -> Receipt:
        """Art. 2.1 (当社が相当と認めた場合): an operator grant, available at once."""
        points = _positive_int(points, "points")
        source_ref = _ref(source_ref, "source_ref")
        reason = _reason(reason, "for a grant")

        def body(op: _Op) -> Receipt:
            self._require_member_in_good_standing(op)
            self._refuse_duplicate_lot(LotKind.GRANT, source_ref)
            lot = self._new_lot(op, LotKind.GRANT, source_ref, points, op.at, reason.strip())
            lot.confirmed_at = op.at
            self._entry(
                op,
                "grant",
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

        return self._run(
            "grant",
            key,
            {
                "member": self._member_key(member),
                "points": points,
                "source_ref": source_ref,
                "reason": reason,
            },
            lambda: self.member(member).id,
            occurred_at,
            body,
        )

    def _refuse_duplicate_lot(self, kind: str, source_ref: str) -> None:
        exists = self.session.scalar(
            select(PointLot.id).where(PointLot.kind == kind, PointLot.source_ref == source_ref)
        )
        if exists is not None:
            raise PointsError("duplicate_reference", f"{kind} {source_ref} already exists")

    def _new_lot(
        self,
        op: _Op,
        kind: str,
        source_ref: str,
        points: int,
        available_at: datetime,
        reason: str | None,
    ) -> PointLot:
        lot = PointLot(
            member_pk=op.member.id,
            kind=kind,
            source_ref=source_ref,
            reason=reason,
            amount=points,
            remaining=points,
            status=LotStatus.ACTIVE,
            occurred_at=op.at,
            available_at=available_at,
            expires_at=expires_at_for(available_at, self.policy.expiry_years),
            partner_id=self._partner_id,
        )
        self.session.add(lot)
        self.session.flush()
        return lot

    @staticmethod
    def _member_key(member: Member | str) -> str:
        return member.member_id if isinstance(member, Member) else member

    # ------------------------------------------------------------------ Art. 6: redeem
    def redeem(
        self,
        member: Member | str,
        purchase_ref: str,
        price: int,
        points: int | None = None,
        *,
        mode: str = "points",
        key: str,
        occurred_at: datetime | None = None,
    ) -> Receipt:
        """Art. 6.1: pay all or part of a purchase; soonest-expiring lots first.

        mode "points" uses `points`; mode "all" uses all the member's points (up to the price).
        """
        purchase_ref = _ref(purchase_ref, "purchase_ref")
        price = _positive_int(price, "price", maximum=MAX_PRICE_YEN)
        if mode not in ("points", "all"):
            raise PointsError("invalid_request", "mode must be 'points' or 'all'")
        if mode == "points":
            points = _positive_int(points, "points")
        elif points is not None:
            raise PointsError("invalid_request", "give either points or mode 'all', not both")
        rate = self.policy.yen_per_point

        def body(op: _Op) -> Receipt:
            self._require_member_in_good_standing(op)
            if self.session.scalar(
                select(Purchase.id).where(Purchase.purchase_ref == purchase_ref)
            ):
                raise PointsError("duplicate_reference", f"purchase {purchase_ref} already paid")
            available = self._available(op.member.id, op.at)
            use = min(available, price // rate) if mode == "all" else int(points or 0)
            if use * rate > price:
                raise PointsError("points_exceed_price", "more points than the price")
            if use <= 0 or use > available:
                raise PointsError(
                    "insufficient_points",
                    f"not enough points: {available} available",
                    available=available,
                )
            purchase = Purchase(
                member_pk=op.member.id,
                purchase_ref=purchase_ref,
                mode=mode,
                price=price,
                points_used=use,
                other_yen=price - use * rate,
                other_refunded_yen=0,
                cash_refunded_yen=0,
                status="paid",
                occurred_at=op.at,
                auto_apply_until=(
                    op.at + self.policy.auto_apply_window if use == available else None
                ),
                partner_id=self._partner_id,
            )
            self.session.add(purchase)
            self.session.flush()
            self._consume(op, use, purchase=purchase)
            self._entry(op, "redeem", points=-use, available=-use, source_ref=purchase_ref)
            return self._receipt(
                op,
                purchase_ref,
                -use,
                points_used=use,
                other_yen=purchase.other_yen,
                price=price,
                mode=mode,
            )

        return self._run(
            "redeem",
            key,
            {
                "member": self._member_key(member),
                "purchase_ref": purchase_ref,
                "price": price,
                "points": points,
                "mode": mode,
            },
            lambda: self.member(member).id,
            occurred_at,
            body,
        )

    def _consume(
        self,
        op: _Op,
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

    def _outstanding(self, *, purchase: Purchase | None = None, exchange: Exchange | None = None):
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
        op: _Op,
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
            self._entry(op, "return", points=n, available=n, source_ref=ref)
        if result["lapsed"]:
            self._entry(op, "lapse", lapsed=result["lapsed"], source_ref=ref)
        if result["debt_cleared_yen"]:
            self._entry(op, "debt_cleared", debt_yen=-result["debt_cleared_yen"], source_ref=ref)
        if result["cash_yen"]:
            self._entry(op, "cash_refund", source_ref=ref, reason=f"{result['cash_yen']}円")
        self.session.flush()
        return result

    def cancel_redemption(
        self,
        purchase_ref: str,
        *,
        refund: str = "points",
        key: str,
        occurred_at: datetime | None = None,
    ) -> Receipt:
        """Art. 6.3: points go back to their lots (expired ones lapse), or a cash refund."""
        purchase_ref = _ref(purchase_ref, "purchase_ref")
        if refund not in ("points", "cash"):
            raise PointsError("invalid_request", "refund must be 'points' or 'cash'")

        def body(op: _Op) -> Receipt:
            purchase = self._purchase(purchase_ref)
            self.session.refresh(purchase)
            if purchase.status != "paid":
                raise PointsError("already_cancelled", f"purchase {purchase_ref} was cancelled")
            allocations = self._outstanding(purchase=purchase)
            outstanding = sum(a.points - a.returned for a in allocations)
            result = self._give_back(
                op, allocations, outstanding, purchase_ref, cash=refund == "cash"
            )
            purchase.cash_refunded_yen += result["cash_yen"]
            purchase.other_refunded_yen += purchase.other_yen
            purchase.points_used = 0
            purchase.other_yen = 0
            purchase.status = "cancelled"
            purchase.auto_apply_until = None
            self._entry(op, "redeem_cancel", source_ref=purchase_ref)
            applied = self._auto_apply(op, result["returned"])
            return self._receipt(
                op,
                purchase_ref,
                result["returned"] - applied,
                refund=refund,
                auto_applied=applied,
                **result,
            )

        return self._run(
            "cancel_redemption",
            key,
            {"purchase_ref": purchase_ref, "refund": refund},
            lambda: self._purchase(purchase_ref).member_pk,
            occurred_at,
            body,
        )

    def reprice(
        self, purchase_ref: str, price: int, *, key: str, occurred_at: datetime | None = None
    ) -> Receipt:
        """Art. 6.4-6.5: the purchase price changed after paying with points.

        Down: the other payment is refunded first, then points (Art. 6.4).
        Up: paid by other means, except in "use all my points" mode, where the member's
        remaining points pay first (Art. 6.5).
        """
        purchase_ref = _ref(purchase_ref, "purchase_ref")
        price = _positive_int(price, "price", allow_zero=True, maximum=MAX_PRICE_YEN)
        rate = self.policy.yen_per_point

        def body(op: _Op) -> Receipt:
            purchase = self._purchase(purchase_ref)
            self.session.refresh(purchase)
            if purchase.status != "paid":
                raise PointsError("already_cancelled", f"purchase {purchase_ref} was cancelled")
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
                self._entry(op, "reprice", source_ref=purchase_ref, reason=f"{old}→{price}")
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
                    "reprice",
                    points=-use,
                    available=-use,
                    source_ref=purchase_ref,
                    reason=f"{old}→{price}",
                )
                points_delta = -use
                details.update(points_used=use, other_yen_added=rise - use * rate)
            else:
                self._entry(op, "reprice", source_ref=purchase_ref, reason=f"{old}→{price}")
            details.update(points_used_total=purchase.points_used, other_yen=purchase.other_yen)
            return self._receipt(op, purchase_ref, points_delta, **details)

        return self._run(
            "reprice",
            key,
            {"purchase_ref": purchase_ref, "price": price},
            lambda: self._purchase(purchase_ref).member_pk,
            occurred_at,
            body,
        )

    def _auto_apply(self, op: _Op, new_points: int) -> int:
        """Art. 6.6: points granted or returned within the window after an all-points purchase
        go to that purchase's remaining non-point amount. Returns the points applied."""
        if new_points <= 0:
            return 0
        rate = self.policy.yen_per_point
        purchases = self.session.scalars(
            select(Purchase)
            .where(
                Purchase.member_pk == op.member.id,
                Purchase.status == "paid",
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
                op, "auto_apply", points=-use, available=-use, source_ref=purchase.purchase_ref
            )
            applied += use
        return applied

    # ------------------------------------------------------------------ Art. 7: exchange
    def exchange(
        self,
        member: Member | str,
        reward_ref: str,
        points: int,
        *,
        key: str,
        occurred_at: datetime | None = None,
    ) -> Receipt:
        """Art. 7.1-7.2: spend points on a special service / reward."""
        reward_ref = _ref(reward_ref, "reward_ref")
        points = _positive_int(points, "points")

        def body(op: _Op) -> Receipt:
            self._require_member_in_good_standing(op)
            if self.session.scalar(select(Exchange.id).where(Exchange.reward_ref == reward_ref)):
                raise PointsError("duplicate_reference", f"exchange {reward_ref} already exists")
            available = self._available(op.member.id, op.at)
            if points > available:
                raise PointsError(
                    "insufficient_points",
                    f"not enough points: {available} available",
                    available=available,
                )
            exchange = Exchange(
                member_pk=op.member.id,
                reward_ref=reward_ref,
                points=points,
                status="open",
                occurred_at=op.at,
                partner_id=self._partner_id,
            )
            self.session.add(exchange)
            self.session.flush()
            self._consume(op, points, exchange=exchange)
            self._entry(op, "exchange", points=-points, available=-points, source_ref=reward_ref)
            return self._receipt(op, reward_ref, -points)

        return self._run(
            "exchange",
            key,
            {"member": self._member_key(member), "reward_ref": reward_ref, "points": points},
            lambda: self.member(member).id,
            occurred_at,
            body,
        )

    def cancel_exchange(
        self, reward_ref: str, *, key: str, occurred_at: datetime | None = None
    ) -> Receipt:
        """Art. 7.2: the reward cannot be delivered (out of stock); the points come back."""
        reward_ref = _ref(reward_ref, "reward_ref")

        def body(op: _Op) -> Receipt:
            exchange = self._exchange(reward_ref)
            self.session.refresh(exchange)
            if exchange.status != "open":
                raise PointsError("already_cancelled", f"exchange {reward_ref} was cancelled")
            allocations = self._outstanding(exchange=exchange)
            outstanding = sum(a.points - a.returned for a in allocations)
            result = self._give_back(op, allocations, outstanding, reward_ref)
            exchange.status = "cancelled"
            self._entry(op, "exchange_cancel", source_ref=reward_ref)
            applied = self._auto_apply(op, result["returned"])
            return self._receipt(
                op, reward_ref, result["returned"] - applied, auto_applied=applied, **result
            )

        return self._run(
            "cancel_exchange",
            key,
            {"reward_ref": reward_ref},
            lambda: self._exchange(reward_ref).member_pk,
            occurred_at,
            body,
        )

    # ------------------------------------------------------------------ Art. 5, 8: revoke
    def revoke(
        self, source_ref: str, reason: str, *, key: str, occurred_at: datetime | None = None
    ) -> Receipt:
        """Art. 5.1-5.2, 8: cancel a grant or earning. Unspent points are cancelled; points
        already spent become a debt in yen; the balance never goes negative."""
        source_ref = _ref(source_ref, "source_ref")
        reason = _reason(reason, "to revoke")
        rate = self.policy.yen_per_point

        def body(op: _Op) -> Receipt:
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
                    select(
                        func.coalesce(func.sum(Allocation.points - Allocation.returned), 0)
                    ).where(Allocation.lot_id == lot.id)
                )
                or 0
            )
            lot.remaining = 0
            lot.status = LotStatus.REVOKED
            self._entry(
                op,
                "revoke",
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
                    "debt",
                    debt_yen=debt_yen,
                    lot_id=lot.id,
                    source_ref=source_ref,
                    reason=reason.strip(),
                )
            return self._receipt(
                op, source_ref, -unspent, cancelled=unspent, debt_yen=debt_yen, lot_id=lot.id
            )

        return self._run(
            "revoke",
            key,
            {"source_ref": source_ref, "reason": reason},
            lambda: self._lot_by_ref(source_ref, [LotKind.GRANT, LotKind.EARNING]).member_pk,
            occurred_at,
            body,
        )

    # ------------------------------------------------------------------ Art. 11: forfeit
    def forfeit(
        self,
        member: Member | str,
        reason: str = "会員資格の喪失",
        *,
        key: str,
        occurred_at: datetime | None = None,
    ) -> Receipt:
        """Art. 11: on loss of membership all points lapse, pending grants are cancelled,
        no new grants are accepted; debts remain."""

        def body(op: _Op) -> Receipt:
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
                )
            self.session.execute(
                update(Purchase)
                .where(Purchase.member_pk == op.member.id)
                .values(auto_apply_until=None)
            )
            op.account.forfeited_at = op.at
            self._entry(op, "forfeit", points=-total, available=-available, reason=reason)
            return self._receipt(
                op,
                op.member.member_id,
                -total,
                forfeited=available,
                pending_cancelled=total - available,
                debt_yen=op.account.debt_yen,
            )

        return self._run(
            "forfeit",
            key,
            {"member": self._member_key(member), "reason": reason},
            lambda: self.member(member).id,
            occurred_at,
            body,
        )

    # ------------------------------------------------------------------ jobs (set-based)
    def _settle(self, op: _Op) -> None:
        """Bring one member up to `op.at` with the same SQL the jobs run for everyone.

        Runs in its own savepoint before each operation, so a refused operation still leaves
        the member settled (the caller may commit after a `PointsError`)."""
        confirmed = self._confirm_sql(op.at, member_pk=op.member.id)
        expired = self._expire_sql(op.at, member_pk=op.member.id)
        if confirmed:
            self._auto_apply_confirmed(op, confirmed)
            self._bump_watermarks(confirmed, PointLot.available_at)
        if expired:
            self._bump_watermarks(expired, PointLot.expires_at)

    def members_due(self, *, confirm: bool, now: datetime | None = None) -> list[int]:
        """Members with lots to confirm (or to expire) at `now`, by key (the jobs split this
        list in halves to find a member they cannot process)."""
        now = now or self.clock.now()
        due = (
            (PointLot.confirmed_at.is_(None), PointLot.available_at <= now)
            if confirm
            else (PointLot.expires_at <= now,)
        )
        return list(
            self.session.scalars(
                select(PointLot.member_pk)
                .where(PointLot.status == LotStatus.ACTIVE, *due)
                .distinct()
                .order_by(PointLot.member_pk)
            )
        )

    def confirm_due(self, now: datetime | None = None, members: MemberRange | None = None) -> int:
        """Job: pending lots whose period has ended become available (Art. 2.3); only of the
        members whose key is within `members` (inclusive) when given."""
        now = now or self.clock.now()
        with self.session.begin_nested():
            self._lock_due_accounts(
                PointLot.status == LotStatus.ACTIVE,
                PointLot.confirmed_at.is_(None),
                PointLot.available_at <= now,
                *_in_range(members),
            )
            run = self._confirm_sql(now, members=members)
            if not run:
                return 0
            count = self._bump_watermarks(run, PointLot.available_at)
            # Art. 6.6 for the few members who have an all-points purchase still open.
            members = self.session.scalars(
                select(PointLot.member_pk)
                .where(PointLot.job_run == run)
                .where(
                    PointLot.member_pk.in_(
                        select(Purchase.member_pk).where(
                            Purchase.status == "paid",
                            Purchase.auto_apply_until.is_not(None),
                            Purchase.other_yen > 0,
                        )
                    )
                )
                .distinct()
            ).all()
            for member_pk in members:
                account = self._lock_account(member_pk)
                member = self.session.get(Member, member_pk)
                assert member is not None
                self._auto_apply_confirmed(_Op("confirm", member, account, now), run)
            return count

    def expire_due(self, now: datetime | None = None, members: MemberRange | None = None) -> int:
        """Job: lots past their expiry expire (Art. 5.3); one expiry entry per lot; only of the
        members whose key is within `members` (inclusive) when given."""
        now = now or self.clock.now()
        with self.session.begin_nested():
            self._lock_due_accounts(
                PointLot.status == LotStatus.ACTIVE,
                PointLot.expires_at <= now,
                *_in_range(members),
            )
            run = self._expire_sql(now, members=members)
            return self._bump_watermarks(run, PointLot.expires_at) if run else 0

    def _lock_due_accounts(self, *conditions: Any) -> None:
        if self._postgres:
            self.session.execute(
                select(PointAccount.member_pk)
                .where(PointAccount.member_pk.in_(select(PointLot.member_pk).where(*conditions)))
                .with_for_update()
            )

    def _confirm_sql(
        self, now: datetime, member_pk: int | None = None, members: MemberRange | None = None
    ) -> str | None:
        self.session.flush()
        run = uuid.uuid4().hex
        conditions = [
            PointLot.status == LotStatus.ACTIVE,
            PointLot.confirmed_at.is_(None),
            PointLot.available_at <= now,
        ]
        if member_pk is not None:
            conditions.append(PointLot.member_pk == member_pk)
        conditions += _in_range(members)
        updated = self.session.execute(
            update(PointLot)
            .where(*conditions)
            .values(confirmed_at=PointLot.available_at, job_run=run)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not updated:
            return None
        self._entries_for_marked_lots(
            run, "confirm", literal(0), PointLot.remaining, PointLot.available_at
        )
        self.session.expire_all()
        return run

    def _entries_for_marked_lots(
        self, run: str, kind: str, points: Any, available: Any, occurred_at: Any, *where: Any
    ) -> None:
        """One entry per lot a set-based job marked with `run`: a single INSERT … SELECT."""
        self.session.execute(
            insert(PointEntry).from_select(
                [
                    "member_pk",
                    "kind",
                    "points",
                    "available",
                    "debt_yen",
                    "lapsed",
                    "lot_id",
                    "source_ref",
                    "occurred_at",
                    "created_at",
                ],
                select(
                    PointLot.member_pk,
                    literal(kind),
                    points,
                    available,
                    literal(0),
                    literal(0),
                    PointLot.id,
                    PointLot.source_ref,
                    occurred_at,
                    literal(self.clock.now(), PointEntry.created_at.type),
                ).where(PointLot.job_run == run, *where),
            )
        )

    def _expire_sql(
        self, now: datetime, member_pk: int | None = None, members: MemberRange | None = None
    ) -> str | None:
        self.session.flush()
        run = uuid.uuid4().hex
        if member_pk is not None:
            members = (member_pk, member_pk)
        if self._postgres:
            return self._expire_sql_postgres(now, run, members)
        conditions = [PointLot.status == LotStatus.ACTIVE, PointLot.expires_at <= now]
        conditions += _in_range(members)
        # Mark first (remaining is kept for the entries), then record, then empty the lots.
        updated = self.session.execute(
            update(PointLot)
            .where(*conditions)
            .values(job_run=run)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not updated:
            return None
        self._entries_for_marked_lots(
            run,
            "expire",
            -PointLot.remaining,
            case((PointLot.confirmed_at.is_(None), 0), else_=-PointLot.remaining),
            PointLot.expires_at,
            PointLot.remaining > 0,
        )
        self.session.execute(
            update(PointLot)
            .where(PointLot.job_run == run)
            .values(remaining=0, status=LotStatus.EXPIRED)
            .execution_options(synchronize_session=False)
        )
        self.session.expire_all()
        return run

    _EXPIRE_POSTGRES = """
        WITH expired AS (
            SELECT id, member_pk, remaining, confirmed_at, source_ref, expires_at
            FROM point_lots
            WHERE status = 'active' AND expires_at <= :now {member_filter}
            FOR UPDATE
        ), closed AS (
            UPDATE point_lots SET remaining = 0, status = 'expired', job_run = :run
            FROM expired WHERE point_lots.id = expired.id
            RETURNING point_lots.id
        ), recorded AS (
            INSERT INTO point_entries (member_pk, kind, points, available, debt_yen, lapsed,
                                       lot_id, source_ref, occurred_at, created_at)
            SELECT member_pk, 'expire', -remaining,
                   CASE WHEN confirmed_at IS NULL THEN 0 ELSE -remaining END, 0, 0,
                   id, source_ref, expires_at, :created
            FROM expired WHERE remaining > 0
            RETURNING 1
        )
        SELECT count(*) FROM closed
    """

    def _expire_sql_postgres(
        self, now: datetime, run: str, members: MemberRange | None
    ) -> str | None:
        """One statement on PostgreSQL: the CTEs read the lots once (with their remaining
        points before the update), empty them and write one expiry entry per lot."""
        sql = self._EXPIRE_POSTGRES.format(
            member_filter="AND member_pk BETWEEN :low AND :high" if members is not None else ""
        )
        params: dict[str, Any] = {"now": now, "run": run, "created": self.clock.now()}
        if members is not None:
            params["low"], params["high"] = members
        count = self.session.execute(text(sql), params).scalar_one()
        self.session.expire_all()
        return run if count else None

    def _bump_watermarks(self, run: str, column: Any) -> int:
        """Jobs' entries count as the member's latest entry (by the lot's own time)."""
        latest = (
            select(func.max(column))
            .where(PointLot.job_run == run, PointLot.member_pk == PointAccount.member_pk)
            .scalar_subquery()
        )
        self.session.execute(
            update(PointAccount)
            .where(
                PointAccount.member_pk.in_(
                    select(PointLot.member_pk).where(PointLot.job_run == run)
                )
            )
            .values(
                last_occurred_at=case(
                    (
                        or_(
                            PointAccount.last_occurred_at.is_(None),
                            PointAccount.last_occurred_at < latest,
                        ),
                        latest,
                    ),
                    else_=PointAccount.last_occurred_at,
                )
            )
            .execution_options(synchronize_session=False)
        )
        return int(self.session.scalar(select(func.count()).where(PointLot.job_run == run)) or 0)

    def _auto_apply_confirmed(self, op: _Op, run: str) -> None:
        lots = self.session.execute(
            select(PointLot.available_at, PointLot.remaining)
            .where(PointLot.job_run == run, PointLot.member_pk == op.member.id)
            .order_by(PointLot.available_at)
        ).all()
        for available_at, remaining in lots:
            self._auto_apply(
                _Op(op.kind, op.member, op.account, available_at, op.operation), int(remaining)
            )


def _in_range(members: MemberRange | None) -> list[Any]:
    return [] if members is None else [PointLot.member_pk.between(*members)]


def _group_by_date(rows: Iterable[tuple[date, int]]) -> list[DatedPoints]:
    grouped: dict[date, int] = {}
    for day, points in rows:
        grouped[day] = grouped.get(day, 0) + points
    return [DatedPoints(day, points) for day, points in sorted(grouped.items())]


def run_in_transaction(
    factory: sessionmaker[Session], fn: Callable[[Session], T], attempts: int = 3
) -> T:
    """Run `fn` in its own transaction; retry on a unique-key race or a deadlock (PostgreSQL),
    so that a concurrent duplicate becomes an idempotent replay or a clear domain error."""
    for attempt in range(attempts):
        try:
            with factory() as session, session.begin():
                return fn(session)
        except (IntegrityError, OperationalError) as exc:
            sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None)
            retryable = isinstance(exc, IntegrityError) or sqlstate in ("40P01", "40001")
            if not retryable or attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")
