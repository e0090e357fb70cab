"""The console in a real browser (Playwright driving Debian's chromium, no browser download):
a chat files a ticket, an operator logs in, finds it, changes its status with a message, and
the requester receives the push in the emulator."""

from __future__ import annotations

import re

import pytest

from models.operators import create_operator
from tests.e2e import texts_of, wait_until
from tests.test_inquiries_support import (
    CheckedChat,
    link,
    make_company,
)

EMAIL = "desk@example.jp"
PASSWORD = "browser-test-password"


pytestmark = pytest.mark.usefixtures("cheap_hashing")


def test_operator_answers_a_chat_ticket_and_the_requester_gets_the_push(
    browser, chat, db, app_clock, bot_server
):
    from playwright.sync_api import expect

    issued = make_company(db, app_clock, name="ブラウザ商事")
    link(db, app_clock, chat.user_id, issued.hr_contacts[0].member_id)
    create_operator(db, app_clock, EMAIL, PASSWORD)
    db.commit()

    user = CheckedChat(chat)
    user.tap("action=inquiry&type=other")
    user.say("請求書の送付先を変更したいです。")
    number = re.search(r"INQ-\d{6}", user.say("送信").body).group(0)

    base = bot_server.config["SERVER_URL"]
    page = browser.new_page()
    page.goto(f"{base}/admin/inquiries")
    expect(page.get_by_role("heading", name="事務局コンソール ログイン")).to_be_visible()
    page.get_by_label("メールアドレス").fill(EMAIL)
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="ログイン").click()

    expect(page.get_by_role("heading", name="お問い合わせ一覧")).to_be_visible()
    page.get_by_label("企業（コードまたは名称）").fill("ブラウザ")
    page.get_by_role("button", name="絞り込む").click()
    page.get_by_role("link", name=number).click()

    expect(page.get_by_role("heading", name=f"{number} その他のご質問")).to_be_visible()
    expect(page.get_by_text("請求書の送付先を変更したいです。")).to_be_visible()
    page.get_by_role("button", name="自分に割り当てる").click()
    expect(page.locator("#assignee")).to_have_text(EMAIL)
    page.get_by_label("新しいステータス").select_option(label="完了")
    page.get_by_label("お客さまへのメッセージ").fill(
        "送付先を変更しました。ご連絡ありがとうございました。"
    )
    page.get_by_role("button", name="変更して通知する").click()
    expect(page.locator("#status")).to_have_text("完了")
    expect(page.get_by_role("status")).to_have_text("保存しました。")

    pushed = wait_until(
        lambda: [m for m in chat.new_messages() if number in texts_of([m])],
        what="the status push in the emulator",
    )
    body = texts_of(pushed)
    assert "「完了」" in body and "送付先を変更しました。" in body
    assert "ありません" in user.say("問い合わせ状況").body  # closed tickets are not listed
