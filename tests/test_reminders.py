"""Expiry reminders (issue 7): who, when, once, what, and at what cost — against the emulator."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from bot.reminders import ReminderRun
from models.company import Company, CompanyStatus, Member, MemberStatus
from models.line_user import LineUser
from models.points import PointsLedger
from models.reminders import ReminderPolicy, ReminderSend, ReminderWindow
from models.timeutil import FixedClock, jst_at
from tests.e2e import actions_of, texts_of

JUNE_10 = jst_at(date(2026, 6, 10), 10)  # lots granted in June 2023 expire 2026-06-30
JUNE_25 = jst_at(date(2026, 6, 25), 10)  # five days left: the last call
_codes = itertools.count(1)


def make_members(db, emulator, points: list[int], *, granted=date(2023, 6, 15)) -> list[dict]:
    """Linked members, each with one lot expiring at the end of June 2026."""
    company = Company(
        code=f"RMD{next(_codes):05d}",
        name="リマインド株式会社",
        seat_limit=100,
        contact_email="hr@example.com",
        created_at=datetime(2023, 1, 1, tzinfo=UTC),
    )
    db.add(company)
    db.flush()
    ledger = PointsLedger(db, FixedClock(jst_at(granted, 12)))
    people = []
    for n, amount in enumerate(points):
        member = Member(
            member_id=f"{company.code}-{n:04d}",
            company_id=company.id,
            password_hash="x",
            created_at=datetime(2023, 1, 1, tzinfo=UTC),
        )
        db.add(member)
        db.flush()
        user = emulator.create_user(display_name=f"会員{member.member_id}")["user_id"]
        db.add(
            LineUser(
                line_user_id=user,
                member_pk=member.id,
                first_seen_at=member.created_at,
                blocked=False,
                reminders_opt_out=False,
                language="ja",
            )
        )
        ledger.grant(
            member,
            amount,
            f"grant-{member.member_id}",
            "キャンペーン",
            key=f"k-{member.member_id}",
            occurred_at=jst_at(granted, 12),
        )
        people.append({"member": member, "user": user, "points": amount})
    db.commit()
    return people


@pytest.fixture
def run(services):
    def make(policy: ReminderPolicy | None = None, ticker=None, **kwargs) -> ReminderRun:
        if ticker:
            kwargs["ticker"] = ticker
        return ReminderRun(
            services.runtime,
            services.line,
            services.deliverer,
            policy or ReminderPolicy(),
            **kwargs,
        )

    return make


def sends(emulator) -> list[dict]:
    return [
        c
        for c in emulator.calls("/v2/bot/message/")
        if c["path"].rsplit("/", 1)[-1] in {"push", "multicast", "reply"}
    ]


def inbox_texts(emulator, user) -> list[str]:
    return [texts_of([m["message"]]) for m in emulator.inbox(user)]


def test_window_stages_follow_the_end_of_the_month():
    policy = ReminderPolicy()
    assert ReminderWindow.on(jst_at(date(2026, 6, 10), 10), policy).stage == 1
    assert ReminderWindow.on(jst_at(date(2026, 6, 23), 10), policy).stage == 2
    window = ReminderWindow.on(jst_at(date(2026, 6, 30), 23), policy)
    assert window.expiry_date == date(2026, 6, 30) and window.stage == 2
    assert window.expires_at == jst_at(date(2026, 7, 1), 0)
    # February of a leap year: the window is about the 29th.
    assert ReminderWindow.on(jst_at(date(2028, 2, 1), 10), policy).expiry_date == date(2028, 2, 29)


def test_stage_one_is_sent_once_with_points_date_and_buttons(db, emulator, run):
    people = make_members(db, emulator, [1200, 800])
    report = run().run(JUNE_10)
    assert (report.stage, report.sent, report.failed) == (1, 2, 0)
    first = emulator.inbox(people[0]["user"])
    assert len(first) == 1
    body = texts_of([first[0]["message"]])
    assert "1,200ポイント" in body and "2026年6月30日" in body
    labels = {a["label"] for a in actions_of([first[0]["message"]])}
    assert labels == {"残高を見る", "ポイントの使い方"}
    again = run().run(JUNE_10)  # the job ran twice
    assert again.sent == 0 and again.due == 0
    assert len(emulator.inbox(people[0]["user"])) == 1


def test_last_call_is_a_second_stage_sent_once(db, emulator, run):
    people = make_members(db, emulator, [500])
    run().run(JUNE_10)
    report = run().run(JUNE_25)
    assert (report.stage, report.sent) == (2, 1)
    assert "最終" in inbox_texts(emulator, people[0]["user"])[-1]
    assert run().run(JUNE_25).sent == 0
    assert len(emulator.inbox(people[0]["user"])) == 2
    assert db.scalar(select(func.count()).select_from(ReminderSend)) == 2


def test_nothing_before_the_window_and_nothing_for_other_months(db, emulator, run):
    make_members(db, emulator, [500])
    assert run().run(jst_at(date(2026, 5, 25), 10)).due == 0  # May's expiry date, not June's
    assert run().run(jst_at(date(2026, 5, 25), 10)).sent == 0
    assert sends(emulator) == []


def test_quiet_hours_send_nothing(db, emulator, run):
    make_members(db, emulator, [500, 600])
    report = run().run(jst_at(date(2026, 6, 10), 21, 30))
    assert report.stopped == "quiet_hours" and report.sent == 0 and report.not_sent == 2
    assert sends(emulator) == []
    assert run().run(jst_at(date(2026, 6, 11), 8, 59)).sent == 0
    assert run().run(jst_at(date(2026, 6, 11), 9, 0)).sent == 2  # resumes in the morning


def test_a_run_that_reaches_quiet_hours_stops_and_resumes_next_morning(db, emulator, run):
    make_members(db, emulator, [100, 200, 300])  # three different messages: three sends
    seconds = itertools.count(0, 45 * 60)  # every check of the time is 45 minutes later
    # One group per claim: checked at 19:45 (claimed at 20:30), then 21:15: quiet.
    late = run(ticker=lambda: next(seconds), claim_groups=1).run(jst_at(date(2026, 6, 10), 19, 0))
    assert late.stopped == "quiet_hours"
    assert late.sent == 1 and late.not_sent == 2
    morning = run().run(jst_at(date(2026, 6, 11), 10))
    assert morning.sent == 2 and morning.skipped == 0
    assert db.scalar(select(func.count()).select_from(ReminderSend)) == 3


def test_groups_waiting_to_be_claimed_when_quiet_hours_begin_are_not_sent(db, emulator, run):
    make_members(db, emulator, [100, 200, 300])
    seconds = itertools.count(0, 45 * 60)
    # Groups pass their check at 19:45 and 20:30 and wait to be claimed together; the third
    # check (21:15) is quiet, and so is the claim: nothing goes out at night.
    late = run(ticker=lambda: next(seconds)).run(jst_at(date(2026, 6, 10), 19, 0))
    assert late.stopped == "quiet_hours" and late.sent == 0 and late.not_sent == 3
    assert sends(emulator) == []
    morning = run().run(jst_at(date(2026, 6, 11), 10))
    assert morning.sent == 3 and morning.skipped == 0


def test_opted_out_blocked_retired_and_suspended_are_not_reminded(db, emulator, run, new_chat):
    people = make_members(db, emulator, [100, 100, 100, 100, 100])
    opted_out, blocked, retired, ok = (p["user"] for p in people[:4])
    db.get(LineUser, opted_out).reminders_opt_out = True
    db.get(LineUser, blocked).blocked = True
    db.get(Member, people[2]["member"].id).status = MemberStatus.RETIRED
    other = make_members(db, emulator, [100])
    db.get(Company, other[0]["member"].company_id).status = CompanyStatus.SUSPENDED
    db.commit()
    report = run().run(JUNE_10)
    assert report.sent == 2  # `ok` and people[4]
    assert len(emulator.inbox(ok)) == 1
    for user in (opted_out, blocked, retired, other[0]["user"]):
        assert emulator.inbox(user) == []


def test_minimum_amount(db, emulator, run):
    people = make_members(db, emulator, [99, 100])
    report = run(ReminderPolicy(min_points=100)).run(JUNE_10)
    assert report.sent == 1
    assert emulator.inbox(people[0]["user"]) == []


def test_identical_messages_are_multicast(db, emulator, run):
    make_members(db, emulator, [300] * 4 + [700])
    report = run().run(JUNE_10)
    assert report.sent == 5 and report.api_calls == 2
    multicasts = emulator.calls("/v2/bot/message/multicast")
    assert len(multicasts) == 1 and len(multicasts[0]["body"]["to"]) == 4
    assert multicasts[0]["headers"].get("X-Line-Retry-Key")


def test_budget_stop_reports_what_was_not_sent(db, emulator, run):
    make_members(db, emulator, [100, 200, 300, 400, 500])
    emulator.set_quota(3)
    report = run().run(JUNE_10)
    assert report.stopped == "budget"
    assert report.sent == 3 and report.not_sent == 2
    own = run(ReminderPolicy(monthly_budget=3)).run(JUNE_25)  # our own monthly budget
    assert own.stopped == "budget" and own.sent == 0


def test_crash_half_way_then_second_run_sends_each_once(
    db, emulator, run, services, monkeypatch, app_clock
):
    people = make_members(db, emulator, [100, 200, 300])
    real = services.line.push
    calls = itertools.count()

    def crash_on_second(*args, **kwargs):
        if next(calls) == 1:
            raise SystemExit("the clock process died")
        return real(*args, **kwargs)

    monkeypatch.setattr(services.line, "push", crash_on_second)
    with pytest.raises(SystemExit):
        run(ReminderPolicy(send_workers=1)).run(JUNE_10)
    monkeypatch.setattr(services.line, "push", real)
    told = sum(len(emulator.inbox(p["user"])) for p in people)
    # The three pushes went out side by side: the two that did not crash reached LINE (and were
    # recorded as sent), the one that did never left.
    assert told == 2
    # The other two claims lapse after their lease; the next run sends each of them once.
    app_clock.advance(minutes=6)
    second = run().run(JUNE_10)
    assert second.skipped == 0
    for person in people:
        assert len(emulator.inbox(person["user"])) == 1
    assert db.scalar(select(func.count()).select_from(ReminderSend)) == 3


def test_dry_run_counts_and_sends_nothing(db, emulator, run):
    make_members(db, emulator, [300, 300, 900])
    report = run().run(JUNE_10, dry_run=True)
    assert (report.due, report.messages, report.api_calls) == (3, 3, 2)
    assert sends(emulator) == []
    assert db.scalar(select(func.count()).select_from(ReminderSend)) == 0


def test_members_turn_reminders_off_and_on_in_chat(db, emulator, run, chat):
    person = make_members(db, emulator, [100])[0]
    chat.user_id = person["user"]
    shown = chat.say("通知設定")
    assert "受け取る（現在の設定）" in texts_of(shown)
    assert "停止しました" in texts_of(chat.tap("action=reminders&on=0"))
    assert run().run(JUNE_10).sent == 0
    assert "停止中" in texts_of(chat.say("通知設定"))
    assert "受け取る設定" in texts_of(chat.tap("action=reminders&on=1"))
    assert run().run(JUNE_10).sent == 1


def test_a_group_partly_claimed_by_a_concurrent_run_still_reaches_the_rest(db, emulator, run):
    from bot.reminders import ReminderReport
    from models.reminders import DueReminder

    first_person, second_person = make_members(db, emulator, [100, 100])
    a, b = (DueReminder(p["member"].id, p["user"], 100) for p in (first_person, second_person))
    window = ReminderWindow.on(JUNE_10, ReminderPolicy())
    job, report = run(), ReminderReport(as_of="")
    [other_run] = job._claim([[a]], window, JUNE_10, report)  # another run got A first
    [ours] = job._claim([[a, b]], window, JUNE_10, report)
    assert ours.to == (b.line_user_id,) and ours.id != other_run.id
    assert report.skipped == 1


def test_settings_need_an_active_membership(db, emulator, chat):
    assert "連携" in texts_of(chat.say("通知設定"))  # not linked: how to link
    person = make_members(db, emulator, [100])[0]
    db.get(Company, person["member"].company_id).status = CompanyStatus.SUSPENDED
    db.commit()
    chat.user_id = person["user"]
    answer = texts_of(chat.say("通知設定"))
    assert "受け取る" not in answer and answer  # a polite refusal, not the settings
    assert db.get(LineUser, person["user"]).reminders_opt_out is False
