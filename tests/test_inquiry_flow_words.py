"""The inquiry forms through the emulator, as people really answer them: the ordinary ways to
say cancel / back / help / start over at every step, names, dates (typed and LINE's date
picker), codes, and stickers or images in the middle of a form."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models.conversation import Conversation
from models.inquiries import Inquiry
from tests.test_inquiries_support import CheckedChat, link, make_company

pytestmark = pytest.mark.usefixtures("cheap_hashing")

STICKER = {"type": "sticker", "id": "468789577898262530", "packageId": "446", "stickerId": "1988"}
IMAGE = {"type": "image", "id": "468789577898262531", "contentProvider": {"type": "line"}}
LOCATION = {
    "type": "location",
    "id": "468789577898262532",
    "title": "本社",
    "address": "東京都千代田区",
    "latitude": 35.68,
    "longitude": 139.76,
}


@pytest.fixture
def acme(db, app_clock, services):
    return make_company(db, app_clock, name="アクメ株式会社", seats=3, seat_limit=5)


@pytest.fixture
def hr(chat, db, app_clock, acme):
    link(db, app_clock, chat.user_id, acme.hr_contacts[0].member_id)
    return CheckedChat(chat)


def open_form(dbview, user_id: str) -> Conversation | None:
    dbview.expire_all()
    return dbview.get(Conversation, user_id)


def tickets(dbview) -> list[Inquiry]:
    dbview.expire_all()
    return list(dbview.scalars(select(Inquiry)))


@pytest.mark.parametrize(
    "word",
    ["キャンセル", "中止", "やっぱりやめます", "もういいです", "取り消し", "結構です", "ｷｬﾝｾﾙ"],
)
def test_ordinary_ways_to_cancel_end_a_free_text_step(hr, dbview, word):
    hr.tap("action=inquiry&type=retire")
    turn = hr.say(word)
    assert "中止しました" in turn.body
    assert open_form(dbview, hr.user_id) is None
    assert tickets(dbview) == []


def test_cancel_words_at_the_confirmation_step(hr, dbview, acme):
    hr.tap("action=inquiry&type=retire")
    hr.say("山田 太郎")
    turn = hr.say(acme.members[0].member_id)
    assert "送信" in turn.labels
    turn = hr.say("やっぱりキャンセルで")
    assert "中止しました" in turn.body and "下のボタン" not in turn.body
    assert open_form(dbview, hr.user_id) is None


@pytest.mark.parametrize("word", ["前に戻る", "一つ前", "修正したい", "もどって"])
def test_ways_to_go_back_at_the_member_id_step_show_the_previous_answer(hr, dbview, word):
    hr.tap("action=inquiry&type=retire")
    hr.say("山田 太郎")
    turn = hr.say(word)
    assert "形式" not in turn.body
    assert "お名前" in turn.body and "前回のご回答：山田 太郎" in turn.body
    assert open_form(dbview, hr.user_id).step == "retiree_name"


def test_names_refuse_emoji_and_never_store_a_control_word(hr, dbview):
    hr.tap("action=inquiry&type=retire")
    turn = hr.say("🙂")
    assert "絵文字" in turn.body and "お名前" in turn.body
    assert hr.say("1234").body.startswith("お名前を文字で")
    assert open_form(dbview, hr.user_id).data["answers"] == {}
    hr.say("最初から")
    turn = hr.say("ヘルプ")
    assert "退職者の利用停止" in turn.body and "お名前" in turn.body
    assert open_form(dbview, hr.user_id).data["answers"] == {}
    hr.say("山田　花子")  # a full-width space between family and given name
    assert open_form(dbview, hr.user_id).data["answers"] == {"retiree_name": "山田 花子"}


def test_start_over_clears_the_answers(hr, dbview):
    hr.tap("action=inquiry&type=stop_service")
    hr.say("2026年6月30日")
    turn = hr.say("最初からやり直したい")
    assert "最初からやり直します" in turn.body and "停止をご希望の日" in turn.body
    form = open_form(dbview, hr.user_id)
    assert form.step == "stop_date" and form.data["answers"] == {}


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("2026年3月31日", "過去の日付"),  # the test clock's today is 2026-04-01 (JST)
        ("3/31/2026", "日付がわかるように"),
        ("2026/4/1", "本日の停止"),
        ("2026年2月30日", "カレンダーにありません"),
        ("2030年1月1日", "までの日付"),
    ],
)
def test_stop_dates_that_make_no_sense_are_refused_with_the_reason(hr, dbview, typed, reason):
    hr.tap("action=inquiry&type=stop_service")
    turn = hr.say(typed)
    assert reason in turn.body
    assert "日付を選ぶ" in turn.labels
    assert open_form(dbview, hr.user_id).step == "stop_date"


def test_relative_stop_date_is_resolved_and_shown_back(hr, dbview):
    hr.tap("action=inquiry&type=stop_service")
    turn = hr.say("来月末")
    assert "2026年5月31日（日）" in turn.body and "理由" in turn.body
    hr.say("事業所の閉鎖のため")
    turn = hr.say("送信")
    [ticket] = tickets(dbview)
    assert ticket.answers["stop_date"] == "2026年5月31日（日）"


def test_stop_date_through_lines_date_picker(hr, dbview):
    turn = hr.tap("action=inquiry&type=stop_service")
    [picker] = [a for a in turn.actions if a["type"] == "datetimepicker"]
    assert picker["mode"] == "date" and picker["min"] == "2026-04-02"
    assert picker["initial"] == picker["min"] and picker["max"] == "2028-03-31"
    turn = hr.chat.tap(picker["data"], {"date": "2026-07-15"})
    assert "2026年7月15日（水）" in CheckedChat(hr.chat)._check(turn).body
    assert open_form(dbview, hr.user_id).data["answers"] == {"stop_date": "2026年7月15日（水）"}
    # A date picked outside the window (an old message's picker) is refused like a typed one.
    hr.say("戻る")
    turn = CheckedChat(hr.chat)._check(hr.chat.tap(picker["data"], {"date": "2026-03-01"}))
    assert "過去の日付" in turn.body


@pytest.mark.parametrize(
    "message", [STICKER, IMAGE, LOCATION], ids=["sticker", "image", "location"]
)
def test_a_sticker_image_or_location_mid_form_asks_the_question_again(hr, dbview, message):
    hr.tap("action=inquiry&type=credentials")
    turn = CheckedChat(hr.chat)._check(hr.chat.event("message", message=message))
    assert "再送をご希望のもの" in turn.body
    assert {"企業コード", "ID・パスワード", "すべて", "戻る", "やめる"} <= set(turn.labels)
    assert "テキスト" not in turn.body
    assert open_form(dbview, hr.user_id).step == "credential_what"


def test_a_valid_shaped_unknown_company_code_is_told_it_is_not_found(chat, dbview, acme):
    user = CheckedChat(chat)
    user.say("連携")  # unlinked users give a company code only to link (issue 16.11)
    bogus = "ABCDEFGH" if acme.company_code != "ABCDEFGH" else "HGFEDCBA"
    turn = user.say(bogus)
    assert turn.body.startswith("入力された企業コードが見つかりませんでした")
    assert "英数字8桁" not in turn.body.split("\n")[0]


def test_member_ids_say_what_is_wrong(hr, acme):
    hr.tap("action=inquiry&type=retire")
    hr.say("山田 太郎")
    assert "入力は4桁" in hr.say("ABCD").body
    assert "見つかりませんでした" in hr.say("ZZZZ9999ZZ").body
