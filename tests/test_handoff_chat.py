"""The live chat from the user's side, end to end: signed webhooks from the LINE emulator in,
the emulator's recorded messages out, the database after (issue 15 part 2).

「担当者と話したい」 (and its paraphrases, the fallback's button) open a live chat with the
business hours; while it is live the bot answers nothing by itself (the messages are kept for
the operator) except the words that end it and the rich menu; it returns to the bot when the
user ends it or after the idle time, and says so."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.handoff_jobs import end_idle_chats
from common.config import Settings
from handlers.handoff import MENU_ACTIONS
from models.conversation import Conversation
from models.handoff import Handoff, HandoffMessage, HandoffStatus
from richmenu.definitions import TAB_ACTION, load
from tests.e2e import actions_of, texts_of
from tests.test_inquiries_support import link, make_company


def _handoff(dbview, user_id: str) -> Handoff:
    dbview.expire_all()
    return dbview.scalars(
        select(Handoff).where(Handoff.line_user_id == user_id).order_by(Handoff.id.desc())
    ).first()


def _lines(dbview, handoff: Handoff) -> list[tuple[str, str, bool]]:
    dbview.expire_all()
    rows = dbview.scalars(
        select(HandoffMessage)
        .where(HandoffMessage.handoff_id == handoff.id)
        .order_by(HandoffMessage.id)
    )
    return [(m.sender, m.text, m.before_handoff) for m in rows]


def test_a_person_is_one_message_away_and_the_bot_stays_quiet_meanwhile(chat, dbview) -> None:
    chat.say("よくある質問")  # the recent exchange the operator will see
    opened = chat.say("担当者と話したい")
    body = texts_of(opened)
    assert "担当者におつなぎします" in body
    assert "通常30分以内" in body and "平日9時〜17時" in body
    assert "「終了」" in body

    handoff = _handoff(dbview, chat.user_id)
    assert handoff.status == HandoffStatus.WAITING and handoff.live
    lines = _lines(dbview, handoff)
    assert ("user", "よくある質問", True) in lines  # copied from before the handoff
    assert any(s == "bot" and b for s, _, b in lines)  # the bot's answer to it
    assert ("user", "担当者と話したい", False) in lines

    # Messages for the person: kept, not answered (not even by the FAQ or the fallback).
    assert chat.say("ポイントの有効期限について相談したいです") == []
    assert chat.say("残高") == []  # a keyword too
    assert chat.event("message", message={"id": "1", "type": "sticker"}) == []
    lines = _lines(dbview, handoff)
    assert ("user", "ポイントの有効期限について相談したいです", False) in lines
    assert ("user", "（スタンプ）", False) in lines
    kept = dbview.scalars(
        select(HandoffMessage).where(
            HandoffMessage.handoff_id == handoff.id, HandoffMessage.text == "残高"
        )
    ).one()
    assert kept.read_token  # LINE's markAsReadToken, for the console

    ended = chat.say("ボットに戻る")
    assert "ボットに戻りました" in texts_of(ended)
    assert "担当者が確認し" in texts_of(ended)  # the questions above still get an answer
    handoff = _handoff(dbview, chat.user_id)
    assert not handoff.live and handoff.status == HandoffStatus.WAITING  # still 要対応
    assert "ポイント" in texts_of(chat.say("残高"))  # the bot answers again


def test_ending_a_chat_with_nothing_asked_closes_it(chat, dbview) -> None:
    chat.say("人と話したい")
    ended = chat.say("終了")
    assert "ボットに戻りました" in texts_of(ended)
    handoff = _handoff(dbview, chat.user_id)
    assert handoff.status == HandoffStatus.CLOSED and handoff.close_reason == "user"
    dbview.expire_all()
    assert dbview.get(Conversation, chat.user_id) is None


def test_the_fallback_offers_the_person_and_the_button_opens_the_chat(chat, dbview) -> None:
    answer = chat.tap("action=faq_none")  # "no answer found" (どれでもない)
    buttons = [a for a in actions_of(answer) if a.get("label") == "担当者に相談"]
    assert buttons and buttons[0]["data"] == "action=handoff"
    fallback = chat.tap("action=no_such_action")  # the polite fallback offers it too
    assert "担当者に相談" in [a.get("label") for a in actions_of(fallback)]
    opened = chat.tap("action=handoff")
    assert "担当者におつなぎします" in texts_of(opened)
    assert _handoff(dbview, chat.user_id).live


def test_outside_business_hours_the_message_is_kept_for_the_next_business_day(
    chat, dbview, app_clock
) -> None:
    app_clock.set(datetime(2026, 4, 4, 3, 0, tzinfo=UTC))  # Saturday 12:00 JST
    opened = chat.say("担当者と話したい")
    body = texts_of(opened)
    assert "受付時間外" in body
    assert "4月6日（月）9時" in body  # the next business day's opening
    assert _handoff(dbview, chat.user_id).out_of_hours
    assert chat.say("週明けに連絡ください") == []


def test_the_rich_menu_still_works_and_the_chat_stays_with_the_person(chat, dbview) -> None:
    chat.say("担当者と話したい")
    menu = chat.tap("action=faq_menu")  # a rich menu button: the bot answers it
    assert "カテゴリ" in texts_of(menu)
    assert chat.say("やっぱり担当の方に聞きます") == []  # back with the person
    lines = _lines(dbview, _handoff(dbview, chat.user_id))
    assert any(s == "bot" and "よくある質問" in t for s, t, _ in lines)
    assert ("user", "やっぱり担当の方に聞きます", False) in lines


def test_a_flow_started_from_the_menu_gives_the_chat_back_when_it_ends(chat, dbview) -> None:
    chat.say("担当者と話したい")
    form = chat.tap("action=inquiry&type=other")  # the inquiry form, from the rich menu
    assert "ご用件の内容を入力してください" in texts_of(form)
    assert chat.say("やめる") != []  # the form's own cancel answers
    assert chat.say("フォームではなく直接聞きたいです") == []  # with the person again
    lines = _lines(dbview, _handoff(dbview, chat.user_id))
    assert ("user", "やめる", False) in lines  # both sides of the bot's part are kept
    assert ("user", "フォームではなく直接聞きたいです", False) in lines


def test_an_idle_chat_returns_to_the_bot_and_the_user_is_told(
    chat, new_chat, dbview, app_clock, services
) -> None:
    chat.say("担当者と話したい")
    quiet = new_chat("待つ人")
    quiet.say("担当者と話したい")
    quiet.say("請求書の件です")
    app_clock.advance(minutes=31)
    runtime = services.runtime
    assert end_idle_chats(runtime) == {"ended": 2, "closed": 1}
    assert end_idle_chats(runtime) == {"ended": 0, "closed": 0}  # told once

    from tests.e2e import wait_until

    told = wait_until(lambda: chat.new_messages(), what="the idle notice")
    assert "30分間やりとりがなかったため" in texts_of(told)
    assert _handoff(dbview, chat.user_id).status == HandoffStatus.CLOSED
    pending = wait_until(lambda: quiet.new_messages(), what="the idle notice")
    assert "担当者が確認し" in texts_of(pending)
    assert _handoff(dbview, quiet.user_id).status == HandoffStatus.WAITING
    assert "ポイント" in texts_of(chat.say("残高"))


def test_an_idle_chat_met_by_a_message_before_the_job_says_so(chat, dbview, app_clock) -> None:
    chat.say("担当者と話したい")
    app_clock.advance(minutes=45)
    answer = chat.say("まだいますか")
    assert "やりとりがなかったため" in texts_of(answer)
    assert not _handoff(dbview, chat.user_id).live


def test_a_linked_member_is_remembered_on_the_chat(chat, db, dbview, app_clock) -> None:
    issued = make_company(db, app_clock, name="有人商事")
    member = link(db, app_clock, chat.user_id, issued.hr_contacts[0].member_id)
    chat.say("担当者と話したい")
    assert _handoff(dbview, chat.user_id).member_pk == member.id


def test_the_menu_actions_that_pass_through_are_the_rich_menus_postbacks() -> None:
    from urllib.parse import parse_qs

    actions = {TAB_ACTION}
    for menu in load().menus:
        for page in menu.pages:
            for button in page.buttons:
                if button.action.get("type") == "postback":
                    actions.add(parse_qs(button.action["data"])["action"][0])
    assert actions == MENU_ACTIONS


@pytest.mark.parametrize("env", [{}, {"BENESAPO_HANDOFF_IDLE_MINUTES": "nonsense"}])
def test_the_idle_time_is_configurable_with_a_safe_default(env) -> None:
    from models.handoff_hours import HandoffPolicy

    settings = Settings(channel_secret="s", channel_access_token="t", extra=env)
    assert HandoffPolicy.from_settings(settings).idle.total_seconds() == 30 * 60
    runtime_settings = settings.with_overrides(extra={"BENESAPO_HANDOFF_IDLE_MINUTES": "5"})
    assert HandoffPolicy.from_settings(runtime_settings).idle.total_seconds() == 5 * 60
