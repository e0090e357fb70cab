"""`benesapo reminders run --processes N / --shard K/N`: shards cover every member once, a
member is never pushed twice across shards, and the parts of a budget add up to it."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from test_reminders import JUNE_10, make_members, run  # noqa: F401 - `run` is a fixture

from bot.commands.reminders import reminders
from models.reminder_shards import Shard, all_shards, merge_reports, parse_shard


def test_parse_shard_reads_k_of_n_and_refuses_anything_else():
    assert parse_shard("1/3") == Shard(1, 3)
    assert parse_shard(" 0 / 1 ") == Shard(0, 1)
    for bad in ("3/3", "-1/2", "1", "a/b", "1/0", ""):
        with pytest.raises(ValueError):
            parse_shard(bad)


def test_every_member_is_in_exactly_one_shard():
    for count in (1, 2, 3, 7):
        for member_pk in range(1, 200):
            owners = [shard for shard in all_shards(count) if shard.owns(member_pk)]
            assert len(owners) == 1


def test_the_budget_parts_add_up_to_the_budget():
    for left in (0, 1, 5, 999, 1000):
        parts = [shard.budget(left) for shard in all_shards(3)]
        assert sum(parts) == left  # type: ignore[arg-type]
        assert max(parts) - min(parts) <= 1  # type: ignore[operator]
    assert Shard(0, 2).budget(None) is None


def test_merged_report_adds_the_counts_up():
    merged = merge_reports(
        [
            {"as_of": "a", "stage": 1, "sent": 2, "due": 3, "stopped": None, "by_stage": {"1": 2}},
            {
                "as_of": "b",
                "stage": 1,
                "sent": 4,
                "due": 4,
                "stopped": "budget",
                "by_stage": {1: 4},
            },
        ]
    )
    assert merged == {
        "as_of": "a",
        "stage": 1,
        "sent": 6,
        "due": 7,
        "stopped": "budget",
        "by_stage": {"1": 6},
    }


def test_shards_together_remind_each_member_once(db, emulator, run):  # noqa: F811
    people = make_members(db, emulator, [100 + n for n in range(9)])  # nine distinct messages
    reports = [run().run(JUNE_10, shard=shard) for shard in all_shards(3)]
    assert sum(r.sent for r in reports) == 9
    assert sum(r.due for r in reports) == 9
    for person in people:
        assert len(emulator.inbox(person["user"])) == 1
    # A shard run again, or the same members cut into other shards: nothing twice.
    assert run().run(JUNE_10, shard=Shard(0, 3)).sent == 0
    assert sum(run().run(JUNE_10, shard=shard).sent for shard in all_shards(2)) == 0
    assert run().run(JUNE_10).sent == 0
    for person in people:
        assert len(emulator.inbox(person["user"])) == 1


def test_a_shard_takes_only_its_members(db, emulator, run):  # noqa: F811
    people = make_members(db, emulator, [100 + n for n in range(6)])
    shard = Shard(1, 2)
    report = run().run(JUNE_10, shard=shard)
    mine = [p for p in people if shard.owns(p["member"].id)]
    assert report.sent == len(mine)
    for person in people:
        assert len(emulator.inbox(person["user"])) == (1 if shard.owns(person["member"].id) else 0)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--shard", "2/2"], "need 0 <= K < N"),
        (["--shard", "x"], "expected K/N"),
        (["--processes", "2", "--shard", "0/2"], "not both"),
        (["--processes", "0"], "0 is not in the range"),
    ],
)
def test_cli_refuses_bad_shard_options(cli_runtime, args, message):
    result = CliRunner().invoke(reminders, ["run", *args], obj=cli_runtime)
    assert result.exit_code == 2
    assert message in result.output


def test_processes_run_one_shard_each_and_add_their_reports_up(
    db, emulator, emulator_server, database_url, monkeypatch, cli_runtime
):
    import json

    from tests.helpers import ACCESS_TOKEN, CHANNEL_SECRET

    people = make_members(db, emulator, [300 + n for n in range(6)])
    for name, value in {
        "DATABASE_URL": database_url,
        "LINE_API_BASE_URL": emulator_server.url,
        "LINE_CHANNEL_SECRET": CHANNEL_SECRET,
        "LINE_CHANNEL_ACCESS_TOKEN": ACCESS_TOKEN,
    }.items():
        monkeypatch.setenv(name, value)
    args = ["run", "--processes", "2", "--date", "2026-06-10", "--json"]
    result = CliRunner().invoke(reminders, args, obj=cli_runtime)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.strip().splitlines()[-1])
    assert (report["due"], report["sent"], report["failed"]) == (6, 6, 0)
    for person in people:
        assert len(emulator.inbox(person["user"])) == 1
