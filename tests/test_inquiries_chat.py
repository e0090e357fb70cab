"""Inquiry forms through the emulator: every type, bad answers, back, cancel, edit, timeout,
authorization, ticket numbers, "問い合わせ状況" and the back-office mail queued with the ticket."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models.conversation import Conversation
from models.inquiries import Inquiry, InquiryStatus, InquiryType, RequesterKind
from models.mail import OutgoingMail
from tests.test_inquiries_support import (
    CheckedChat,
    link,
    make_company,
)

pytestmark = pytest.mark.usefixtures("cheap_hashing")


@pytest.fixture
def acme(db, app_clock, services):
    return make_company(db, app_clock, name="アクメ株式会社", seats=3, seat_limit=5, hr_contacts=2)


@pytest.fixture
def other(db, app_clock, services):
    return make_company(db, app_clock, name="他社工業", seats=2, seat_limit=2)


@pytest.fixture
def hr(chat, db, app_clock, acme):
    link(db, app_clock, chat.user_id, acme.hr_contacts[0].member_id)
    return CheckedChat(chat)


@pytest.fixture
def employee(new_chat, db, app_clock, acme):
    user = new_chat("従業員")
    link(db, app_clock, user.user_id, acme.members[0].member_id)
    return CheckedChat(user)


def tickets(dbview) -> list[Inquiry]:
    dbview.expire_all()
    return list(dbview.scalars(select(Inquiry).order_by(Inquiry.id)))


def open_form(dbview, user_id: str) -> Conversation | None:
    dbview.expire_all()
    return dbview.get(Conversation, user_id)


# -- HR contact: add seats --------------------------------------------------------------------


def test_hr_menu_offers_company_requests(hr):
    turn = hr.say("問い合わせ")
    assert "企業担当者さま" in turn.body
    assert {
        "ID追加の申請",
        "退職者の利用停止",
        "コード・ID・PW再送",
        "サービス停止の申請",
        "その他の質問",
        "問い合わせ状況",
    } <= set(turn.labels)
    assert "ポイントについて" not in turn.labels
    assert "action=inquiry&type=add_seats" in {a.get("data") for a in turn.actions}


def test_add_seats_checks_the_number_and_the_plan_limit(hr, dbview, acme):
    turn = hr.tap("action=inquiry&type=add_seats")
    assert "現在 3件" in turn.body and "上限は 5件" in turn.body and "あと 2件" in turn.body
    assert {"戻る", "やめる"} <= set(turn.labels)
    for bad in ("0", "-1", "たくさん", "1.5"):
        turn = hr.say(bad)
        assert "1以上の整数" in turn.body, bad
        assert {"戻る", "やめる"} <= set(turn.labels)
    turn = hr.say("３")  # full width, above the remaining 2
    assert "あと 2件" in turn.body and "上限を超えています" in turn.body
    turn = hr.say("２件")
    assert "追加するID数：2" in turn.body
    assert {"送信", "修正", "やめる"} <= set(turn.labels)
    turn = hr.say("送信")
    [ticket] = tickets(dbview)
    assert ticket.number in turn.body and ticket.number.startswith("INQ-")
    assert ticket.type is InquiryType.ADD_SEATS and ticket.status is InquiryStatus.NEW
    assert ticket.answers == {"seat_count": 2}
    assert ticket.company_id is not None and ticket.company_code == acme.company_code
    assert ticket.requester_kind is RequesterKind.HR_CONTACT
    assert open_form(dbview, hr.user_id) is None
    mail = dbview.scalars(select(OutgoingMail)).one()
    assert mail.to == ["joyo-be@joyobank.co.jp"]
    assert ticket.number in mail.subject and "ID追加" in mail.subject
    assert "追加するID数：2" in mail.body and acme.company_code in mail.body


def test_add_seats_refused_when_the_plan_is_full(chat, db, app_clock, other, dbview):
    link(db, app_clock, chat.user_id, other.hr_contacts[0].member_id)
    turn = CheckedChat(chat).tap("action=inquiry&type=seats")  # the FAQ's spelling
    assert "上限（2件）" in turn.body
    assert open_form(dbview, chat.user_id) is None


# -- HR contact: retired employee, edit, back, cancel ----------------------------------------


def test_retire_form_checks_the_member_belongs_to_the_company(hr, dbview, acme, other):
    turn = hr.tap("action=inquiry&type=retire")
    assert "お名前" in turn.body and "戻る" in turn.body  # first step explains 戻る / やめる
    turn = hr.say("山田 太郎")
    assert "会員ID" in turn.body
    assert "見つかりませんでした" in hr.say(other.members[0].member_id).body  # another company
    assert "見つかりませんでした" in hr.say("ZZZZ9999ZZ").body  # unknown
    assert "形式" in hr.say("あいう").body
    assert "企業担当者さまのID" in hr.say(acme.hr_contacts[1].member_id).body
    target = acme.members[1].member_id
    turn = hr.say(target.lower())  # any case, as phones type it
    assert f"退職者の会員ID：{target}" in turn.body and "山田 太郎" in turn.body
    # 修正: pick the name, type it again, back at the summary with the new value.
    turn = hr.say("修正")
    assert {"退職者のお名前", "退職者の会員ID", "戻る", "やめる"} <= set(turn.labels)
    assert "下のボタン" in hr.say("住所").body
    assert "お名前" in hr.say("退職者のお名前").body
    turn = hr.say("山田 花子")
    assert "山田 花子" in turn.body and target in turn.body and "送信" in turn.labels
    hr.say("送信")
    [ticket] = tickets(dbview)
    assert ticket.answers == {"retiree_name": "山田 花子", "retiree_member_id": target}


def test_back_goes_to_the_previous_question_and_cancel_ends_the_form(hr, dbview):
    hr.tap("action=inquiry&type=retire")
    assert "最初の質問" in hr.say("戻る").body
    hr.say("佐藤 一郎")
    turn = hr.say("戻る")  # from the ID question back to the name
    assert "お名前" in turn.body
    assert open_form(dbview, hr.user_id).step == "retiree_name"
    assert open_form(dbview, hr.user_id).data["answers"] == {}
    turn = hr.say("やめる")
    assert "中止しました" in turn.body
    assert open_form(dbview, hr.user_id) is None
    assert tickets(dbview) == []


def test_back_from_the_summary_and_cancel_at_the_summary(hr, dbview):
    hr.tap("action=inquiry&type=stop_service")
    assert "日付がわかるように" in hr.say("なるべく早く").body
    hr.say("2026年6月30日")
    hr.say("事業所の閉鎖のため")
    turn = hr.say("戻る")
    assert "理由" in turn.body
    turn = hr.say("経費削減のため")
    assert "経費削減のため" in turn.body and "停止希望日：2026年6月30日" in turn.body
    assert "下のボタン" in hr.say("はい").body
    assert "中止しました" in hr.say("やめる").body
    assert tickets(dbview) == []


def test_a_form_left_alone_for_30_minutes_expires(hr, dbview, app_clock):
    hr.tap("action=inquiry&type=other")
    app_clock.advance(minutes=31)
    turn = hr.say("送信")
    assert "30分間操作がなかったため終了しました" in turn.body
    assert open_form(dbview, hr.user_id) is None
    assert tickets(dbview) == []


def test_entry_word_inside_a_form_restarts_at_the_menu(hr, dbview):
    hr.tap("action=inquiry&type=other")
    turn = hr.say("問い合わせ")
    assert "ご用件をお選びください" in turn.body
    assert open_form(dbview, hr.user_id) is None


def test_hr_lost_credentials_asks_for_the_member_only_when_ids_are_wanted(hr, dbview, acme):
    turn = hr.tap("action=inquiry&type=credentials")
    assert {"企業コード", "ID・パスワード", "すべて"} <= set(turn.labels)
    assert "下のボタン" in hr.say("全部ください").body
    turn = hr.say("企業コード")
    assert "再送を希望するもの：企業コード" in turn.body and "送信" in turn.labels
    hr.say("修正")
    hr.say("再送を希望するもの")
    turn = hr.say("ID・パスワード")
    assert "自分のID" in turn.labels
    turn = hr.say("自分のID")
    assert f"対象の会員ID：{acme.hr_contacts[0].member_id}" in turn.body
    hr.say("送信")
    [ticket] = tickets(dbview)
    assert ticket.answers == {
        "credential_what": "ID・パスワード",
        "target_member_id": acme.hr_contacts[0].member_id,
    }


def test_other_question_keeps_the_text_and_limits_its_length(hr, dbview):
    hr.tap("action=inquiry&type=other")
    assert "1000文字以内" in hr.say("あ" * 1001).body
    hr.say("請求書の宛名を変更したいです。")
    hr.say("送信")
    [ticket] = tickets(dbview)
    assert ticket.type is InquiryType.OTHER
    assert ticket.answers == {"detail": "請求書の宛名を変更したいです。"}


# -- employees ----------------------------------------------------------------------------------


def test_employee_gets_employee_types_and_cannot_file_company_requests(employee, dbview):
    turn = employee.say("申請")
    assert {"ポイントについて", "コード・ID・PW再送", "その他の質問"} <= set(turn.labels)
    assert not {"ID追加の申請", "退職者の利用停止", "サービス停止の申請"} & set(turn.labels)
    for kind in ("add_seats", "retire", "stop_service"):
        turn = employee.tap(f"action=inquiry&type={kind}")
        assert "企業担当者さまのみ" in turn.body
        assert open_form(dbview, employee.user_id) is None


def test_art3_1_employee_points_question_cites_article_3(employee, dbview, acme):
    turn = employee.tap("action=inquiry&type=points")
    assert "第3条" in turn.body
    employee.say("2026年3月ごろ")
    employee.say("旅行の予約で付与されたポイントが少ないようです")
    turn = employee.say("送信")
    [ticket] = tickets(dbview)
    assert ticket.number in turn.body
    assert ticket.type is InquiryType.POINTS
    assert ticket.requester_kind is RequesterKind.EMPLOYEE
    assert ticket.requester.member_id == acme.members[0].member_id


def test_employee_lost_credentials_names_their_own_id(employee, dbview, acme):
    employee.tap("action=inquiry&type=credentials")
    employee.say("すべて")
    employee.say("送信")
    [ticket] = tickets(dbview)
    assert ticket.answers["target_member_id"] == acme.members[0].member_id


# -- not linked ---------------------------------------------------------------------------------


def test_unlinked_user_can_ask_a_question_but_not_request_credentials(chat, dbview, acme):
    user = CheckedChat(chat)
    turn = user.say("問い合わせ")
    assert "その他の質問" in turn.labels and "コード・ID・PW再送" not in turn.labels
    assert "ID追加の申請" not in turn.labels and "ポイントについて" not in turn.labels
    assert "企業担当者さまのみ" in user.tap("action=inquiry&type=points").body
    turn = user.tap("action=inquiry&type=credentials")
    assert "ID・パスワードの再送は" in turn.body and "貴社のご担当者さま" in turn.body
    assert open_form(dbview, chat.user_id) is None and tickets(dbview) == []


def test_unlinked_general_question(chat, dbview):
    user = CheckedChat(chat)
    user.tap("action=inquiry&type=other")
    user.say("アプリのダウンロード方法を教えてください")
    turn = user.say("送信")
    [ticket] = tickets(dbview)
    assert ticket.number in turn.body and ticket.company_id is None


# -- 問い合わせ状況 and who sees what -------------------------------------------------------------


def test_status_lists_open_tickets_of_own_company_only(
    hr, employee, new_chat, db, app_clock, acme, other, dbview
):
    assert "対応中のお問い合わせはありません" in hr.say("問い合わせ状況").body
    hr.tap("action=inquiry&type=other")
    hr.say("質問です")
    hr.say("送信")
    employee.tap("action=inquiry&type=other")
    employee.say("従業員の質問です")
    employee.say("送信")
    hr_ticket, employee_ticket = tickets(dbview)

    turn = hr.say("問い合わせ状況")
    assert hr_ticket.number in turn.body and "受付済み" in turn.body
    assert employee_ticket.number not in turn.body

    second_hr = new_chat("担当者2")
    link(db, app_clock, second_hr.user_id, acme.hr_contacts[1].member_id)
    assert hr_ticket.number in CheckedChat(second_hr).say("問い合わせ状況").body

    other_hr = new_chat("他社担当")
    link(db, app_clock, other_hr.user_id, other.hr_contacts[0].member_id)
    assert "ありません" in CheckedChat(other_hr).say("問い合わせ状況").body

    body = employee.say("問い合わせ状況").body
    assert employee_ticket.number in body and hr_ticket.number not in body

    # A closed ticket is no longer listed.
    row = db.get(Inquiry, hr_ticket.id)
    row.status = InquiryStatus.DONE
    db.commit()
    assert "ありません" in hr.say("問い合わせ状況").body


def test_hr_contact_who_lost_the_role_cannot_submit(hr, db, dbview, acme):
    from models.company import Company, CompanyStatus

    hr.tap("action=inquiry&type=add_seats")
    hr.say("1")
    company = db.scalars(select(Company).where(Company.code == acme.company_code)).one()
    company.status = CompanyStatus.SUSPENDED
    db.commit()
    turn = hr.say("送信")
    assert "送信できませんでした" in turn.body
    assert tickets(dbview) == []
