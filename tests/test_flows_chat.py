"""Linking's company-code step, unlink confirmation and notification settings, declared as
flows, through the emulator: ordinary ways to cancel, typed answers, stickers mid-flow."""

from __future__ import annotations

import pytest

from models.conversation import Conversation
from models.line_user import LineUser
from tests.test_inquiries_support import CheckedChat, link, make_company
from tests.test_inquiry_flow_words import STICKER

pytestmark = pytest.mark.usefixtures("cheap_hashing")


@pytest.fixture
def acme(db, app_clock, services):
    return make_company(db, app_clock, name="アクメ株式会社", seats=3, seat_limit=5)


@pytest.fixture
def member(chat, db, app_clock, acme):
    link(db, app_clock, chat.user_id, acme.members[0].member_id)
    return CheckedChat(chat)


def user_row(dbview, user_id: str) -> LineUser:
    dbview.expire_all()
    return dbview.get(LineUser, user_id)


def open_flow(dbview, user_id: str) -> Conversation | None:
    dbview.expire_all()
    return dbview.get(Conversation, user_id)


def sticker(user: CheckedChat):
    return user._check(user.chat.event("message", message=STICKER))


@pytest.mark.parametrize("word", ["やっぱりやめておきます", "キャンセルで", "いいえ"])
def test_unlink_kept_however_the_user_says_no(member, dbview, word):
    assert "解除しますか" in member.say("連携解除").body
    assert "取りやめました" in member.say(word).body
    assert user_row(dbview, member.user_id).member_pk is not None
    assert open_flow(dbview, member.user_id) is None


def test_a_sticker_at_the_unlink_question_asks_it_again(member, dbview):
    member.say("連携解除")
    turn = sticker(member)
    assert "スタンプ" in turn.body and "解除しますか" in turn.body
    assert {"解除する", "キャンセル"} <= set(turn.labels)
    assert "解除しました" in member.tap("action=unlink&answer=yes").body
    assert user_row(dbview, member.user_id).member_pk is None


def test_linking_cancelled_however_the_user_says_it(chat, dbview, acme):
    user = CheckedChat(chat)
    user.say("連携")
    assert "連携を中止しました" in user.say("キャンセルします").body
    assert open_flow(dbview, chat.user_id) is None


def test_a_sticker_at_the_company_code_step_asks_for_the_code_again(chat, dbview, acme):
    user = CheckedChat(chat)
    user.say("連携")
    turn = sticker(user)
    assert "企業コード" in turn.body and "やめる" in turn.labels
    assert open_flow(dbview, chat.user_id).step == "ask_code"
    turn = user.say(acme.company_code)
    assert any(a["type"] == "uri" for a in turn.actions)


@pytest.mark.parametrize(("word", "opt_out"), [("オフ", True), ("停止したい", True)])
def test_notification_settings_understand_typed_answers(member, dbview, word, opt_out):
    member.say("通知設定")
    assert "停止しました" in member.say(word).body
    assert user_row(dbview, member.user_id).reminders_opt_out is opt_out
    member.say("通知設定")
    assert "受け取る設定" in member.say("オン").body
    assert user_row(dbview, member.user_id).reminders_opt_out is False


def test_notification_settings_left_for_something_else(member, dbview):
    member.say("通知設定")
    turn = member.say("やめる")
    assert "変更していません" in turn.body
    member.say("通知設定")
    turn = member.say("残高")  # the user moved on: answered as usual
    assert "ポイント" in turn.body
    assert open_flow(dbview, member.user_id) is None
