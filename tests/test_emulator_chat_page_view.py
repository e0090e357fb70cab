"""The chat page as a newcomer first meets it, in a real browser against the running bot: the
hint of an empty chat, the newest message kept in view while the rich menu loads and changes
size, times in JST whatever the browser's zone, and no request that answers 404 (favicon)."""

from __future__ import annotations

from datetime import datetime

import pytest
import requests
from playwright.sync_api import Browser, expect

from handlers import texts as greeting
from models.timeutil import JST
from richmenu import definitions as d
from richmenu.deploy import plan_pages
from tests.helpers import ACCESS_TOKEN
from tests.test_emulator_chat_page import PAGE_START, VIEWPORT, ChatPage

pytestmark = pytest.mark.usefixtures("cheap_hashing")
AUTH = {"Authorization": f"Bearer {ACCESS_TOKEN}"}


def open_page(browser: Browser, emulator, user_id: str, **context) -> ChatPage:
    """ChatPage.open in a browser context of its own (a time zone, a list of responses)."""
    ctx = browser.new_context(viewport=VIEWPORT, **context)
    page = ctx.new_page()
    page.clock.install(time=PAGE_START)
    page.clock.pause_at(PAGE_START.replace(second=1))
    chat_page = ChatPage(page, emulator)
    page.goto(f"{emulator.base_url}/?user={user_id}")
    chat_page.connected(user_id)
    return chat_page


def test_an_empty_chat_says_to_add_the_friend_first(browser, chat, emulator):
    page = open_page(browser, emulator, chat.user_id)
    hint = page.page.locator("#chat-hint")
    expect(hint).to_be_visible()
    expect(hint).to_contain_text("友だち追加")
    hint.get_by_role("button", name="はじめる").click()
    greeting_text, menu = page.answers(2)
    expect(greeting_text).to_contain_text(greeting.GREETING.format(service="ベネサポ")[:10])
    expect(hint).to_have_count(0)
    assert [e["message"]["type"] for e in emulator.timeline(chat.user_id)][0] == "follow"
    # A conversation that has begun shows no hint, also when opened again.
    page.page.reload()
    page.connected(chat.user_id)
    expect(page.page.locator("#chat-hint")).to_have_count(0)


def test_times_are_in_jst_whatever_the_browsers_time_zone(browser, chat, emulator):
    chat.say("使い方")
    page = open_page(browser, emulator, chat.user_id, timezone_id="America/Los_Angeles")
    expected = []
    for entry in emulator.timeline(chat.user_id):
        at = datetime.fromtimestamp(entry["at"], JST)
        expected.append(f"{at.hour}:{at.minute:02d}")
    shown = page.page.locator("#chat .row .meta").all_inner_texts()
    assert [label.split()[0] for label in shown] == expected
    utc_offset = page.page.evaluate("new Date(0).getTimezoneOffset()")
    assert utc_offset != -540  # the browser is not on JST itself


def make_default_menu(emulator) -> str:
    planned = plan_pages(d.load())[0]
    base = emulator.base_url
    made = requests.post(f"{base}/v2/bot/richmenu", json=planned.body, headers=AUTH, timeout=10)
    assert made.status_code == 200, made.text
    menu_id = made.json()["richMenuId"]
    uploaded = requests.post(
        f"{base}/v2/bot/richmenu/{menu_id}/content",
        data=planned.image,
        headers={**AUTH, "Content-Type": planned.content_type},
        timeout=10,
    )
    assert uploaded.status_code == 200, uploaded.text
    done = requests.post(f"{base}/v2/bot/user/all/richmenu/{menu_id}", headers=AUTH, timeout=10)
    assert done.status_code == 200, done.text
    return menu_id


NEWEST_IN_VIEW = """() => {
  const chat = document.getElementById("chat");
  const rows = chat.querySelectorAll(".row.bot");
  const last = rows[rows.length - 1].getBoundingClientRect();
  const box = chat.getBoundingClientRect();
  return last.bottom <= box.bottom + 1 && last.top >= box.top - 1;
}"""


def test_the_newest_message_stays_in_view_when_the_rich_menu_loads_and_resizes(
    browser, chat, emulator
):
    for _ in range(5):  # more than the chat's height
        chat.say("使い方")
    page = open_page(browser, emulator, chat.user_id)
    assert page.page.evaluate("() => chat.scrollHeight > chat.clientHeight")
    assert page.page.evaluate(NEWEST_IN_VIEW)
    page.page.clock.run_for(1000)  # the page's first look at the user's menu: none
    expect(page.page.locator("#richmenu-area")).to_have_text("リッチメニューは設定されていません")

    menu_id = make_default_menu(emulator)
    page.page.clock.run_for(1000)  # the page's next look at the user's menu
    page.page.wait_for_selector(f'#richmenu-area[data-richmenu="{menu_id}"] .richmenu-hit')
    page.page.wait_for_function("document.querySelector('.richmenu-image').naturalWidth === 2500")
    page.page.wait_for_function(NEWEST_IN_VIEW)
    bar = page.page.locator(".richmenu-bar")
    bar.click()  # closed: the chat grows
    page.page.wait_for_function(NEWEST_IN_VIEW)
    bar.click()  # open again: the chat shrinks, the newest message is still shown
    page.page.wait_for_function(NEWEST_IN_VIEW)

    # Scrolled up by the person: left where it is.
    page.page.evaluate("() => { chat.scrollTop = 0; }")
    bar.click()
    assert page.page.evaluate("() => chat.scrollTop") == 0


def test_no_request_of_the_page_answers_404_and_it_has_an_icon(browser, chat, emulator):
    chat.say("使い方")
    failed: list[str] = []
    page = open_page(browser, emulator, chat.user_id)
    page.page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
    page.page.reload()
    page.connected(chat.user_id)
    icon = page.page.locator("link[rel=icon]").get_attribute("href")
    status = page.page.evaluate("href => fetch(href).then((r) => r.status)", icon)
    assert status == 200
    favicon = requests.get(f"{emulator.base_url}/favicon.ico", timeout=10)
    assert favicon.status_code == 200
    assert favicon.headers["Content-Type"].startswith("image/svg+xml")
    linked = requests.get(f"{emulator.base_url}/dialog/bot/accountLink?linkToken=x", timeout=10)
    assert 'rel="icon"' in linked.text
    assert failed == []
