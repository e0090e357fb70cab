"""Ticket threads over real HTTP (issue 15 part 1): the running bot, its console, the LINE
emulator recording what LINE would see, the database after.

A ticket waiting for the requester takes their next texts (confirmed, back to 対応中, the
operator e-mailed); 問い合わせ状況 offers 「INQ-…に追記」 for the requester's own open
tickets; the operator's messages reach the requester (reply token while LINE accepts it, else
push with a retry key) and a double click sends once."""

from __future__ import annotations

import copy
import re
from email.message import EmailMessage

import pytest
import requests
from sqlalchemy import func, select

from adapters.mail import send_due_mail
from models.events import OutgoingMessage
from models.inquiries import Inquiry, InquiryStatus, InquiryType, assign, create_inquiry
from models.inquiry_thread import InquiryMessage
from models.mail import MailSettings, OutgoingMail
from models.operators import create_operator
from tests.concurrent_clicks import post_at_once
from tests.e2e import actions_of, event_settled, texts_of, wait_until
from tests.helpers import event_id
from tests.test_inquiries_support import link, make_company

pytestmark = pytest.mark.usefixtures("cheap_hashing")

EMAIL = "thread-desk@example.jp"
PASSWORD = "correct-horse-battery"


def _token(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, page
    return match.group(1)


def _client_key(page: str) -> str:
    match = re.search(r'name="client_key" value="([^"]+)"', page)
    assert match, page
    return match.group(1)


@pytest.fixture
def operator(db, app_clock, services):
    row, _ = create_operator(db, app_clock, EMAIL, PASSWORD)
    db.commit()
    return row


@pytest.fixture
def console(bot_server, operator) -> tuple[requests.Session, str]:
    """A logged-in operator's browser session on the running bot, and its base URL."""
    return _login(bot_server.config["SERVER_URL"])


def _login(base: str) -> tuple[requests.Session, str]:
    browser = requests.Session()
    login_page = browser.get(f"{base}/admin/login", timeout=10).text
    response = browser.post(
        f"{base}/admin/login",
        data={"email": EMAIL, "password": PASSWORD, "csrf_token": _token(login_page)},
        timeout=10,
    )
    assert response.status_code == 200
    return browser, base


@pytest.fixture
def ticket(chat, db, app_clock, operator) -> Inquiry:
    """An employee's points question, assigned to the operator."""
    issued = make_company(db, app_clock, name="スレッド商事")
    member = link(db, app_clock, chat.user_id, issued.members[0].member_id)
    inquiry = create_inquiry(
        db,
        app_clock,
        type=InquiryType.POINTS,
        line_user_id=chat.user_id,
        member=member,
        answers={"points_when": "2026年3月", "detail": "ポイントが少ないようです"},
    )
    assign(db, app_clock, inquiry, operator.id, f"operator:{EMAIL}")
    db.commit()
    return inquiry


def _fresh(dbview, inquiry: Inquiry) -> Inquiry:
    dbview.expire_all()
    row = dbview.get(Inquiry, inquiry.id)
    assert row is not None
    return row


def _messages(dbview, inquiry: Inquiry, sender: str | None = None) -> list[InquiryMessage]:
    dbview.expire_all()
    stmt = select(InquiryMessage).where(InquiryMessage.inquiry_id == inquiry.id)
    if sender:
        stmt = stmt.where(InquiryMessage.sender == sender)
    return list(dbview.scalars(stmt.order_by(InquiryMessage.id)))


def _set_status(browser, base, number: str, status: str, message: str = "") -> None:
    page = browser.get(f"{base}/admin/inquiries/{number}", timeout=10).text
    response = browser.post(
        f"{base}/admin/inquiries/{number}/status",
        data={"csrf_token": _token(page), "status": status, "message": message},
        timeout=10,
        allow_redirects=False,
    )
    assert response.status_code == 302, response.text
    assert response.headers["Location"].startswith(f"/admin/inquiries/{number}")


def _post(browser, base, number: str, message: str, **extra: str) -> requests.Response:
    page = browser.get(f"{base}/admin/inquiries/{number}", timeout=10).text
    data = {"csrf_token": _token(page), "client_key": _client_key(page), "message": message}
    data.update(extra)
    return browser.post(f"{base}/admin/inquiries/{number}/messages", data=data, timeout=10)


class RecordingSender:
    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []

    def send(self, message: EmailMessage) -> None:
        self.sent.append(message)


# -- the requester answers a ticket waiting for them ------------------------------------------


def test_waiting_push_then_the_next_text_is_attached_confirmed_reopened_and_mailed(
    console, chat, ticket, dbview, services
) -> None:
    browser, base = console
    _set_status(browser, base, ticket.number, "waiting", "ご利用日と金額を教えてください。")
    pushed = wait_until(lambda: chat.new_messages(), what="the WAITING push")
    said = texts_of(pushed)
    assert "お客さまの回答待ち" in said and "ご利用日と金額を教えてください。" in said
    assert "このトークにそのまま入力" in said  # what happens next
    assert "この件に返信する" in [a.get("label") for a in actions_of(pushed)]

    got = chat.say("3月10日、5,000円の利用です。")
    assert f"{ticket.number} に送信しました" in texts_of(got)
    assert "送信を終わる" in [a.get("label") for a in actions_of(got)]

    row = _fresh(dbview, ticket)
    assert row.status is InquiryStatus.IN_PROGRESS
    assert [(e.from_status, e.to_status) for e in row.events if e.kind == "status"][-1] == (
        "waiting",
        "in_progress",
    )
    lines = _messages(dbview, ticket)
    assert [(m.sender, m.text) for m in lines] == [("requester", "3月10日、5,000円の利用です。")]
    mail = dbview.scalars(
        select(OutgoingMail).where(OutgoingMail.dedupe_key == f"inquiry-message:{lines[0].id}")
    ).one()
    assert mail.to == [EMAIL]  # the assigned operator
    assert ticket.number in mail.subject and "5,000円" in mail.body and "対応中" in mail.body
    sender = RecordingSender()
    assert send_due_mail(services.runtime, sender=sender, settings=MailSettings())["sent"] >= 1
    assert any(ticket.number in str(m["Subject"]) for m in sender.sent)

    more = chat.say("レシートもあります。")
    assert f"{ticket.number} に送信しました" in texts_of(more)
    assert len(_messages(dbview, ticket)) == 2
    assert "送信を終わりました" in texts_of(chat.say("送信を終わる"))
    assert "ポイント" in texts_of(chat.say("残高"))  # the bot answers again
    assert len(_messages(dbview, ticket)) == 2


def test_a_redelivered_message_is_attached_once(console, chat, ticket, dbview, emulator) -> None:
    browser, base = console
    _set_status(browser, base, ticket.number, "waiting", "ご確認ください。")
    wait_until(lambda: chat.new_messages(), what="the WAITING push")
    first = emulator.send_text(chat.user_id, "再送されても一度だけ")
    wait_until(lambda: event_settled(chat.factory, first["webhookEventId"]), what="first")
    assert f"{ticket.number} に送信しました" in texts_of(chat.new_messages())
    again = emulator.deliver({"destination": "U0", "events": [first["event"]]}, redelivery=True)
    assert again["status"] == 200
    # The same LINE message under another webhookEventId (its message id decides).
    twin = {**copy.deepcopy(first["event"]), "webhookEventId": event_id()}
    assert emulator.deliver({"destination": "U0", "events": [twin]})["status"] == 200
    wait_until(lambda: event_settled(chat.factory, twin["webhookEventId"]), what="twin")
    lines = _messages(dbview, ticket)
    assert [m.text for m in lines] == ["再送されても一度だけ"]
    mails = dbview.scalar(
        select(func.count())
        .select_from(OutgoingMail)
        .where(OutgoingMail.dedupe_key.like("inquiry-message:%"))
    )
    assert mails == 1


def test_bad_texts_are_refused_and_nothing_is_attached(console, chat, ticket, dbview) -> None:
    browser, base = console
    _set_status(browser, base, ticket.number, "waiting", "ご確認ください。")
    wait_until(lambda: chat.new_messages(), what="the WAITING push")
    assert "1000文字以内" in texts_of(chat.say("あ" * 1001))
    assert "パスワードのような文字列" in texts_of(chat.say("パスワードは Abcd2345Efgh です"))
    assert _messages(dbview, ticket) == []
    assert _fresh(dbview, ticket).status is InquiryStatus.WAITING


def test_the_reply_mode_ends_after_seven_days_unanswered_or_thirty_idle_minutes(
    console, chat, ticket, dbview, app_clock
) -> None:
    browser, base = console
    _set_status(browser, base, ticket.number, "waiting", "ご確認ください。")
    wait_until(lambda: chat.new_messages(), what="the WAITING push")
    app_clock.advance(days=6, hours=23)
    assert f"{ticket.number} に送信しました" in texts_of(chat.say("遅くなりました。"))
    app_clock.advance(minutes=31)
    said = texts_of(chat.say("残高"))
    assert "時間切れで終了しました" in said and "ポイント" in said
    assert [m.text for m in _messages(dbview, ticket)] == ["遅くなりました。"]

    browser, base = _login(base)  # a week later: the console session has ended
    _set_status(browser, base, ticket.number, "waiting", "もう一点ご確認ください。")
    wait_until(lambda: chat.new_messages(), what="the second WAITING push")
    app_clock.advance(days=7, minutes=1)
    said = texts_of(chat.say("残高"))
    assert "時間切れで終了しました" in said and "ポイント" in said
    assert len(_messages(dbview, ticket)) == 1


# -- 問い合わせ状況: append to one's own open tickets ------------------------------------------


def test_status_offers_to_append_to_ones_own_open_tickets_only(
    chat, new_chat, ticket, db, dbview, app_clock
) -> None:
    done = create_inquiry(
        db,
        app_clock,
        type=InquiryType.OTHER,
        line_user_id=chat.user_id,
        member=None,
        answers={"detail": "完了した件"},
    )
    done.status = InquiryStatus.DONE
    db.commit()
    got = chat.say("問い合わせ状況")
    labels = [a.get("label") for a in actions_of(got)]
    assert f"{ticket.number}に追記" in labels and f"{done.number}に追記" not in labels

    opened = chat.tap(f"action=ticket_reply&number={ticket.number}")
    assert f"{ticket.number}（ポイントについて）への返信・追記" in texts_of(opened)
    sent = chat.say("追加の情報です。")
    assert f"{ticket.number} に送信しました" in texts_of(sent)
    assert [m.text for m in _messages(dbview, ticket)] == ["追加の情報です。"]
    assert _fresh(dbview, ticket).status is InquiryStatus.NEW  # only WAITING goes back
    assert "送信を終わりました" in texts_of(chat.say("やめる"))

    closed = chat.tap(f"action=ticket_reply&number={done.number}")
    assert "追記できません" in texts_of(closed)

    stranger = new_chat("ほかの人")
    refused = stranger.tap(f"action=ticket_reply&number={ticket.number}")
    assert "見つかりませんでした" in texts_of(refused)
    assert "追加の情報です" not in texts_of(stranger.say("私の書き込み"))
    assert len(_messages(dbview, ticket)) == 1


# -- the operator's messages ------------------------------------------------------------------


def test_operator_messages_go_by_fresh_reply_token_else_by_push_with_a_retry_key(
    console, chat, ticket, dbview, emulator, app_clock
) -> None:
    browser, base = console
    chat.say("こんにちは")  # answered by the bot: its reply token is used
    sent = _post(browser, base, ticket.number, "ご利用明細を確認しました。")
    assert sent.status_code == 200 and "ご利用明細を確認しました。" in sent.text  # the thread
    got = wait_until(lambda: chat.new_messages(), what="the pushed message")
    assert f"【事務局より {ticket.number}】\nご利用明細を確認しました。" in texts_of(got)
    assert "この件に返信する" in [a.get("label") for a in actions_of(got)]
    push = emulator.calls("/v2/bot/message/push")[-1]
    assert push["status"] == 200 and push["headers"].get("X-Line-Retry-Key")

    # An event the bot does not answer leaves its reply token unused for a minute.
    chat.event("videoPlayComplete", videoPlayComplete={"trackingId": "t1"})
    replies_before = len(emulator.calls("/v2/bot/message/reply"))
    assert _post(browser, base, ticket.number, "続けてご連絡します。").status_code == 200
    wait_until(lambda: chat.new_messages(), what="the replied message")
    replies = emulator.calls("/v2/bot/message/reply")
    assert len(replies) == replies_before + 1 and replies[-1]["status"] == 200
    pushes_before = len(emulator.calls("/v2/bot/message/push"))
    assert _post(browser, base, ticket.number, "三通目です。").status_code == 200  # token used
    wait_until(lambda: chat.new_messages(), what="the third message")
    assert len(emulator.calls("/v2/bot/message/push")) == pushes_before + 1

    chat.event("videoPlayComplete", videoPlayComplete={"trackingId": "t2"})
    app_clock.advance(minutes=2)  # too old for LINE now
    assert _post(browser, base, ticket.number, "四通目です。").status_code == 200
    wait_until(lambda: chat.new_messages(), what="the fourth message")
    assert [m.via for m in _messages(dbview, ticket, "operator")] == [
        "push",
        "reply",
        "push",
        "push",
    ]
    assert _fresh(dbview, ticket).status is InquiryStatus.NEW  # a message changes no status


def test_a_double_click_sends_once(console, chat, ticket, dbview) -> None:
    browser, base = console
    page = browser.get(f"{base}/admin/inquiries/{ticket.number}", timeout=10).text
    form = {"csrf_token": _token(page), "client_key": _client_key(page), "message": "一度だけ"}
    n = 6
    results = post_at_once(
        browser, f"{base}/admin/inquiries/{ticket.number}/messages", form, n, allow_redirects=False
    )
    assert all(isinstance(r, requests.Response) for r in results), results
    codes = sorted(r.status_code for r in results)
    assert codes.count(302) == 1 and codes.count(409) == n - 1, codes
    assert all("すでに送信されています" in r.text for r in results if r.status_code == 409)
    assert len(_messages(dbview, ticket, "operator")) == 1
    queued = dbview.scalar(
        select(func.count())
        .select_from(OutgoingMessage)
        .where(OutgoingMessage.dedupe_key.like("inquiry-message:%"))
    )
    assert queued == 1
    got = wait_until(lambda: chat.new_messages(), what="the one message")
    assert texts_of(got).count("一度だけ") == 1


@pytest.mark.parametrize(
    ("message", "extra", "status", "error"),
    [
        ("", {}, 400, "本文を入力してください"),
        ("   ", {}, 400, "本文を入力してください"),
        ("あ" * 1001, {}, 400, "1000文字以内"),
        ("新しいパスワードは Abcd2345Efgh です", {}, 400, "パスワードのような文字列"),
        ("こんにちは", {"client_key": "k" * 65}, 400, "フォームが正しくありません"),
        ("こんにちは", {"client_key": ""}, 400, "フォームが正しくありません"),
    ],
)
def test_bad_operator_messages_are_refused_politely(
    console, chat, ticket, dbview, message, extra, status, error
) -> None:
    browser, base = console
    refused = _post(browser, base, ticket.number, message, **extra)
    assert refused.status_code == status and error in refused.text
    assert _messages(dbview, ticket) == []
    assert chat.new_messages() == []


def test_every_door_is_guarded(console, chat, ticket, db, dbview) -> None:
    browser, base = console
    page = browser.get(f"{base}/admin/inquiries/{ticket.number}", timeout=10).text
    form = {"csrf_token": _token(page), "client_key": _client_key(page), "message": "こんにちは"}
    stranger = requests.Session()  # not logged in, with a good CSRF token of its own
    own_token = _token(stranger.get(f"{base}/admin/login", timeout=10).text)
    anonymous = stranger.post(
        f"{base}/admin/inquiries/{ticket.number}/messages",
        data={**form, "csrf_token": own_token},
        timeout=10,
        allow_redirects=False,
    )
    assert anonymous.status_code == 302 and "/admin/login" in anonymous.headers["Location"]
    no_csrf = browser.post(
        f"{base}/admin/inquiries/{ticket.number}/messages",
        data={"client_key": "k" * 10, "message": "x"},
        timeout=10,
    )
    assert no_csrf.status_code == 400
    missing = browser.post(f"{base}/admin/inquiries/INQ-999999/messages", data=form, timeout=10)
    assert missing.status_code == 404
    assert _messages(dbview, ticket) == []
    row = db.get(Inquiry, ticket.id)
    row.status = InquiryStatus.DONE
    db.commit()
    late = browser.post(f"{base}/admin/inquiries/{ticket.number}/messages", data=form, timeout=10)
    assert late.status_code == 409 and "完了しているため" in late.text
    assert _messages(dbview, ticket) == []
    assert chat.new_messages() == []
