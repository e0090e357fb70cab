"""The live chat from the back office's side, over real HTTP: the running bot's console, the
LINE emulator recording what LINE would see, the database after (issue 15 part 2).

An operator opens a chat (audited with the viewer; the user's messages marked read on LINE),
replies (by reply token while it is fresh, else by push with a retry key; a double click
sends once), writes a note and closes it (the user is told and the bot answers again)."""

from __future__ import annotations

import re

import pytest
import requests
from sqlalchemy import func, select

from models import audit
from models.events import OutgoingMessage
from models.handoff import Handoff, HandoffMessage, HandoffStatus
from models.operators import create_operator
from tests.concurrent_clicks import post_at_once
from tests.e2e import texts_of, wait_until
from tests.test_inquiries_support import link, make_company

pytestmark = pytest.mark.usefixtures("cheap_hashing")

EMAIL = "chat-desk@example.jp"
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
def console(bot_server, services, db, app_clock) -> tuple[requests.Session, str]:
    """A logged-in operator's browser session on the running bot, and its base URL."""
    create_operator(db, app_clock, EMAIL, PASSWORD)
    db.commit()
    base = bot_server.config["SERVER_URL"]
    browser = requests.Session()
    login_page = browser.get(f"{base}/admin/login", timeout=10).text
    response = browser.post(
        f"{base}/admin/login",
        data={"email": EMAIL, "password": PASSWORD, "csrf_token": _token(login_page)},
        timeout=10,
    )
    assert response.status_code == 200
    return browser, base


def _open(chat, dbview) -> Handoff:
    chat.say("担当者と話したい")
    chat.say("ポイントが反映されていません")
    dbview.expire_all()
    return dbview.scalars(select(Handoff).where(Handoff.line_user_id == chat.user_id)).one()


def _reply(browser, base, handoff_id: int, message: str, **extra: str) -> requests.Response:
    page = browser.get(f"{base}/admin/handoffs/{handoff_id}", timeout=10).text
    data = {"csrf_token": _token(page), "client_key": _client_key(page), "message": message}
    data.update(extra)
    return browser.post(f"{base}/admin/handoffs/{handoff_id}/reply", data=data, timeout=10)


def test_the_operator_sees_who_it_is_and_opening_is_audited_and_marks_read(
    console, chat, db, dbview, app_clock, emulator
) -> None:
    browser, base = console
    issued = make_company(db, app_clock, name="既読商事")
    member = link(db, app_clock, chat.user_id, issued.members[0].member_id)
    handoff = _open(chat, dbview)

    listing = browser.get(f"{base}/admin/handoffs", timeout=10)
    assert listing.status_code == 200
    assert f"会員 {member.member_id}" in listing.text and "要対応（1）" in listing.text
    assert chat.user_id not in listing.text  # never a raw LINE id

    page = browser.get(f"{base}/admin/handoffs/{handoff.id}", timeout=10)
    assert page.status_code == 200
    assert "ポイントが反映されていません" in page.text and "既読商事" in page.text
    assert "ポイント残高" in page.text and "pt" in page.text
    assert chat.user_id not in page.text

    dbview.expire_all()
    views = audit.entries(dbview, target=f"handoff:{handoff.id}", action="handoff_viewed")
    assert [v.actor for v in views] == [f"operator:{EMAIL}"]

    read_calls = emulator.calls("/v2/bot/chat/markAsRead")
    assert [c["status"] for c in read_calls] == [200]
    assert set(read_calls[0]["body"]) == {"markAsReadToken"}
    assert len(emulator.read_marks(chat.user_id)) == 1
    dbview.expire_all()
    unread = dbview.scalar(
        select(func.count())
        .select_from(HandoffMessage)
        .where(
            HandoffMessage.handoff_id == handoff.id,
            HandoffMessage.sender == "user",
            HandoffMessage.read_at.is_(None),
            HandoffMessage.read_token.is_not(None),
        )
    )
    assert unread == 0
    browser.get(f"{base}/admin/handoffs/{handoff.id}", timeout=10)
    assert len(emulator.calls("/v2/bot/chat/markAsRead")) == 1  # nothing new to mark
    assert len(audit.entries(dbview, target=f"handoff:{handoff.id}", action="handoff_viewed")) == 2


def test_replies_go_by_reply_token_while_fresh_then_by_push_with_a_retry_key(
    console, chat, dbview, app_clock, emulator
) -> None:
    browser, base = console
    handoff = _open(chat, dbview)
    sent = _reply(browser, base, handoff.id, "確認いたします。少々お待ちください。")
    assert sent.status_code == 200 and "返信を送信しました。" in sent.text
    got = wait_until(lambda: chat.new_messages(), what="the operator's reply")
    assert "【担当者】\n確認いたします。" in texts_of(got)
    assert "ボットに戻る" in texts_of(got)
    assert [c["status"] for c in emulator.calls("/v2/bot/message/reply")][-1] == 200

    chat.say("ありがとうございます。待ちます。")
    app_clock.advance(minutes=2)  # the user's reply token is stale now
    canned = _reply(browser, base, handoff.id, "", canned="後ほど連絡")
    assert canned.status_code == 200
    got = wait_until(lambda: chat.new_messages(), what="the pushed reply")
    assert "分かり次第、このトークでご連絡いたします" in texts_of(got)
    push = emulator.calls("/v2/bot/message/push")[-1]
    assert push["status"] == 200 and push["headers"].get("X-Line-Retry-Key")

    dbview.expire_all()
    handoff = dbview.get(Handoff, handoff.id)
    assert handoff.status == HandoffStatus.ACTIVE and handoff.assignee_id is not None
    operator_lines = dbview.scalars(
        select(HandoffMessage.text).where(
            HandoffMessage.handoff_id == handoff.id, HandoffMessage.sender == "operator"
        )
    ).all()
    assert len(operator_lines) == 2


def test_a_double_click_sends_once(console, chat, dbview) -> None:
    browser, base = console
    handoff = _open(chat, dbview)
    page = browser.get(f"{base}/admin/handoffs/{handoff.id}", timeout=10).text
    form = {"csrf_token": _token(page), "client_key": _client_key(page), "message": "一度だけ"}
    n = 8
    results = post_at_once(
        browser, f"{base}/admin/handoffs/{handoff.id}/reply", form, n, allow_redirects=False
    )
    assert all(isinstance(r, requests.Response) for r in results), results
    codes = sorted(r.status_code for r in results)
    assert codes.count(302) == 1 and codes.count(409) == n - 1, codes
    assert all("すでに送信されています" in r.text for r in results if r.status_code == 409)
    dbview.expire_all()
    queued = dbview.scalar(
        select(func.count())
        .select_from(OutgoingMessage)
        .where(OutgoingMessage.dedupe_key.like("handoff-reply:%"))
    )
    assert queued == 1
    got = wait_until(lambda: chat.new_messages(), what="the one reply")
    assert texts_of(got).count("一度だけ") == 1


def test_closing_tells_the_user_and_gives_the_chat_back_to_the_bot(
    console, chat, dbview, emulator
) -> None:
    browser, base = console
    handoff = _open(chat, dbview)
    page = browser.get(f"{base}/admin/handoffs/{handoff.id}", timeout=10).text
    note = browser.post(
        f"{base}/admin/handoffs/{handoff.id}/note",
        data={"csrf_token": _token(page), "note": "ポイント反映の遅れ。経理に確認済み。"},
        timeout=10,
    )
    assert note.status_code == 200 and "メモを保存しました。" in note.text
    closed = browser.post(
        f"{base}/admin/handoffs/{handoff.id}/close",
        data={"csrf_token": _token(page)},
        timeout=10,
    )
    assert closed.status_code == 200 and "対応済みにしました" in closed.text
    assert f"（{EMAIL}）" in closed.text  # who closed it, by e-mail
    told = wait_until(lambda: chat.new_messages(), what="the closing notice")
    assert "これからはボットがお答えします" in texts_of(told)
    again = browser.post(
        f"{base}/admin/handoffs/{handoff.id}/close", data={"csrf_token": _token(page)}, timeout=10
    )
    assert again.status_code == 409 and "すでに対応済み" in again.text
    late = browser.post(  # the form of the page opened before it was closed
        f"{base}/admin/handoffs/{handoff.id}/reply",
        data={"csrf_token": _token(page), "client_key": _client_key(page), "message": "遅い"},
        timeout=10,
    )
    assert late.status_code == 409 and "すでに対応済み" in late.text
    assert "ポイント" in texts_of(chat.say("残高"))  # the bot answers again
    dbview.expire_all()
    handoff = dbview.get(Handoff, handoff.id)
    assert handoff.status == HandoffStatus.CLOSED and handoff.closed_by == f"operator:{EMAIL}"
    assert handoff.note.startswith("ポイント反映の遅れ")
    listed = browser.get(f"{base}/admin/handoffs?status=closed", timeout=10).text
    assert f"#{handoff.id}" in listed


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ("", "本文を入力するか"),
        ("あ" * 1001, "1000文字以内"),
        ("新しいパスワードは Abcd2345Efgh です", "パスワードのような文字列"),
    ],
)
def test_bad_replies_are_refused_politely(console, chat, dbview, message, error) -> None:
    browser, base = console
    handoff = _open(chat, dbview)
    refused = _reply(browser, base, handoff.id, message)
    assert refused.status_code == 400 and error in refused.text
    assert chat.new_messages() == []


def test_every_door_is_guarded(console, chat, dbview, bot_server) -> None:
    browser, base = console
    handoff = _open(chat, dbview)
    stranger = requests.Session()
    anonymous = stranger.get(f"{base}/admin/handoffs/{handoff.id}", timeout=10)
    assert "ログイン" in anonymous.text and "ポイントが反映されていません" not in anonymous.text
    no_csrf = browser.post(
        f"{base}/admin/handoffs/{handoff.id}/reply",
        data={"message": "x", "client_key": "k" * 10},
        timeout=10,
    )
    assert no_csrf.status_code == 400
    assert browser.get(f"{base}/admin/handoffs/999999", timeout=10).status_code == 404
    assert browser.get(f"{base}/admin/handoffs/abc", timeout=10).status_code == 404
    page = browser.get(f"{base}/admin/handoffs/{handoff.id}", timeout=10).text
    long_note = browser.post(
        f"{base}/admin/handoffs/{handoff.id}/note",
        data={"csrf_token": _token(page), "note": "x" * 2001},
        timeout=10,
    )
    assert long_note.status_code == 400 and "2000文字以内" in long_note.text
    bad_key = browser.post(
        f"{base}/admin/handoffs/{handoff.id}/reply",
        data={"csrf_token": _token(page), "message": "こんにちは", "client_key": "k" * 65},
        timeout=10,
    )
    assert bad_key.status_code == 400
    assert browser.get(f"{base}/admin/handoffs?status=zzz", timeout=10).status_code == 200
