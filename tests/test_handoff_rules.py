"""The live chat's rules and edges: business hours (JST, configurable), transcript retention,
`benesapo handoffs list`, and the mark-as-read call as LINE answers it (the emulator)."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
import requests
from click.testing import CliRunner
from sqlalchemy import select

from adapters.line_client import LineApiError, LineClient, RetryPolicy
from bot.cli import cli
from common.config import Settings
from models.handoff import Handoff, HandoffMessage, add_line, end_live, start, user_wrote
from models.handoff_hours import HandoffPolicy
from models.handoff_lists import prune_transcripts
from models.timeutil import jst_at
from tests.helpers import ACCESS_TOKEN, CHANNEL_SECRET
from tests.test_inquiries_support import link, make_company

USER = "U" + "d" * 32


# -- business hours ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("jst", "open_"),
    [
        ((2026, 4, 1, 9, 0), True),  # Wednesday 9:00
        ((2026, 4, 1, 16, 59), True),
        ((2026, 4, 1, 17, 0), False),
        ((2026, 4, 1, 8, 59), False),
        ((2026, 4, 4, 12, 0), False),  # Saturday
        ((2026, 4, 5, 12, 0), False),  # Sunday
    ],
)
def test_default_hours_are_weekdays_nine_to_five_jst(jst, open_) -> None:
    year, month, day, hour, minute = jst
    assert HandoffPolicy().is_open(jst_at(date(year, month, day), hour, minute)) is open_


def test_the_next_opening_skips_the_evening_the_weekend_and_holidays() -> None:
    policy = HandoffPolicy.from_env({"BENESAPO_HANDOFF_HOLIDAYS": "2026-04-06, nonsense"})
    friday_evening = jst_at(date(2026, 4, 3), 18)
    assert policy.next_opening(friday_evening) == jst_at(date(2026, 4, 7), 9)  # Monday is off
    early = jst_at(date(2026, 4, 1), 7)
    assert policy.next_opening(early) == jst_at(date(2026, 4, 1), 9)
    within = jst_at(date(2026, 4, 1), 11)
    assert policy.next_opening(within) == within


def test_hours_and_days_are_configurable_and_bad_values_fall_back() -> None:
    policy = HandoffPolicy.from_env(
        {"BENESAPO_HANDOFF_HOURS": "10-19", "BENESAPO_HANDOFF_DAYS": "0-5"}
    )
    saturday = jst_at(date(2026, 4, 4), 18)
    assert policy.is_open(saturday) and policy.hours_label() == "月・火・水・木・金・土曜10時〜19時"
    for bad in ({"BENESAPO_HANDOFF_HOURS": "17-9"}, {"BENESAPO_HANDOFF_DAYS": "0-9"}):
        fallback = HandoffPolicy.from_env(bad)
        assert fallback.hours_label() == "平日9時〜17時"
    assert HandoffPolicy.from_env({"BENESAPO_HANDOFF_IDLE_MINUTES": "0"}).idle == timedelta(
        minutes=30
    )


# -- retention ---------------------------------------------------------------------------------


def test_transcripts_are_deleted_after_retention_days(db, clock) -> None:
    now = clock.now()
    old, _ = start(db, USER, None, now - timedelta(days=40), out_of_hours=False)
    add_line(db, old, "user", "古い相談", now - timedelta(days=40))
    end_live(old, now - timedelta(days=39), reason="user", actor="line_user")
    assert old.status == "closed"
    current, _ = start(db, USER, None, now - timedelta(days=1), out_of_hours=False)
    add_line(db, current, "user", "古い行", now - timedelta(days=31))
    user_wrote(db, current, "新しい相談", now, reply_token=None, sent_at=now, read_token=None)
    db.commit()

    assert prune_transcripts(db, now, 30) == 2
    db.commit()
    assert db.get(Handoff, old.id) is None  # closed long ago: gone with its note
    assert db.get(Handoff, current.id) is not None  # still open
    texts = db.scalars(select(HandoffMessage.text)).all()
    assert texts == ["新しい相談"]


# -- benesapo handoffs list ------------------------------------------------------------------


def test_handoffs_list_for_scripts(cli_runtime, db, clock) -> None:
    issued = make_company(db, clock, name="一覧商事")
    member = link(db, clock, USER, issued.members[0].member_id)
    handoff, _ = start(db, USER, member, clock.now(), out_of_hours=True)
    user_wrote(
        db, handoff, "相談です", clock.now(), reply_token=None, sent_at=clock.now(), read_token=None
    )
    db.commit()
    runner = CliRunner()
    result = runner.invoke(cli, ["handoffs", "list", "--json"], obj=cli_runtime)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert len(rows) == 1
    row = rows[0]
    assert row["status"] == "waiting" and row["status_label"] == "要対応"
    assert row["user"] == f"会員 {member.member_id}" and row["company_code"] == issued.company_code
    assert row["opened_at"].endswith("+09:00") and row["unread"] == 1
    assert USER not in result.output and "相談です" not in result.output
    text = runner.invoke(cli, ["handoffs", "list", "--status", "closed"], obj=cli_runtime)
    assert text.exit_code == 0 and "no live chats" in text.output
    bad = runner.invoke(cli, ["handoffs", "list", "--status", "zzz"], obj=cli_runtime)
    assert bad.exit_code == 2


# -- mark as read, as LINE answers it ---------------------------------------------------------


def test_mark_as_read_is_checked_like_line(emulator, emulator_server) -> None:
    from emulator.webhook import text_event

    user = emulator.create_user(display_name="既読")
    event = text_event(emulator_server.state, user["user_id"], "こんにちは")
    token = event["message"]["markAsReadToken"]  # LINE puts one in every message event
    url = f"{emulator_server.url}/v2/bot/chat/markAsRead"
    auth = {"Authorization": f"Bearer {ACCESS_TOKEN}"}
    assert requests.post(url, json={}, headers=auth, timeout=5).status_code == 400
    unknown = requests.post(url, json={"markAsReadToken": "nope"}, headers=auth, timeout=5)
    assert unknown.status_code == 400 and "markAsReadToken" in unknown.text
    assert requests.post(url, json={"markAsReadToken": token}, timeout=5).status_code == 401
    assert emulator.read_marks(user["user_id"]) == []

    client = LineClient(
        Settings(
            channel_secret=CHANNEL_SECRET,
            channel_access_token=ACCESS_TOKEN,
            line_api_base_url=emulator_server.url,
        ),
        retry=RetryPolicy(max_retries=0),
    )
    client.mark_as_read(token)
    assert emulator.read_marks(user["user_id"]) == [event["message"]["id"]]
    with pytest.raises(LineApiError) as refused:
        client.mark_as_read("not-a-token")
    assert refused.value.status == 400 and not refused.value.retryable


@pytest.mark.parametrize(
    ("actor", "label"),
    [
        ("operator:desk@example.jp", "desk@example.jp"),
        ("member:DEMAM2345A", "会員 DEMAM2345A"),
        ("system:idle", "自動（やりとりがないため）"),
        ("line_user", "お客さま"),
    ],
)
def test_who_ended_a_chat_is_shown_without_a_line_id(actor, label) -> None:
    from models.handoff_lists import closed_by_label

    assert closed_by_label(Handoff(line_user_id=USER, closed_by=actor)) == label
