"""`benesapo points check`: every ledger invariant on the database, per member and in total;
a clean ledger passes, a row broken by SQL is reported (exit 1, the metric counts it), and the
clock runs it nightly."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner
from sqlalchemy import event as sa_event
from sqlalchemy import text
from test_points_support import T0, key, ledger, make_member

from adapters.line_client import LineClient
from bot.commands.points import points
from bot.delivery import Deliverer
from bot.points_jobs import points_check
from bot.scheduler import standard_jobs
from common.metrics import REGISTRY
from models.points.check import INVARIANTS, TOTALS_INVARIANT, check_ledger, full_join_supported
from models.timeutil import FixedClock

BOTH_FORMS = pytest.mark.parametrize("full_join", [True, False], ids=["full_join", "union"])


@pytest.fixture
def busy(db):
    """Three members who earned, were granted, paid, exchanged, had a grant revoked after
    spending it (a debt) and got points back: every table has rows."""
    clock = FixedClock(T0)
    pl = ledger(db, clock)
    for member_id in ("C0001", "C0002", "C0003"):
        make_member(db, member_id)
        pl.grant(member_id, 500, f"{member_id}-g", "キャンペーン", key=key())
        pl.earn(member_id, 80, f"{member_id}-e", key=key())
    pl.redeem("C0001", "p-1", 300, 200, key=key())
    pl.redeem("C0002", "p-2", 900, mode="all", key=key())
    pl.exchange("C0003", "x-1", 100, key=key())
    pl.revoke("C0001-g", "不正利用", key=key())
    pl.cancel_exchange("x-1", key=key())
    pl.exchange("C0003", "x-2", 50, key=key())
    clock.advance(days=31)
    pl.confirm_due()
    db.commit()
    return clock


def _pk(db, member_id: str) -> int:
    return db.scalar(text("SELECT id FROM members WHERE member_id = :m"), {"m": member_id})


def _breaks(invariant: str) -> float:
    value = REGISTRY.get_sample_value(
        "benesapo_points_check_breaks_total", {"invariant": invariant}
    )
    return value or 0.0


def test_the_database_offers_full_join_here_or_the_union_form_is_used(db):
    version = db.execute(text("SELECT sqlite_version()")).scalar() if _sqlite(db) else None
    if version is not None:
        expected = tuple(int(p) for p in version.split(".")) >= (3, 39, 0)
        assert full_join_supported(db) is expected
    else:
        assert full_join_supported(db) is True


def _sqlite(db) -> bool:
    return db.get_bind().dialect.name == "sqlite"


@BOTH_FORMS
def test_a_clean_ledger_passes_with_totals_that_agree(db, busy, full_join):
    report = check_ledger(db, full_join=full_join)
    assert report.ok, report
    assert report.members == 3
    assert report.broken == [] and report.broken_members == 0
    pl = ledger(db, busy)
    balances = [pl.balance(m) for m in ("C0001", "C0002", "C0003")]
    held = sum(b.available + b.pending for b in balances)
    assert report.totals["points_held"] == {"entries": held, "tables": held}
    assert held > 0
    assert report.totals["debt_yen"] == {"entries": 200, "tables": 200}
    assert set(report.breaks) == {*INVARIANTS, TOTALS_INVARIANT}


def test_an_empty_ledger_passes(db):
    report = check_ledger(db)
    assert report.ok and report.members == 0


# (SQL that breaks one member's rows, the invariants it must break)
BREAKS = {
    "an entry with no lot behind it": (
        "INSERT INTO point_entries (member_pk, kind, points, available, debt_yen, lapsed, "
        "occurred_at, created_at) VALUES (:pk, 'grant', 7, 7, 0, 0, :t, :t)",
        {"entries_match_lots", "entries_match_available_lots"},
    ),
    "a lot that lost points silently": (
        "UPDATE point_lots SET remaining = remaining - 1 WHERE member_pk = :pk "
        "AND status = 'active' AND remaining > 0",
        {"entries_match_lots", "entries_match_available_lots"},
    ),
    "a confirmed lot marked pending again": (
        "UPDATE point_lots SET confirmed_at = NULL WHERE member_pk = :pk AND kind = 'grant'",
        {"entries_match_available_lots"},
    ),
    "an allocation that spends more than its lot gave": (
        "UPDATE point_allocations SET points = points + 10000 WHERE lot_id IN "
        "(SELECT id FROM point_lots WHERE member_pk = :pk)",
        {"allocations_within_lots", "allocations_match_purchases"},
    ),
    "a purchase that no longer adds up": (
        "UPDATE point_purchases SET other_yen = other_yen + 1 WHERE member_pk = :pk",
        {"purchases_add_up"},
    ),
    "an open exchange whose points were handed back": (
        "UPDATE point_allocations SET returned = points WHERE exchange_id IN "
        "(SELECT id FROM point_exchanges WHERE member_pk = :pk AND status = 'open')",
        {"allocations_match_exchanges"},
    ),
    "an account debt that no debt explains": (
        "UPDATE point_accounts SET debt_yen = debt_yen + 10 WHERE member_pk = :pk",
        {"account_matches_debts"},
    ),
    "a debt paid down without an entry": (
        "UPDATE point_debts SET remaining_yen = remaining_yen - 1 WHERE member_pk = :pk",
        {"entries_match_debts", "account_matches_debts"},
    ),
}
MEMBER_OF = {
    "a purchase that no longer adds up": "C0002",
    "a confirmed lot marked pending again": "C0003",
    "an open exchange whose points were handed back": "C0003",
}


@BOTH_FORMS
@pytest.mark.parametrize("what", sorted(BREAKS))
def test_a_row_broken_by_sql_is_reported_against_its_member(db, busy, what, full_join):
    sql, invariants = BREAKS[what]
    member_id = MEMBER_OF.get(what, "C0001")
    changed = db.execute(text(sql), {"pk": _pk(db, member_id), "t": busy.now()}).rowcount
    db.commit()
    assert changed >= 1, "the fixture has no row to break"
    report = check_ledger(db, full_join=full_join)
    assert not report.ok
    assert [b.member_id for b in report.broken] == [member_id]
    assert set(report.broken[0].invariants) == invariants
    assert {name for name, count in report.breaks.items() if count} - {TOTALS_INVARIANT} == (
        invariants
    )
    assert report.broken_members == 1


@BOTH_FORMS
def test_the_listing_reads_only_the_broken_members_it_lists(db, busy, full_join):
    """The first statement counts and gathers the broken members' keys; the second computes
    the figures of the first `limit` of them only, the same figures as for all members."""
    for member_id in ("C0001", "C0003"):
        db.execute(*_break_lots(db, member_id))
    db.commit()
    statements: list[str] = []

    def remember(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    bind = db.get_bind()
    sa_event.listen(bind, "before_cursor_execute", remember)
    try:
        report = check_ledger(db, full_join=full_join, limit=1)
    finally:
        sa_event.remove(bind, "before_cursor_execute", remember)
    selects = [s for s in statements if s.startswith("WITH")]
    assert len(selects) == 2
    assert "member_pk IN (" not in selects[0]
    restricted = re.findall(r"member_pk IN \(([^)]*)\)", selects[1])
    assert restricted and set(restricted) == {str(_pk(db, "C0001"))}
    assert report.breaks["entries_match_lots"] == 2
    assert [b.member_id for b in report.broken] == ["C0001"]
    everyone = check_ledger(db, full_join=full_join, limit=20)
    assert [b.member_id for b in everyone.broken] == ["C0001", "C0003"]
    assert report.broken[0] == everyone.broken[0]


def _break_lots(db, member_id: str) -> tuple:
    return (
        text(
            "UPDATE point_lots SET remaining = remaining - 1 WHERE member_pk = :pk "
            "AND status = 'active' AND remaining > 0"
        ),
        {"pk": _pk(db, member_id)},
    )


def _cli(cli_runtime, *args: str):
    return CliRunner().invoke(points, ["check", *args], obj=cli_runtime)


def test_the_command_passes_a_clean_ledger(db, busy, cli_runtime):
    result = _cli(cli_runtime)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("points ledger ok: 3 member(s)")
    data = json.loads(_cli(cli_runtime, "--json").output)
    assert data["ok"] is True and data["members"] == 3 and data["broken"] == []


def test_a_break_exits_1_lists_the_members_up_to_the_limit_and_counts_the_metric(
    db, busy, cli_runtime
):
    for member_id in ("C0002", "C0003"):
        db.execute(
            text(BREAKS["an account debt that no debt explains"][0]), {"pk": _pk(db, member_id)}
        )
    db.commit()
    before = _breaks("account_matches_debts")
    result = _cli(cli_runtime, "--limit", "1")
    assert result.exit_code == 1
    assert "BROKEN (2 member(s))" in result.output
    assert "member C0002" in result.output and "member C0003" not in result.output
    assert "… and 1 more (--limit)" in result.output
    assert _breaks("account_matches_debts") == before + 2
    data = json.loads(_cli(cli_runtime, "--json").output)
    assert data["ok"] is False
    assert [b["member_id"] for b in data["broken"]] == ["C0002", "C0003"]
    assert data["breaks"]["account_matches_debts"] == 2
    assert data["totals"]["account_debt_yen"] == {"entries": 220, "tables": 200}
    assert _breaks("account_matches_debts") == before + 4


def test_every_invariant_is_exported_before_any_break(db):
    for name in [*INVARIANTS, TOTALS_INVARIANT]:
        assert (
            REGISTRY.get_sample_value("benesapo_points_check_breaks_total", {"invariant": name})
            is not None
        )


def test_the_clock_runs_the_check_nightly_at_0230_jst_and_logs_its_counts(
    db, busy, cli_runtime, caplog
):
    runtime = cli_runtime.get()
    jobs = {
        job.id: job
        for job in standard_jobs(runtime, Deliverer(runtime, LineClient(runtime.settings)))
    }
    job = jobs["points_check"]
    assert "hour='2'" in str(job.trigger) and "minute='30'" in str(job.trigger)
    assert str(job.trigger.timezone) == "Asia/Tokyo"
    assert job.run() == {"members": 3, "broken": 0}
    db.execute(text(BREAKS["a debt paid down without an entry"][0]), {"pk": _pk(db, "C0001")})
    db.commit()
    assert points_check(runtime) == {
        "members": 3,
        "broken": 1,
        "entries_match_debts": 1,
        "account_matches_debts": 1,
        "totals_match": 1,
    }
    logged = [r for r in caplog.records if r.getMessage() == "points_check_broken"]
    assert logged and logged[-1].levelname == "ERROR"
    assert logged[-1].fields["member_pks"] == str(_pk(db, "C0001"))
