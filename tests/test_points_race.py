"""Concurrency: two redemptions racing for the same points, with real threads.

On PostgreSQL the member's account row is locked (`SELECT … FOR UPDATE`); SQLite serialises
writers with `BEGIN IMMEDIATE`. Either way exactly one redemption succeeds.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select
from test_points_support import T0, make_member

from models.points import PointsError, PointsLedger, PointsPolicy, run_in_transaction
from models.points.tables import PointEntry, Purchase
from models.timeutil import FixedClock


def _seed(session_factory, clock):
    with session_factory() as db, db.begin():
        member = make_member(db, "RACE0001")
        PointsLedger(db, clock).grant(member, 100, "g1", "付与", key="race-grant")
        return member.member_id


def _race(session_factory, clock, calls):
    barrier = threading.Barrier(len(calls))
    outcomes: list[object] = [None] * len(calls)

    def worker(i: int) -> None:
        def op(session):
            barrier.wait(timeout=10)
            return calls[i](PointsLedger(session, clock, PointsPolicy()))

        try:
            outcomes[i] = run_in_transaction(session_factory, op)
        except PointsError as err:
            outcomes[i] = err

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return outcomes


@pytest.mark.postgres_only
def test_two_redemptions_for_the_same_points_exactly_one_succeeds(db, session_factory):
    clock = FixedClock(T0)
    member_id = _seed(session_factory, clock)
    outcomes = _race(
        session_factory,
        clock,
        [
            lambda pl: pl.redeem(member_id, "buy-a", 100, 80, key="race-a"),
            lambda pl: pl.redeem(member_id, "buy-b", 100, 80, key="race-b"),
        ],
    )
    errors = [o for o in outcomes if isinstance(o, PointsError)]
    assert len(errors) == 1 and errors[0].code == "insufficient_points"
    assert db.scalar(select(func.count()).select_from(Purchase)) == 1
    assert db.scalar(select(func.sum(PointEntry.points))) == 20
    balance = PointsLedger(db, clock).balance(member_id)
    assert balance.available == 20


@pytest.mark.postgres_only
def test_same_idempotency_key_racing_applies_once(db, session_factory):
    clock = FixedClock(T0)
    member_id = _seed(session_factory, clock)
    outcomes = _race(
        session_factory,
        clock,
        [lambda pl: pl.redeem(member_id, "buy-a", 100, 30, key="race-same")] * 2,
    )
    assert not any(isinstance(o, PointsError) for o in outcomes)
    assert sorted(o.replayed for o in outcomes) == [False, True]
    assert PointsLedger(db, clock).balance(member_id).available == 70
