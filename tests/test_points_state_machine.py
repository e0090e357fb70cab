"""Random operation sequences against a simple in-memory model of the points terms.

After every step: the ledger's balance (available, pending, debt) equals the model's, and every
invariant holds in the tables (lots within bounds, entries reconcile with lots, debts agree,
purchases add up). Kept small enough to run in seconds on SQLite.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from conftest import truncate_all
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import select
from test_points_support import T0, check_invariants, ledger, make_member

from models.points import PointsError
from models.points.rules import expires_at_for
from models.points.tables import PointLot
from models.timeutil import FixedClock

PENDING = timedelta(days=30)
WINDOW = timedelta(days=30)


@dataclass
class MLot:
    ref: str
    amount: int
    remaining: int
    available_at: datetime
    expires_at: datetime
    status: str = "active"
    confirmed: bool = False


@dataclass
class MTarget:
    ref: str
    allocs: list[list] = field(default_factory=list)  # [lot, points, returned]
    status: str = "open"
    price: int = 0
    other: int = 0
    mode: str = "points"
    until: datetime | None = None
    at: datetime | None = None

    @property
    def used(self) -> int:
        return sum(p - r for _, p, r in self.allocs)


class Model:
    """The terms, as plainly as possible (rate 1 point = 1 yen)."""

    def __init__(self) -> None:
        self.lots: list[MLot] = []
        self.purchases: list[MTarget] = []
        self.exchanges: dict[str, MTarget] = {}
        self.debts: dict[str, int] = {}
        self.forfeited = False

    def usable(self, at: datetime) -> list[MLot]:
        lots = [
            lot
            for lot in self.lots
            if lot.status == "active"
            and lot.remaining > 0
            and lot.confirmed
            and lot.available_at <= at < lot.expires_at
        ]
        return sorted(lots, key=lambda lot: lot.expires_at)  # stable: creation order

    def available(self, at: datetime) -> int:
        return sum(
            lot.remaining
            for lot in self.lots
            if lot.status == "active" and lot.available_at <= at < lot.expires_at
        )

    def pending(self, at: datetime) -> int:
        return sum(
            lot.remaining
            for lot in self.lots
            if lot.status == "active" and lot.available_at > at and lot.expires_at > at
        )

    def consume(self, n: int, at: datetime, target: MTarget) -> None:
        for lot in self.usable(at):
            take = min(n, lot.remaining)
            lot.remaining -= take
            target.allocs.append([lot, take, 0])
            n -= take
            if n == 0:
                return
        raise AssertionError("model consumed more than available")

    def give_back(self, target: MTarget, n: int, at: datetime, cash: bool = False) -> int:
        returned = 0
        for alloc in reversed(target.allocs):
            if n == 0:
                break
            lot, points, done = alloc
            take = min(n, points - done)
            alloc[2] += take
            n -= take
            if lot.status == "revoked":
                self.debts[lot.ref] = max(0, self.debts.get(lot.ref, 0) - take)
            elif cash:
                pass
            elif lot.status == "active" and lot.expires_at > at:
                lot.remaining += take
                returned += take
        return returned

    def auto_apply(self, at: datetime, new: int) -> None:
        applied = 0
        for purchase in self.purchases:
            if purchase.status != "open" or purchase.until is None or purchase.until < at:
                continue
            if purchase.other < 1:
                continue
            use = min(new - applied, self.available(at), purchase.other)
            if use <= 0:
                continue
            self.consume(use, at, purchase)
            purchase.other -= use
            applied += use

    def confirm(self, now: datetime) -> None:
        newly = [
            lot
            for lot in self.lots
            if lot.status == "active" and not lot.confirmed and lot.available_at <= now
        ]
        for lot in newly:
            lot.confirmed = True
        return newly

    def expire(self, now: datetime) -> None:
        for lot in self.lots:
            if lot.status == "active" and lot.expires_at <= now:
                lot.status = "expired"
                lot.remaining = 0

    def settle(self, now: datetime) -> None:
        newly = self.confirm(now)
        self.expire(now)
        for lot in sorted(newly, key=lambda lot: lot.available_at):
            self.auto_apply(lot.available_at, lot.remaining)


refs = st.integers(min_value=0, max_value=5)


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self, engine, session_factory) -> None:
        super().__init__()
        truncate_all(engine)
        self.db = session_factory()
        self.clock = FixedClock(T0)
        self.member = make_member(self.db)
        self.ledger = ledger(self.db, self.clock)
        self.model = Model()
        self.n = 0

    def teardown(self) -> None:
        self.db.rollback()
        self.db.close()

    def key(self) -> str:
        self.n += 1
        return f"sm-{self.n}"

    def expect(self, code: str | None, call) -> object:
        """Run the real operation; it must fail with `code` exactly when the model says so."""
        try:
            result = call()
        except PointsError as err:
            assert err.code == code, f"expected {code}, got {err.code}: {err.message}"
            return None
        assert code is None, f"expected {code}, the operation succeeded"
        return result

    @property
    def now(self) -> datetime:
        return self.clock.now()

    # -- time and jobs ---------------------------------------------------------------------
    @rule(days=st.sampled_from([0, 1, 10, 29, 30, 31, 200, 400, 1100]))
    def advance(self, days: int) -> None:
        self.clock.advance(days=days, hours=1)

    @rule()
    def confirm_job(self) -> None:
        self.ledger.confirm_due()
        newly = self.model.confirm(self.now)
        for lot in sorted(newly, key=lambda lot: lot.available_at):
            self.model.auto_apply(lot.available_at, lot.remaining)

    @rule()
    def expire_job(self) -> None:
        self.ledger.expire_due()
        self.model.expire(self.now)

    # -- grants ----------------------------------------------------------------------------
    def _new_lot(self, points: int, available_at: datetime, ref: str) -> MLot:
        lot = MLot(ref, points, points, available_at, expires_at_for(available_at))
        self.model.lots.append(lot)
        return lot

    @rule(points=st.integers(1, 500))
    def grant(self, points: int) -> None:
        ref = f"g{len(self.model.lots)}"
        self.model.settle(self.now)
        code = "membership_lost" if self.model.forfeited else None
        if self.expect(
            code, lambda: self.ledger.grant(self.member, points, ref, "r", key=self.key())
        ):
            lot = self._new_lot(points, self.now, ref)
            lot.confirmed = True
            self.model.auto_apply(self.now, points)

    @rule(points=st.integers(1, 500))
    def earn(self, points: int) -> None:
        ref = f"e{len(self.model.lots)}"
        self.model.settle(self.now)
        code = "membership_lost" if self.model.forfeited else None
        if self.expect(code, lambda: self.ledger.earn(self.member, points, ref, key=self.key())):
            self._new_lot(points, self.now + PENDING, ref)

    def _earning(self, i: int) -> MLot | None:
        earnings = [lot for lot in self.model.lots if lot.ref.startswith("e")]
        return earnings[i % len(earnings)] if earnings else None

    def _pending_code(self, lot: MLot) -> str | None:
        if lot.status == "cancelled":
            return "already_cancelled"
        if lot.status != "active" or lot.confirmed:
            return "already_confirmed"
        return None

    @rule(i=refs, points=st.integers(1, 500))
    def amend_earning(self, i: int, points: int) -> None:
        lot = self._earning(i)
        if lot is None:
            return
        self.model.settle(self.now)
        code = self._pending_code(lot)
        if self.expect(code, lambda: self.ledger.amend_earning(lot.ref, points, key=self.key())):
            lot.amount = lot.remaining = points

    @rule(i=refs)
    def cancel_earning(self, i: int) -> None:
        lot = self._earning(i)
        if lot is None:
            return
        self.model.settle(self.now)
        code = self._pending_code(lot)
        if self.expect(code, lambda: self.ledger.cancel_earning(lot.ref, key=self.key())):
            lot.status, lot.remaining = "cancelled", 0

    @rule(i=refs)
    def revoke(self, i: int) -> None:
        if not self.model.lots:
            return
        lot = self.model.lots[i % len(self.model.lots)]
        self.model.settle(self.now)
        code = {"revoked": "already_revoked", "cancelled": "already_cancelled"}.get(lot.status)
        if self.expect(code, lambda: self.ledger.revoke(lot.ref, "r", key=self.key())):
            spent = sum(
                p - r
                for target in [*self.model.purchases, *self.model.exchanges.values()]
                for (alloc_lot, p, r) in target.allocs
                if alloc_lot is lot
            )
            lot.status, lot.remaining = "revoked", 0
            if spent:
                self.model.debts[lot.ref] = spent

    @rule(roll=st.integers(0, 9))
    def forfeit(self, roll: int) -> None:
        if roll:  # rare: after a forfeit most operations are refused
            return
        self.model.settle(self.now)
        code = "already_forfeited" if self.model.forfeited else None
        if self.expect(code, lambda: self.ledger.forfeit(self.member, key=self.key())):
            self.model.forfeited = True
            for lot in self.model.lots:
                if lot.status == "active":
                    lot.status = "forfeited" if lot.confirmed else "cancelled"
                    lot.remaining = 0
            for purchase in self.model.purchases:
                purchase.until = None

    # -- use -------------------------------------------------------------------------------
    @rule(
        price=st.integers(1, 1000),
        points=st.one_of(st.none(), st.integers(1, 600)),
    )
    def redeem(self, price: int, points: int | None) -> None:
        ref = f"p{len(self.model.purchases)}"
        self.model.settle(self.now)
        available = self.model.available(self.now)
        mode = "all" if points is None else "points"
        use = min(available, price) if points is None else points
        if self.model.forfeited:
            code = "membership_lost"
        elif use > price:
            code = "points_exceed_price"
        elif use <= 0 or use > available:
            code = "insufficient_points"
        else:
            code = None
        receipt = self.expect(
            code,
            lambda: self.ledger.redeem(self.member, ref, price, points, mode=mode, key=self.key()),
        )
        if receipt:
            purchase = MTarget(ref, price=price, other=price - use, mode=mode, at=self.now)
            if use == available:
                purchase.until = self.now + WINDOW
            self.model.consume(use, self.now, purchase)
            self.model.purchases.append(purchase)

    def _purchase(self, i: int) -> MTarget | None:
        return self.model.purchases[i % len(self.model.purchases)] if self.model.purchases else None

    @rule(i=refs, cash=st.booleans())
    def cancel_redemption(self, i: int, cash: bool) -> None:
        purchase = self._purchase(i)
        if purchase is None:
            return
        self.model.settle(self.now)
        code = "already_cancelled" if purchase.status != "open" else None
        refund = "cash" if cash else "points"
        if self.expect(
            code, lambda: self.ledger.cancel_redemption(purchase.ref, refund=refund, key=self.key())
        ):
            returned = self.model.give_back(purchase, purchase.used, self.now, cash=cash)
            purchase.status, purchase.other, purchase.until = "cancelled", 0, None
            self.model.auto_apply(self.now, returned)

    @rule(i=refs, price=st.integers(0, 1200))
    def reprice(self, i: int, price: int) -> None:
        purchase = self._purchase(i)
        if purchase is None:
            return
        self.model.settle(self.now)
        code = "already_cancelled" if purchase.status != "open" else None
        if not self.expect(code, lambda: self.ledger.reprice(purchase.ref, price, key=self.key())):
            return
        old = purchase.price
        purchase.price = price
        if price < old:
            cut = old - price
            other_back = min(cut, purchase.other)
            purchase.other -= other_back
            returned = self.model.give_back(purchase, cut - other_back, self.now)
            self.model.auto_apply(self.now, returned)
        elif price > old:
            rise = price - old
            use = 0
            if purchase.mode == "all":
                use = min(self.model.available(self.now), rise)
                if use:
                    self.model.consume(use, self.now, purchase)
            purchase.other += rise - use

    @rule(points=st.integers(1, 400))
    def exchange(self, points: int) -> None:
        ref = f"x{len(self.model.exchanges)}"
        self.model.settle(self.now)
        if self.model.forfeited:
            code = "membership_lost"
        elif points > self.model.available(self.now):
            code = "insufficient_points"
        else:
            code = None
        if self.expect(
            code, lambda: self.ledger.exchange(self.member, ref, points, key=self.key())
        ):
            target = MTarget(ref)
            self.model.consume(points, self.now, target)
            self.model.exchanges[ref] = target

    @rule(i=refs)
    def cancel_exchange(self, i: int) -> None:
        if not self.model.exchanges:
            return
        target = list(self.model.exchanges.values())[i % len(self.model.exchanges)]
        self.model.settle(self.now)
        code = "already_cancelled" if target.status != "open" else None
        if self.expect(code, lambda: self.ledger.cancel_exchange(target.ref, key=self.key())):
            returned = self.model.give_back(target, target.used, self.now)
            target.status = "cancelled"
            self.model.auto_apply(self.now, returned)

    # -- after every step ------------------------------------------------------------------
    @invariant()
    def agrees_with_model(self) -> None:
        balance = self.ledger.balance(self.member)
        assert balance.available == self.model.available(self.now)
        assert balance.pending == self.model.pending(self.now)
        assert balance.debt_yen == sum(self.model.debts.values())
        lots = {
            lot.source_ref: (lot.status, lot.remaining)
            for lot in self.db.scalars(select(PointLot).execution_options(populate_existing=True))
        }
        assert lots == {lot.ref: (lot.status, lot.remaining) for lot in self.model.lots}
        for purchase in self.model.purchases:
            if purchase.status == "open":
                assert purchase.used + purchase.other == purchase.price

    @invariant()
    def tables_hold_every_invariant(self) -> None:
        check_invariants(self.db, self.member, self.ledger)


def test_ledger_matches_model_under_random_operations(engine, session_factory):
    run_state_machine_as_test(
        lambda: LedgerMachine(engine, session_factory),
        settings=settings(
            max_examples=20,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
    truncate_all(engine)
