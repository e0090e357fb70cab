"""What the rich menus' tiles do, tapped as LINE sends them (the definitions' postbacks through
the emulator): 有効期限・履歴 shows the expiry breakdown card and the history; an HR contact's
各種申請 and お問い合わせ are different things."""

from __future__ import annotations

import json

import pytest

from handlers import expiry_texts, inquiry_texts
from models.companies import find_member
from models.points import PointsLedger, PointsPolicy
from richmenu.definitions import load
from tests.e2e import texts_of
from tests.test_inquiries_support import CheckedChat, link, make_company

pytestmark = pytest.mark.usefixtures("cheap_hashing")


def tile(audience: str, label: str) -> dict:
    menu = load().by_audience(audience)
    (button,) = [b for page in menu.pages for b in page.buttons if b.label == label]
    return button.action


@pytest.fixture
def company(db, app_clock, services):
    return make_company(db, app_clock, name="タイル商事", seats=2, hr_contacts=1)


@pytest.fixture
def member(chat, db, app_clock, company):
    return link(db, app_clock, chat.user_id, company.members[0].member_id)


def grant(db, app_clock, member_id: str, points: int, ref: str) -> None:
    ledger = PointsLedger(db, app_clock, PointsPolicy(allow_future_dates=True))
    ledger.grant(find_member(db, member_id), points, ref, "テスト付与", key=ref)
    db.commit()


def flat(message: dict) -> str:
    return json.dumps(message, ensure_ascii=False)


def test_the_expiry_tile_shows_the_breakdown_card_then_the_history(chat, db, app_clock, member):
    grant(db, app_clock, member.member_id, 1200, "tile-g1")
    app_clock.advance(days=40)
    grant(db, app_clock, member.member_id, 300, "tile-g2")
    action = tile("member", "有効期限・履歴")
    assert action["type"] == "postback"
    card, history = CheckedChat(chat).tap(action["data"]).messages
    assert card["type"] == "flex" and card["altText"] == "ポイントの有効期限：1,500pt"
    body = flat(card)
    assert expiry_texts.BREAKDOWN_LABEL in body
    assert body.index("1,200pt") < body.index("300pt")  # soonest first
    assert body.count("まで") == 2
    assert expiry_texts.PENDING_LABEL not in body  # nothing awaits confirmation
    assert history["type"] == "text" and history["text"].startswith("【ポイント履歴")
    assert "※確定待ちのポイントは" not in history["text"]


def test_pending_points_are_shown_on_the_card_and_noted_under_the_history(
    chat, db, app_clock, member
):
    ledger = PointsLedger(db, app_clock, PointsPolicy(allow_future_dates=True))
    ledger.earn(find_member(db, member.member_id), 250, "tile-u1", key="tile-u1")
    db.commit()
    card, history = CheckedChat(chat).tap(tile("member", "有効期限・履歴")["data"]).messages
    body = flat(card)
    assert expiry_texts.NO_EXPIRY in body
    assert expiry_texts.PENDING_LABEL in body and "250pt" in body
    assert history["text"].splitlines()[-1].startswith("※確定待ちのポイントは")


def test_the_expiry_intent_answers_with_the_card(chat, db, app_clock, member):
    grant(db, app_clock, member.member_id, 800, "tile-g3")
    (card,) = CheckedChat(chat).say("私のポイントの有効期限を教えて").messages
    assert card["type"] == "flex" and card["altText"].startswith("ポイントの有効期限")


def test_an_unlinked_user_tapping_the_expiry_tile_is_asked_to_link(chat):
    (reply,) = CheckedChat(chat).tap(tile("member", "有効期限・履歴")["data"]).messages
    assert "連携" in reply["text"]


def test_hr_requests_and_inquiry_tiles_do_different_things(chat, db, app_clock, company):
    link(db, app_clock, chat.user_id, company.hr_contacts[0].member_id)
    hr = CheckedChat(chat)
    requests_action = tile("hr_contact", "各種申請")
    inquiry_action = tile("hr_contact", "お問い合わせ")
    assert requests_action["data"] != inquiry_action["data"]

    forms = hr.tap(requests_action["data"])
    assert inquiry_texts.MENU_HR_REQUESTS in forms.body
    assert {"ID追加の申請", "退職者の利用停止", "コード・ID・PW再送", "サービス停止の申請"} <= set(
        forms.labels
    )
    assert inquiry_texts.TYPE_MENU_LABELS["other"] not in forms.labels

    question = hr.tap(inquiry_action["data"])  # a free question to the office, at once
    assert inquiry_texts.ASK_DETAIL.format(max=1000) in question.body
    assert inquiry_texts.MENU_HR_REQUESTS not in texts_of(question.messages)
    assert inquiry_texts.TYPE_MENU_LABELS["add_seats"] not in question.labels
