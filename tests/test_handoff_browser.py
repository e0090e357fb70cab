"""A clerk works a live chat in a real browser (Playwright driving Debian's chromium): the user
asks for a person in the emulator's chat, the clerk opens the chat from 有人チャット, reads the
message, answers with a canned reply and a typed one, and closes it; the user gets each."""

from __future__ import annotations

import re

import pytest

from models.operators import create_operator
from tests.e2e import texts_of, wait_until

EMAIL = "live-desk@example.jp"
PASSWORD = "browser-test-password"

pytestmark = pytest.mark.usefixtures("cheap_hashing")


def test_a_clerk_opens_a_live_chat_replies_and_closes_it(browser, chat, db, app_clock, bot_server):
    from playwright.sync_api import expect

    create_operator(db, app_clock, EMAIL, PASSWORD)
    db.commit()
    assert "担当者におつなぎします" in texts_of(chat.say("担当者と話したい"))
    assert chat.say("ポイントの付与日を教えてください") == []

    base = bot_server.config["SERVER_URL"]
    page = browser.new_page()
    page.goto(f"{base}/admin/")
    page.get_by_label("メールアドレス").fill(EMAIL)
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    page.get_by_role("link", name="有人チャット").click()
    expect(page.get_by_role("heading", name="有人チャット")).to_be_visible()
    expect(page.get_by_text("要対応（1）")).to_be_visible()
    page.get_by_role("link", name=re.compile(r"^#\d+$")).click()

    expect(page.get_by_role("heading", name=re.compile("有人チャット #"))).to_be_visible()
    expect(page.get_by_text("ポイントの付与日を教えてください")).to_be_visible()
    page.get_by_label("定型文").select_option(value="確認します")
    page.get_by_role("button", name="返信する").click()
    expect(page.get_by_role("status")).to_have_text("返信を送信しました。")
    got = wait_until(lambda: chat.new_messages(), what="the canned reply")
    assert "担当者が確認いたしますので" in texts_of(got)

    assert chat.say("よろしくお願いします") == []
    page.reload()
    expect(page.get_by_text("よろしくお願いします")).to_be_visible()
    page.get_by_label("返信の本文").fill("付与日は毎月15日です。")
    page.get_by_role("button", name="返信する").click()
    expect(page.get_by_role("status")).to_have_text("返信を送信しました。")
    got = wait_until(lambda: chat.new_messages(), what="the typed reply")
    assert "【担当者】\n付与日は毎月15日です。" in texts_of(got)

    page.get_by_role("button", name="対応済みにする").click()
    expect(page.locator("#handoff-status")).to_contain_text("対応済み")
    told = wait_until(lambda: chat.new_messages(), what="the closing notice")
    assert "これからはボットがお答えします" in texts_of(told)
    assert chat.say("ありがとう") != []  # the bot answers again
