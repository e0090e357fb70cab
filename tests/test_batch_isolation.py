"""Batch jobs isolate a bad row (issue 16.8): it is logged and counted, the rest go on."""

from __future__ import annotations

import logging
from datetime import date

from sqlalchemy import select, update

from bot.metrics import BATCH_ROWS_FAILED
from models.points import PointsLedger
from models.points_tables import PointLot
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
