"""`benesapo points confirm|expire|import` and `benesapo apikey create`."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from test_points_support import T0, make_member

from adapters.runtime import build_runtime
from bot.cli import LazyRuntime
from bot.commands.apikeys import apikey
from bot.commands.points import points
from common.config import Settings
from models.apikey import ApiKey, authenticate
from models.points import PointsLedger
from models.points.tables import PointLot
from models.timeutil import FixedClock


@pytest.fixture
def cli(db, engine):
    clock = FixedClock(T0)
    settings = Settings(channel_secret="s", channel_access_token="t", database_url=str(engine.url))
    runtime = build_runtime(settings, engine=engine, clock=clock)
    make_member(db, "M2001")
    db.commit()

    def run(group, *args):
        return CliRunner().invoke(group, list(args), obj=LazyRuntime.ready(runtime))

    run.runtime = runtime
    return run


def test_import_applies_good_rows_reports_bad_ones_and_is_idempotent(cli, db, tmp_path):
    csv_file = tmp_path / "points.csv"
    csv_file.write_text(
        "kind,member_id,points,source_ref,reason,occurred_at\n"
        "grant,M2001,100,g-1,キャンペーン,\n"
        "earning,M2001,50,u-1,,2026-01-15T12:00:00+09:00\n"
        "grant,NOPE,10,g-2,x,\n"
        "grant,M2001,abc,g-3,x,\n"
        "bonus,M2001,10,g-4,x,\n"
        "grant,M2001,20,g-5,,\n",
        encoding="utf-8",
    )
    result = cli(points, "import", str(csv_file))
    assert result.exit_code == 1
    assert "imported 2, skipped 0 (already imported), failed 4" in result.output
    assert "line 4: unknown_member" in result.output
    assert "line 5: invalid_request" in result.output
    assert "line 6: invalid_request" in result.output
    assert "line 7: invalid_request" in result.output  # a grant needs a reason
    balance = PointsLedger(db, cli.runtime.clock).balance("M2001")
    assert (balance.available, balance.pending) == (100, 50)
    db.rollback()  # end the read (SQLite takes the write lock for every transaction)

    again = cli(points, "import", str(csv_file))
    assert "imported 0, skipped 2 (already imported), failed 4" in again.output
    db.expire_all()
    assert len(db.scalars(select(PointLot)).all()) == 2


def test_confirm_and_expire_jobs_take_the_time(cli, db):
    ledger = PointsLedger(db, cli.runtime.clock)
    ledger.earn("M2001", 70, "u-1", key="cli-1")
    db.commit()
    result = cli(points, "confirm", "--now", "2026-02-13T12:00:00+09:00")
    assert result.exit_code == 0 and "confirmed 0" in result.output
    result = cli(points, "confirm", "--now", "2026-02-14T12:00:00+09:00")
    assert "confirmed 1" in result.output
    result = cli(points, "expire", "--now", "2029-02-28T23:59:59+09:00")
    assert "expired 0" in result.output
    result = cli(points, "expire", "--now", "2029-03-01T00:00:00+09:00")
    assert "expired 1" in result.output
    result = cli(points, "expire", "--now", "not-a-date")
    assert result.exit_code == 2


def test_apikey_create_prints_the_key_once_and_stores_its_hash(cli, db):
    result = cli(apikey, "create", "partner-x")
    assert result.exit_code == 0
    key = result.output.strip().splitlines()[-1]
    row = db.scalar(select(ApiKey))
    assert row.name == "partner-x" and key not in row.key_hash
    assert authenticate(db, key).id == row.id
    assert cli(apikey, "create", "partner-x").exit_code == 1  # names are unique


def test_import_reports_out_of_range_rows_and_applies_the_rest(cli, db, tmp_path):
    csv_file = tmp_path / "bad.csv"
    csv_file.write_text(
        "kind,member_id,points,source_ref,reason,occurred_at\n"
        f"grant,M2001,{2**63},g-1,x,\n"
        "grant,M2001,10,g-2,x,0001-01-01T00:00:00+14:00\n"
        "grant,M2001,10,g-3,x,1900-01-01T00:00:00Z\n"
        "grant,M2001,10,g-\x004,x,\n"
        "grant,M2001,10,g-5,x,\n",
        encoding="utf-8",
    )
    result = cli(points, "import", str(csv_file))
    assert result.exit_code == 1
    assert "imported 1, skipped 0 (already imported), failed 4" in result.output
    assert "line 2: invalid_request: points must be at most 10,000,000" in result.output
    assert "line 3: invalid_request: occurred_at is out of range" in result.output
    assert "line 4: invalid_request: occurred_at must be between" in result.output
    assert "line 5: invalid_request: source_ref contains a control character" in result.output
