"""Batch jobs isolate a bad row (issue 16.8): it is logged and counted, the rest go on."""

from __future__ import annotations

import logging
from contextlib import contextmanager
from datetime import date, timedelta

import pytest
from sqlalchemy import select, text, update
from test_points_support import T0, make_member

from adapters.runtime import build_runtime
from bot.points_jobs import confirm_pending, expire_lots
from common.config import Settings
from common.metrics import BATCH_ROWS_FAILED
from models.db import is_postgres
from models.points import PointsLedger
from models.points.tables import PointLot
from models.reminders import ReminderSend
from models.timeutil import FixedClock, jst_at
from tests.test_reminders import JUNE_10, make_members, run  # noqa: F401

MAX_BIGINT = 2**63 - 1


def failed_rows(job: str) -> float:
    return BATCH_ROWS_FAILED.labels(job=job)._value.get()


def test_a_member_with_2_63_points_does_not_stop_the_reminder_run(db, emulator, run, caplog):  # noqa: F811
    people = make_members(db, emulator, [500, 600, 700])
    poison = people[1]["member"]
    db.execute(
        update(PointLot)
        .where(PointLot.member_pk == poison.id)
        .values(amount=MAX_BIGINT, remaining=MAX_BIGINT)
    )
    # A second lot: the member's total no longer fits in 64 bits.
    ledger = PointsLedger(db, FixedClock(jst_at(date(2023, 6, 15), 14)))
    ledger.grant(poison, 5, "second", "x", key="second", occurred_at=jst_at(date(2023, 6, 15), 13))
    db.commit()
    before = failed_rows("expiry_reminders")
    with caplog.at_level(logging.ERROR, logger="benesapo.batch"):
        report = run().run(JUNE_10)
    assert (report.sent, report.bad_rows) == (2, 1)
    assert len(emulator.inbox(people[0]["user"])) == 1
    assert len(emulator.inbox(people[2]["user"])) == 1
    assert emulator.inbox(people[1]["user"]) == []
    claimed = set(db.scalars(select(ReminderSend.member_pk)))
    assert claimed == {people[0]["member"].id, people[2]["member"].id}
    assert failed_rows("expiry_reminders") == before + 1
    logged = [r.fields for r in caplog.records if r.name == "benesapo.batch"]
    assert [(e["event"], e["row"]) for e in logged] == [
        ("batch_row_failed", f"member_pk={poison.id}")
    ]


def test_a_bad_member_in_a_multicast_group_costs_only_itself(db, engine, emulator, run):  # noqa: F811
    people = make_members(db, emulator, [500, 500, 500, 500])  # one message, one group
    bad = people[3]["member"].id
    with poison(engine, "reminder_sends", f"NEW.member_pk = {bad}"):
        report = run().run(JUNE_10)
    assert (report.sent, report.bad_rows) == (3, 1)
    # Halves: the first two in one multicast, then the third alone; the fourth is refused.
    assert report.api_calls == 2
    assert [len(emulator.inbox(p["user"])) for p in people] == [1, 1, 1, 0]


# -- the points jobs: a row the set-based statement cannot write ------------------------------


@contextmanager
def poison(engine, table: str, condition: str):
    """A database trigger refuses every row of `table` matching `condition` (on NEW): a row
    that can never be processed, whatever the job does."""
    postgres = is_postgres(engine)
    with engine.begin() as conn:
        if postgres:
            conn.execute(
                text(
                    "CREATE FUNCTION poison_rows() RETURNS trigger AS $$ BEGIN"
                    f" IF {condition} THEN RAISE EXCEPTION 'poison row'; END IF;"
                    " RETURN NEW; END $$ LANGUAGE plpgsql"
                )
            )
            conn.execute(
                text(
                    f"CREATE TRIGGER poison_rows BEFORE INSERT ON {table}"
                    " FOR EACH ROW EXECUTE FUNCTION poison_rows()"
                )
            )
        else:
            conn.execute(
                text(
                    f"CREATE TRIGGER poison_rows BEFORE INSERT ON {table}"
                    f" WHEN {condition} BEGIN SELECT RAISE(ABORT, 'poison row'); END"
                )
            )
    try:
        yield
    finally:
        with engine.begin() as conn:
            if postgres:
                conn.execute(text(f"DROP TRIGGER IF EXISTS poison_rows ON {table}"))
                conn.execute(text("DROP FUNCTION IF EXISTS poison_rows()"))
            else:
                conn.execute(text("DROP TRIGGER IF EXISTS poison_rows"))


def poison_entries(engine):
    return poison(engine, "point_entries", "NEW.source_ref = 'poison'")


@pytest.fixture
def jobs_runtime(engine):
    settings = Settings(channel_secret="s", channel_access_token="t", database_url=str(engine.url))
    return build_runtime(settings, engine=engine, clock=FixedClock(T0))


def _three_members(db, *, grant: bool = False) -> list[int]:
    ledger = PointsLedger(db, FixedClock(T0))
    members = []
    for n, ref in enumerate(["ok-1", "poison", "ok-2"]):
        member = make_member(db, f"M30{n:02d}")
        if grant:
            ledger.grant(member, 100, ref, "x", key=f"k-{ref}")
        else:
            ledger.earn(member, 100, ref, key=f"k-{ref}")
        members.append(member.id)
    db.commit()
    return members


def test_confirm_job_confirms_everyone_but_the_bad_row(db, engine, jobs_runtime, caplog):
    members = _three_members(db)
    before = failed_rows("confirm_pending_points")
    with poison_entries(engine), caplog.at_level(logging.ERROR, logger="benesapo.batch"):
        counts = confirm_pending(jobs_runtime, T0 + timedelta(days=31))
    assert counts == {"confirmed": 2, "bad_rows": 1}
    assert failed_rows("confirm_pending_points") == before + 1
    confirmed = dict(db.execute(select(PointLot.source_ref, PointLot.confirmed_at)).all())
    assert confirmed["ok-1"] and confirmed["ok-2"] and confirmed["poison"] is None
    logged = [r.fields for r in caplog.records if r.name == "benesapo.batch"]
    assert [e["row"] for e in logged] == [f"member_pk={members[1]}"]


def test_expire_job_expires_everyone_but_the_bad_row(db, engine, jobs_runtime):
    _three_members(db, grant=True)
    before = failed_rows("expire_point_lots")
    with poison_entries(engine):
        counts = expire_lots(jobs_runtime, T0 + timedelta(days=5 * 365))
    assert counts == {"expired": 2, "bad_rows": 1}
    assert failed_rows("expire_point_lots") == before + 1
    status = dict(db.execute(select(PointLot.source_ref, PointLot.status)).all())
    assert status == {"ok-1": "expired", "poison": "active", "ok-2": "expired"}


def test_without_a_bad_row_the_jobs_run_set_based(db, jobs_runtime):
    _three_members(db)
    counts = confirm_pending(jobs_runtime, T0 + timedelta(days=31))
    assert counts == {"confirmed": 3, "bad_rows": 0}
