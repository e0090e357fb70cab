"""The points terms (ポイント利用規約), article by article, against the ledger service."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from test_points_support import T0, check_invariants, key, ledger, make_member

from models.company import MemberStatus
from models.points import PointsError, PointsLedger, PointsPolicy
from models.points.rules import expires_at_for, last_usable_day
from models.points.tables import PointEntry, PointLot, PointOperation, Purchase
from models.timeutil import JST


@pytest.fixture
def setup(db, clock):
    clock.set(T0)
    member = make_member(db)
    return member, ledger(db, clock)


def kinds(db, member):
    return [
        e.kind
        for e in db.scalars(
            select(PointEntry).where(PointEntry.member_pk == member.id).order_by(PointEntry.id)
        )
    ]


def give(points_ledger: PointsLedger, member, points: int, ref: str = "g") -> None:
    points_ledger.grant(member, points, ref, "テスト付与", key=key())


# -- Art. 2: earning ---------------------------------------------------------------------------


def test_art2_3_earning_is_pending_then_available_after_the_period(db, clock, setup):
    member, pl = setup
    pl.earn(member, 120, "use-1", key=key())
    b = pl.balance(member)
    assert (b.available, b.pending) == (0, 120)
    assert b.pending_lots[0].date == date(2026, 2, 14)
    with pytest.raises(PointsError) as err:
        pl.redeem(member, "p1", 100, 100, key=key())
    assert err.value.code == "insufficient_points"
    clock.advance(days=30)
    assert pl.confirm_due() == 1
    b = pl.balance(member)
    assert (b.available, b.pending) == (120, 0)
    assert pl.confirm_due() == 0  # set-based and idempotent
    check_invariants(db, member, pl)


def test_art2_3_balance_counts_a_due_earning_even_before_the_job_runs(db, clock, setup):
    member, pl = setup
    pl.earn(member, 80, "use-1", key=key())
    clock.advance(days=31)
    assert pl.balance(member).available == 80
    # an operation settles the member first, so the points are usable at once
    pl.redeem(member, "p1", 80, 80, key=key())
    assert kinds(db, member) == ["earn", "confirm", "redeem"]
    check_invariants(db, member, pl)


def test_art2_3_cancelled_during_pending_period_grants_nothing(db, clock, setup):
    member, pl = setup
    pl.earn(member, 100, "use-1", key=key())
    clock.advance(days=10)
    pl.cancel_earning("use-1", key=key())
    clock.advance(days=30)
    pl.confirm_due()
    b = pl.balance(member)
    assert (b.available, b.pending) == (0, 0)
    check_invariants(db, member, pl)


def test_art2_3_price_change_during_pending_period_grant_follows_new_amount(db, clock, setup):
    member, pl = setup
    pl.earn(member, 100, "use-1", key=key())
    pl.amend_earning("use-1", 70, key=key())
    assert pl.balance(member).pending == 70
    clock.advance(days=30)
    pl.confirm_due()
    assert pl.balance(member).available == 70
    check_invariants(db, member, pl)


def test_art2_3_after_the_period_cancel_is_refused_use_revoke(db, clock, setup):
    member, pl = setup
    pl.earn(member, 100, "use-1", key=key())
    clock.advance(days=30)
    with pytest.raises(PointsError) as err:
        pl.cancel_earning("use-1", key=key())
    assert err.value.code == "already_confirmed"
    with pytest.raises(PointsError) as err:
        pl.amend_earning("use-1", 10, key=key())
    assert err.value.code == "already_confirmed"


def test_art2_1_operator_grant_is_available_at_once_with_reason(db, clock, setup):
    member, pl = setup
    receipt = pl.grant(member, 500, "campaign-1", "キャンペーン", key=key())
    assert receipt.points == 500
    assert pl.balance(member).available == 500
    lot = db.scalar(select(PointLot))
    assert lot.reason == "キャンペーン"
    with pytest.raises(PointsError) as err:
        pl.grant(member, 500, "campaign-2", "  ", key=key())
    assert err.value.code == "invalid_request"


def test_source_ref_is_used_once_per_kind(db, clock, setup):
    member, pl = setup
    pl.grant(member, 10, "ref-1", "理由", key=key())
    with pytest.raises(PointsError) as err:
        pl.grant(member, 10, "ref-1", "理由", key=key())
    assert err.value.code == "duplicate_reference"
    pl.earn(member, 10, "ref-1", key=key())  # another kind may use the same reference


# -- Art. 5: revoke and expiry -----------------------------------------------------------------


def test_art5_3_expires_end_of_month_three_years_later(db, clock, setup):
    member, pl = setup
    pl.grant(member, 100, "g1", "付与", key=key())  # 2026-01-15 JST
    assert pl.balance(member).expiring[0].date == date(2029, 1, 31)
    last_moment = datetime(2029, 1, 31, 23, 59, 59, tzinfo=JST)
    assert pl.balance(member, last_moment).available == 100
    assert pl.balance(member, last_moment + timedelta(seconds=1)).available == 0
    clock.set(datetime(2029, 1, 31, 23, 59, 59, tzinfo=JST))
    assert pl.expire_due() == 0
    clock.advance(seconds=1)
    assert pl.expire_due() == 1
    assert pl.expire_due() == 0
    assert kinds(db, member)[-1] == "expire"
    check_invariants(db, member, pl)


def test_art5_3_earning_expiry_counts_from_the_month_it_became_available(db, clock, setup):
    member, pl = setup
    clock.set(datetime(2026, 1, 20, 12, 0, tzinfo=JST))
    receipt = pl.earn(member, 100, "use-1", key=key())  # available 2026-02-19
    assert receipt.details["expires_on"] == "2029-02-28"


def test_art5_3_expired_points_cannot_be_used(db, clock, setup):
    member, pl = setup
    give(pl, member, 100)
    clock.set(datetime(2029, 2, 1, 0, 0, tzinfo=JST))
    with pytest.raises(PointsError) as err:
        pl.redeem(member, "p1", 100, 50, key=key())
    assert err.value.code == "insufficient_points"
    check_invariants(db, member, pl)


def test_art5_1_revoke_unspent_grant_cancels_points(db, clock, setup):
    member, pl = setup
    give(pl, member, 100, "g1")
    receipt = pl.revoke("g1", "返品", key=key())
    assert receipt.details == {"cancelled": 100, "debt_yen": 0, "lot_id": 1}
    b = pl.balance(member)
    assert (b.available, b.debt_yen) == (0, 0)
    with pytest.raises(PointsError) as err:
        pl.revoke("g1", "返品", key=key())
    assert err.value.code == "already_revoked"


def test_art5_2_art8_revoke_spent_points_becomes_debt_balance_never_negative(db, clock, setup):
    member, pl = setup
    give(pl, member, 100, "g1")
    give(pl, member, 50, "g2")
    pl.redeem(member, "p1", 1000, 120, key=key())  # g1 (soonest) 100 + g2 20... same expiry
    receipt = pl.revoke("g1", "不正利用", key=key())
    b = pl.balance(member)
    assert b.available == 30
    assert b.debt_yen == receipt.details["debt_yen"] == 100
    check_invariants(db, member, pl)


def test_art5_1_revoke_works_for_confirmed_earnings(db, clock, setup):
    member, pl = setup
    pl.earn(member, 100, "use-1", key=key())
    clock.advance(days=31)
    pl.redeem(member, "p1", 100, 40, key=key())
    receipt = pl.revoke("use-1", "返品", key=key())
    assert receipt.details["cancelled"] == 60
    assert pl.balance(member).debt_yen == 40
    check_invariants(db, member, pl)


# -- Art. 6: payment with points ---------------------------------------------------------------


def test_art6_1_redeem_consumes_soonest_expiry_first(db, clock, setup):
    member, pl = setup
    give(pl, member, 100, "old")  # expires 2029-01-31
    clock.set(datetime(2026, 3, 10, tzinfo=JST))
    give(pl, member, 100, "new")  # expires 2029-03-31
    pl.redeem(member, "p1", 150, 150, key=key())
    lots = {lot.source_ref: lot.remaining for lot in db.scalars(select(PointLot))}
    assert lots == {"old": 0, "new": 50}
    check_invariants(db, member, pl)


def test_art6_1_not_enough_points_is_a_clear_error_and_nothing_changes(db, clock, setup):
    member, pl = setup
    give(pl, member, 100)
    before = kinds(db, member)
    with pytest.raises(PointsError) as err:
        pl.redeem(member, "p1", 500, 101, key=key())
    assert err.value.code == "insufficient_points"
    assert err.value.details == {"available": 100}
    assert kinds(db, member) == before
    assert db.scalar(select(Purchase)) is None
    assert pl.balance(member).available == 100


def test_art6_1_points_cannot_exceed_the_price(db, clock, setup):
    member, pl = setup
    give(pl, member, 100)
    with pytest.raises(PointsError) as err:
        pl.redeem(member, "p1", 50, 60, key=key())
    assert err.value.code == "points_exceed_price"


def test_art6_1_use_all_points_mode(db, clock, setup):
    member, pl = setup
    give(pl, member, 300)
    receipt = pl.redeem(member, "p1", 1000, mode="all", key=key())
    assert receipt.details["points_used"] == 300
    assert receipt.details["other_yen"] == 700
    receipt = pl.grant(member, 50, "g2", "x", key=key())  # auto-applied (Art. 6.6)
    assert receipt.details["auto_applied"] == 50
    give(pl, member, 2000, "g3")
    receipt = pl.redeem(member, "p2", 500, mode="all", key=key())
    assert receipt.details["points_used"] == 500  # capped by the price


def test_art6_1_conversion_rate_is_configurable(db, clock):
    clock.set(T0)
    member = make_member(db)
    pl = ledger(db, clock, yen_per_point=2)
    give(pl, member, 100)
    receipt = pl.redeem(member, "p1", 150, mode="all", key=key())
    assert receipt.details == {"points_used": 75, "other_yen": 0, "price": 150, "mode": "all"}
    check_invariants(db, member, pl)


def test_art6_3_cancel_returns_points_to_their_lots(db, clock, setup):
    member, pl = setup
    give(pl, member, 100, "g1")
    pl.redeem(member, "p1", 500, 80, key=key())
    receipt = pl.cancel_redemption("p1", key=key())
    assert receipt.details["returned"] == 80
    assert db.scalar(select(PointLot)).remaining == 100
    with pytest.raises(PointsError) as err:
        pl.cancel_redemption("p1", key=key())
    assert err.value.code == "already_cancelled"
    check_invariants(db, member, pl)


def test_art6_3_points_whose_lot_expired_meanwhile_lapse(db, clock, setup):
    member, pl = setup
    give(pl, member, 100, "old")  # expires end of 2029-01
    clock.set(datetime(2027, 6, 1, tzinfo=JST))
    give(pl, member, 100, "new")
    clock.set(datetime(2029, 1, 20, tzinfo=JST))
    pl.redeem(member, "p1", 500, 150, key=key())  # old 100 + new 50
    clock.set(datetime(2029, 2, 10, tzinfo=JST))
    receipt = pl.cancel_redemption("p1", key=key())
    assert receipt.details["returned"] == 50
    assert receipt.details["lapsed"] == 100
    assert pl.balance(member).available == 100
    assert "lapse" in kinds(db, member)
    check_invariants(db, member, pl)


def test_art6_3_operator_may_record_cash_refund_instead(db, clock, setup):
    member, pl = setup
    give(pl, member, 100)
    pl.redeem(member, "p1", 500, 80, key=key())
    receipt = pl.cancel_redemption("p1", refund="cash", key=key())
    assert receipt.details["cash_yen"] == 80
    assert pl.balance(member).available == 20
    assert db.scalar(select(Purchase)).cash_refunded_yen == 80
    check_invariants(db, member, pl)


def test_art6_4_price_down_refunds_other_payment_first(db, clock, setup):
    member, pl = setup
    give(pl, member, 300)
    pl.redeem(member, "p1", 1000, 300, key=key())  # 300 points + 700 other
    receipt = pl.reprice("p1", 500, key=key())  # cut 500: all from the other payment
    assert receipt.details["other_refunded_yen"] == 500
    assert receipt.points == 0
    assert pl.balance(member).available == 0
    receipt = pl.reprice("p1", 100, key=key())  # cut 400: other 200, then 200 points
    assert receipt.details["other_refunded_yen"] == 200
    assert receipt.points == 200
    purchase = db.scalar(select(Purchase))
    assert (purchase.points_used, purchase.other_yen, purchase.price) == (100, 0, 100)
    check_invariants(db, member, pl)


def test_art6_4_price_down_after_paying_all_in_points_returns_points(db, clock, setup):
    member, pl = setup
    give(pl, member, 1000)
    pl.redeem(member, "p1", 800, 800, key=key())
    receipt = pl.reprice("p1", 600, key=key())
    assert receipt.points == 200
    assert pl.balance(member).available == 400
    check_invariants(db, member, pl)


def test_art6_5_price_up_is_paid_by_other_means(db, clock, setup):
    member, pl = setup
    give(pl, member, 1000)
    pl.redeem(member, "p1", 800, 800, key=key())
    receipt = pl.reprice("p1", 900, key=key())
    assert receipt.points == 0
    assert receipt.details["other_yen"] == 100
    assert pl.balance(member).available == 200
    check_invariants(db, member, pl)


def test_art6_5_price_up_in_use_all_mode_remaining_points_pay_first(db, clock, setup):
    member, pl = setup
    give(pl, member, 500, "g1")
    pl.redeem(member, "p1", 400, mode="all", key=key())  # 400 points, 100 left
    receipt = pl.reprice("p1", 600, key=key())  # +200: 100 points, 100 other
    assert receipt.points == -100
    purchase = db.scalar(select(Purchase))
    assert (purchase.points_used, purchase.other_yen) == (500, 100)
    assert pl.balance(member).available == 0
    check_invariants(db, member, pl)


def test_art6_6_points_granted_within_window_go_to_the_purchase(db, clock, setup):
    member, pl = setup
    give(pl, member, 100, "g1")
    pl.redeem(member, "p1", 1000, mode="all", key=key())  # 900 left to pay
    pl.earn(member, 300, "use-2", key=key())
    clock.advance(days=29)
    pl.earn(member, 300, "use-3", key=key())  # confirms after the window: not applied
    clock.advance(days=1)  # use-2 becomes available on day 30: inside the window
    pl.confirm_due()
    purchase = db.scalar(select(Purchase))
    assert (purchase.points_used, purchase.other_yen) == (400, 600)
    clock.advance(days=30)
    pl.confirm_due()
    assert pl.balance(member).available == 300
    check_invariants(db, member, pl)


def test_art6_6_returned_points_are_applied_too(db, clock, setup):
    member, pl = setup
    give(pl, member, 100, "g1")
    pl.redeem(member, "p0", 100, 50, key=key())
    pl.redeem(member, "p1", 1000, mode="all", key=key())  # 50 points + 950 other
    receipt = pl.cancel_redemption("p0", key=key())
    assert receipt.details["auto_applied"] == 50
    purchase = db.scalar(select(Purchase).where(Purchase.purchase_ref == "p1"))
    assert (purchase.points_used, purchase.other_yen) == (100, 900)
    check_invariants(db, member, pl)


def test_art6_6_not_applied_after_the_window_or_without_using_all(db, clock, setup):
    member, pl = setup
    give(pl, member, 100, "g1")
    pl.redeem(member, "p1", 1000, 50, key=key())  # did not use all
    give(pl, member, 10, "g2")
    assert pl.balance(member).available == 60
    pl.redeem(member, "p2", 1000, mode="all", key=key())
    clock.advance(days=31)
    give(pl, member, 10, "g3")
    assert pl.balance(member).available == 10
    check_invariants(db, member, pl)


# -- Art. 7: exchanges -------------------------------------------------------------------------


def test_art7_2_exchange_spends_points_and_out_of_stock_returns_them(db, clock, setup):
    member, pl = setup
    give(pl, member, 300)
    pl.exchange(member, "reward-1", 200, key=key())
    assert pl.balance(member).available == 100
    receipt = pl.cancel_exchange("reward-1", key=key())
    assert receipt.details["returned"] == 200
    assert pl.balance(member).available == 300
    with pytest.raises(PointsError) as err:
        pl.cancel_exchange("reward-1", key=key())
    assert err.value.code == "already_cancelled"
    with pytest.raises(PointsError) as err:
        pl.exchange(member, "reward-2", 301, key=key())
    assert err.value.code == "insufficient_points"
    check_invariants(db, member, pl)


def test_art8_2_revoke_after_exchange_is_a_debt(db, clock, setup):
    member, pl = setup
    give(pl, member, 300, "g1")
    pl.exchange(member, "reward-1", 200, key=key())
    pl.revoke("g1", "規約違反", key=key())
    assert pl.balance(member).debt_yen == 200
    pl.cancel_exchange("reward-1", key=key())  # the reward is taken back: debt cleared
    assert pl.balance(member).debt_yen == 0
    check_invariants(db, member, pl)


# -- Art. 4, 9: no transfer, no cash-out -------------------------------------------------------


def test_art4_art9_no_transfer_or_cash_out_operation_exists():
    public = {name for name in dir(PointsLedger) if not name.startswith("_")}
    assert not {n for n in public if "transfer" in n or "cash" in n or "withdraw" in n}


# -- Art. 11: loss of membership ---------------------------------------------------------------


def test_art11_forfeit_on_loss_of_membership_debts_remain(db, clock, setup):
    member, pl = setup
    give(pl, member, 300, "g1")
    give(pl, member, 100, "g2")
    pl.redeem(member, "p1", 1000, 150, key=key())
    pl.earn(member, 50, "use-1", key=key())
    pl.revoke("g1", "不正", key=key())  # 150 spent → debt 150
    receipt = pl.forfeit(member, key=key())
    assert receipt.details == {"forfeited": 100, "pending_cancelled": 50, "debt_yen": 150}
    b = pl.balance(member)
    assert (b.available, b.pending, b.debt_yen) == (0, 0, 150)
    for op in (
        lambda: pl.grant(member, 10, "g3", "x", key=key()),
        lambda: pl.earn(member, 10, "use-2", key=key()),
        lambda: pl.redeem(member, "p2", 10, 10, key=key()),
    ):
        with pytest.raises(PointsError) as err:
            op()
        assert err.value.code == "membership_lost"
    check_invariants(db, member, pl)


def test_art11_retired_member_gets_no_new_grants(db, clock, setup):
    member, pl = setup
    member.status = MemberStatus.RETIRED
    with pytest.raises(PointsError) as err:
        pl.grant(member, 10, "g1", "x", key=key())
    assert err.value.code == "membership_lost"


def test_art11_cancel_after_forfeit_lapses_points(db, clock, setup):
    member, pl = setup
    give(pl, member, 100, "g1")
    pl.redeem(member, "p1", 500, 100, key=key())
    pl.forfeit(member, key=key())
    receipt = pl.cancel_redemption("p1", key=key())
    assert receipt.details["lapsed"] == 100
    assert pl.balance(member).available == 0
    check_invariants(db, member, pl)


# -- idempotency and time ----------------------------------------------------------------------


def test_idempotency_replay_returns_first_result(db, clock, setup):
    member, pl = setup
    give(pl, member, 100)
    first = pl.redeem(member, "p1", 500, 60, key="same")
    again = pl.redeem(member, "p1", 500, 60, key="same")
    assert again.replayed and not first.replayed
    assert again.to_json() == first.to_json()
    assert pl.balance(member).available == 40
    assert db.query(PointOperation).filter_by(idempotency_key="same").count() == 1


def test_idempotency_same_key_different_params_is_a_conflict(db, clock, setup):
    member, pl = setup
    give(pl, member, 100)
    pl.redeem(member, "p1", 500, 60, key="same")
    with pytest.raises(PointsError) as err:
        pl.redeem(member, "p1", 500, 61, key="same")
    assert err.value.code == "idempotency_conflict"
    with pytest.raises(PointsError) as err:
        pl.exchange(member, "r1", 1, key="same")
    assert err.value.code == "idempotency_conflict"


def test_replay_still_answers_after_later_operations(db, clock, setup):
    member, pl = setup
    at = clock.now()
    first = pl.grant(member, 100, "g1", "x", key="k1", occurred_at=at)
    clock.advance(days=1)
    pl.grant(member, 100, "g2", "x", key="k2")
    assert pl.grant(member, 100, "g1", "x", key="k1", occurred_at=at).to_json() == first.to_json()


def test_occurred_at_before_latest_entry_is_refused(db, clock, setup):
    member, pl = setup
    give(pl, member, 100)
    with pytest.raises(PointsError) as err:
        pl.grant(member, 10, "g2", "x", key=key(), occurred_at=clock.now() - timedelta(seconds=1))
    assert err.value.code == "stale_occurred_at"
    pl.grant(member, 10, "g3", "x", key=key(), occurred_at=clock.now())  # same instant is fine


def test_occurred_at_more_than_five_minutes_ahead_is_refused_unless_allowed(db, clock):
    clock.set(T0)
    member = make_member(db)
    strict = PointsLedger(db, clock, PointsPolicy(allow_future_dates=False))
    strict.grant(member, 1, "g0", "x", key=key(), occurred_at=T0 + timedelta(minutes=5))
    with pytest.raises(PointsError) as err:
        strict.grant(member, 1, "g1", "x", key=key(), occurred_at=T0 + timedelta(minutes=6))
    assert err.value.code == "future_occurred_at"
    lenient = PointsLedger(db, clock, PointsPolicy(allow_future_dates=True))
    lenient.grant(member, 1, "g2", "x", key=key(), occurred_at=T0 + timedelta(days=400))


def test_unknown_member_and_reference(db, clock, setup):
    _, pl = setup
    with pytest.raises(PointsError) as err:
        pl.grant("NOPE", 1, "g1", "x", key=key())
    assert (err.value.code, err.value.http_status) == ("unknown_member", 404)
    for op in (
        lambda: pl.cancel_redemption("nope", key=key()),
        lambda: pl.reprice("nope", 1, key=key()),
        lambda: pl.revoke("nope", "x", key=key()),
        lambda: pl.cancel_exchange("nope", key=key()),
        lambda: pl.amend_earning("nope", 1, key=key()),
        lambda: pl.cancel_earning("nope", key=key()),
    ):
        with pytest.raises(PointsError) as err:
            op()
        assert err.value.code == "unknown_reference"


@pytest.mark.parametrize("bad", [0, -5, 1.5, "10", True, None])
def test_points_must_be_positive_integers(db, clock, setup, bad):
    member, pl = setup
    with pytest.raises(PointsError) as err:
        pl.grant(member, bad, "g1", "x", key=key())
    assert err.value.code == "invalid_request"


def test_database_constraint_keeps_remaining_within_amount(db, clock, setup):
    from sqlalchemy.exc import IntegrityError

    member, pl = setup
    give(pl, member, 100, "g1")
    lot = db.scalar(select(PointLot))
    lot.remaining = 101
    with pytest.raises(IntegrityError):
        db.flush()
    db.rollback()


def test_database_constraint_refuses_negative_debt(db, clock, setup):
    from sqlalchemy.exc import IntegrityError

    from models.points.tables import PointAccount

    member, pl = setup
    give(pl, member, 100, "g1")
    account = db.get(PointAccount, member.id)
    account.debt_yen = -1
    with pytest.raises(IntegrityError):
        db.flush()
    db.rollback()


# -- date edges --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("available_at", "last_day"),
    [
        (datetime(2026, 1, 15, 3, 0, tzinfo=UTC), date(2029, 1, 31)),
        # 2026-01-31T16:00Z is 2026-02-01 01:00 in Japan: a February lot
        (datetime(2026, 1, 31, 16, 0, tzinfo=UTC), date(2029, 2, 28)),
        (datetime(2026, 1, 31, 14, 59, 59, tzinfo=UTC), date(2029, 1, 31)),
        # a lot available on a leap day expires at the end of February three years later
        (datetime(2028, 2, 29, 12, 0, tzinfo=JST), date(2031, 2, 28)),
        # February of a leap year three years later ends on the 29th
        (datetime(2025, 2, 10, 12, 0, tzinfo=JST), date(2028, 2, 29)),
        (datetime(2026, 12, 31, 23, 59, tzinfo=JST), date(2029, 12, 31)),
    ],
)
def test_art5_3_expiry_date_edges(available_at, last_day):
    expires = expires_at_for(available_at)
    assert last_usable_day(expires) == last_day
    assert expires == datetime.combine(
        last_day + timedelta(days=1), datetime.min.time(), tzinfo=JST
    )


def test_art5_3_grant_at_jst_month_boundary_is_a_february_lot(db, clock, setup):
    member, pl = setup
    clock.set(datetime(2026, 1, 31, 16, 0, tzinfo=UTC))
    receipt = pl.grant(member, 10, "g1", "x", key=key())
    assert receipt.details["expires_on"] == "2029-02-28"


def test_art2_3_pending_period_crossing_leap_day(db, clock, setup):
    member, pl = setup
    clock.set(datetime(2028, 1, 30, 12, 0, tzinfo=JST))
    receipt = pl.earn(member, 10, "use-1", key=key())
    assert receipt.details["available_on"] == "2028-02-29"
    assert receipt.details["expires_on"] == "2031-02-28"


def test_settled_entries_count_as_latest_even_when_the_operation_is_refused(db, clock, setup):
    member, pl = setup
    pl.earn(member, 100, "use-1", key=key())  # available 2026-02-14 03:00Z
    clock.set(datetime(2026, 3, 1, tzinfo=UTC))
    with pytest.raises(PointsError):
        pl.redeem(member, "p1", 1000, 500, key=key())  # refused, but the earning is confirmed
    assert kinds(db, member) == ["earn", "confirm"]
    with pytest.raises(PointsError) as err:
        pl.grant(member, 1, "g1", "x", key=key(), occurred_at=datetime(2026, 2, 1, tzinfo=UTC))
    assert err.value.code == "stale_occurred_at"


def test_policy_reads_settings_with_defaults():
    from common.config import Settings

    settings = Settings(
        channel_secret="s",
        channel_access_token="t",
        allow_future_dates=True,
        extra={"BENESAPO_POINTS_PENDING_DAYS": "14", "BENESAPO_POINTS_YEN_PER_POINT": ""},
    )
    policy = PointsPolicy.from_settings(settings)
    assert (policy.pending_days, policy.auto_apply_days, policy.yen_per_point) == (14, 30, 1)
    assert policy.allow_future_dates


def test_history_is_newest_first_and_pages(db, clock, setup):
    member, pl = setup
    for i in range(5):
        pl.grant(member, i + 1, f"g{i}", "x", key=key())
    first = pl.history(member, limit=3)
    assert [h.points for h in first] == [5, 4, 3]
    rest = pl.history(member, limit=3, before_id=first[-1].id)
    assert [h.points for h in rest] == [2, 1]


def test_art6_4_with_a_rate_above_one_yen_whole_points_come_back(db, clock):
    clock.set(T0)
    member = make_member(db)
    pl = ledger(db, clock, yen_per_point=10)
    pl.grant(member, 100, "g1", "x", key=key())
    pl.redeem(member, "p1", 1000, 100, key=key())  # 1,000 yen all in points
    receipt = pl.reprice("p1", 985, key=key())  # 15 yen less: 2 points back, 5 yen to pay
    assert receipt.points == 2
    purchase = db.scalar(select(Purchase))
    assert (purchase.points_used, purchase.other_yen) == (98, 5)
    check_invariants(db, member, pl)
