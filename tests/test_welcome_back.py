"""A linked user who blocks and re-adds the account (unfollow, then follow, as signed webhook
events through the emulator) is welcomed back as linked, never asked to link again."""

from __future__ import annotations

import pytest

from handlers import texts
from models.line_user import LineUser
from tests.e2e import actions_of, texts_of
from tests.test_inquiries_support import link, make_company
from tests.test_linking_e2e import link_fully

pytestmark = pytest.mark.usefixtures("cheap_hashing")


@pytest.fixture
def company(db, app_clock, services):
    return make_company(db, app_clock, name="おかえり商事", seats=2, hr_contacts=1)


def labels(messages) -> set[str]:
    return {a.get("label", "") for a in actions_of(messages)}


def test_a_member_linked_through_the_login_page_is_welcomed_back(
    chat, company, services, bot_server, emulator, dbview
):
    assert "アカウント連携" in labels(chat.follow())
    link_fully(chat, company, company.members[0], services, bot_server, emulator)
    assert chat.event("unfollow") == []
    dbview.expire_all()
    assert dbview.get(LineUser, chat.user_id).blocked is True

    again = chat.event("follow")  # the emulator marks it isUnblocked, as LINE does
    body = texts_of(again)
    assert "おかえりなさい" in body and "引き継がれています" in body
    assert texts.GREETING_ALT not in body and "連携をお願い" not in body
    assert "アカウント連携" not in labels(again)
    assert "ポイント残高" in labels(again)
    dbview.expire_all()
    user = dbview.get(LineUser, chat.user_id)
    assert user.blocked is False and user.member_pk is not None


def test_an_hr_contact_is_welcomed_back_with_the_hr_actions(chat, company, db, app_clock):
    chat.follow()
    link(db, app_clock, chat.user_id, company.hr_contacts[0].member_id)
    assert chat.event("unfollow") == []
    again = chat.event("follow", follow={"isUnblocked": True})
    assert "企業担当者さま" in texts_of(again) and "おかえりなさい" in texts_of(again)
    assert {"各種申請", "申請状況", "企業情報"} <= labels(again)
    assert not {"アカウント連携", "ポイント残高"} & labels(again)


def test_an_unlinked_user_who_re_adds_is_still_asked_to_link(chat):
    chat.follow()
    assert chat.event("unfollow") == []
    again = chat.event("follow", follow={"isUnblocked": True})
    assert "おかえりなさい" not in texts_of(again)
    assert "アカウント連携" in labels(again)
