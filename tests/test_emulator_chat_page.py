"""The emulator's chat page in a real browser against the running bot: what a person using
`make run` types and taps, what the page draws, and what it sends back through the emulator.

The page polls the emulator once a second by its own clock, which the tests hold (Playwright's
`page.clock`) and run one second once the bot has answered: no test waits for time."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, Page, Route, expect

from chat.messages import buttons, flex, message_action, postback_action
from emulator.client import EmulatorClient
from handlers import balance_texts, handoff_texts, linking_texts
from handlers import faq_texts as faq
from handlers import texts as greeting
from models.faq import default_index
from models.points import PointsLedger
from tests.e2e import actions_of, wait_until
from tests.helpers import LIFF_ID
from tests.test_inquiries_support import make_company

pytestmark = pytest.mark.usefixtures("cheap_hashing")

VIEWPORT = {"width": 420, "height": 900}
PAGE_START = datetime(2026, 4, 1, 1, 0, tzinfo=UTC)


def new_page(browser: Browser) -> Page:
    """A browser tab whose timers run only when the test runs its clock."""
    page = browser.new_page(viewport=VIEWPORT)
    page.clock.install(time=PAGE_START)
    page.clock.pause_at(PAGE_START + timedelta(seconds=1))
    return page


class ChatPage:
    """The chat page as a person uses it; `answers(n)` waits for the bot's next n messages."""

    def __init__(self, page: Page, emulator: EmulatorClient) -> None:
        self.page = page
        self.emulator = emulator
        self.bot = page.locator("#chat .row.bot")
        self.mine = page.locator("#chat .row.user .bubble-text")
        self.notices = page.locator("#chat .notice")
        self.quick = page.locator("#quick-replies")
        self.input = page.get_by_role("textbox", name="メッセージ")
        self.user_id = ""
        self.seen = 0

    @classmethod
    def open(cls, browser: Browser, emulator: EmulatorClient, user_id: str) -> ChatPage:
        chat_page = cls(new_page(browser), emulator)
        chat_page.page.goto(f"{emulator.base_url}/?user={user_id}")
        chat_page.connected(user_id)
        return chat_page

    def connected(self, user_id: str) -> None:
        """The page shows `user_id`'s whole conversation so far."""
        self.user_id = user_id
        expect(self.page.locator("#status")).to_have_text(f"接続中: {user_id}")
        self.seen = len(self.emulator.inbox(user_id))
        expect(self.bot).to_have_count(self.seen)

    def send(self, text: str) -> None:
        self.input.fill(text)
        self.input.press("Enter")

    def bot_sent(self, total: int) -> None:
        """The bot has sent the user `total` messages in all (the page may not show them yet)."""
        wait_until(
            lambda: len(self.emulator.inbox(self.user_id)) >= total,
            what=f"{total} messages to {self.user_id}",
        )

    def answers(self, count: int) -> list[Locator]:
        """The bot's next `count` messages (exactly that many), once the page drew them."""
        total = self.seen + count
        self.bot_sent(total)
        # One tick of the page's once-a-second poll (a poll still on its way from before the
        # answer may have missed it: the tick is run once that one is back).
        self.page.wait_for_function("() => !window.emulatorChat.state.polling")
        self.page.clock.run_for(1000)
        expect(self.bot).to_have_count(total)
        rows = [self.bot.nth(i) for i in range(self.seen, total)]
        self.seen = total
        return rows

    def quick_replies(self) -> Locator:
        return self.quick.locator("button, a")


def last_sent(emulator: EmulatorClient, user_id: str) -> dict[str, Any]:
    """What the user last sent through the emulator (the event the bot received)."""
    return [e for e in emulator.timeline(user_id) if e["sender"] == "user"][-1]["message"]


def assert_readable(message: Locator) -> None:
    """Shown, and none of its text cut off (no text wider than its box)."""
    expect(message).to_be_visible()
    cut = message.evaluate(
        """m => [...m.querySelectorAll(".bubble-text, .fx-text, .tpl-title, .tpl-text, button, a")]
            .filter((e) => e.scrollWidth > e.clientWidth + 1 || e.scrollHeight > e.clientHeight + 1)
            .map((e) => e.textContent)"""
    )
    assert cut == []


def first_line(text: str) -> str:
    return text.splitlines()[0]


def test_a_typed_message_is_answered_and_quick_replies_send_their_action(browser, chat, emulator):
    page = ChatPage.open(browser, emulator, chat.user_id)
    page.send("使い方")
    (answer,) = page.answers(1)
    expect(page.mine.last).to_have_text("使い方")
    expect(answer.locator(".bubble-text")).to_have_text(greeting.HOW_TO)
    expect(page.quick).to_be_hidden()

    page.send("ほげほげ")  # nothing the FAQ knows: an apology with three quick replies
    (answer,) = page.answers(1)
    expect(answer).to_contain_text(first_line(faq.UNKNOWN))
    expect(page.quick_replies()).to_have_text(
        [handoff_texts.BUTTON_LABEL, faq.INQUIRY_LABEL, faq.FAQ_LABEL]
    )
    # A postback quick reply: its displayText is shown as the user's message, its data sent.
    page.quick.get_by_role("button", name=faq.FAQ_LABEL).click()
    intro, menu = page.answers(2)
    expect(page.mine.last).to_have_text(faq.FAQ_LABEL)
    expect(intro).to_contain_text(first_line(faq.CATEGORIES_INTRO))
    expect(menu.locator(".fx-bubble").first).to_be_visible()
    expect(page.quick).to_be_hidden()
    assert last_sent(emulator, chat.user_id) == {
        "type": "postback",
        "data": "action=faq_menu",
        "displayText": faq.FAQ_LABEL,
    }

    # A message quick reply sends its text (「連携」), not its label (「アカウント連携」).
    page.page.get_by_role("button", name="送信").click()  # nothing typed: nothing sent
    page.input.fill("残高")
    page.page.get_by_role("button", name="送信").click()
    (answer,) = page.answers(1)
    expect(answer).to_contain_text(first_line(balance_texts.NOT_LINKED))
    expect(page.quick_replies()).to_have_text([balance_texts.LINK_LABEL])
    page.quick.get_by_role("button", name=balance_texts.LINK_LABEL).click()
    (answer,) = page.answers(1)
    expect(page.mine.last).to_have_text(balance_texts.LINK_TEXT)
    expect(answer).to_contain_text(first_line(linking_texts.ASK_CODE))
    page.quick.get_by_role("button", name=linking_texts.CANCEL_LABEL).click()
    (answer,) = page.answers(1)
    expect(answer.locator(".bubble-text")).to_have_text(linking_texts.CANCELLED)
    sent = [
        (e["message"]["type"], e["message"].get("text") or e["message"].get("data"))
        for e in emulator.timeline(chat.user_id)
        if e["sender"] == "user"
    ]
    assert sent == [
        ("text", "使い方"),
        ("text", "ほげほげ"),
        ("postback", "action=faq_menu"),
        ("text", "残高"),
        ("text", "連携"),
        ("postback", "action=link_cancel"),
    ]


def test_greeting_template_and_faq_flex_messages_render_and_their_buttons_send(
    browser, chat, emulator
):
    page = ChatPage.open(browser, emulator, chat.user_id)
    page.page.get_by_role("button", name="友だち追加").click()
    hello, menu = page.answers(2)
    expect(page.notices.last).to_have_text("友だち追加しました")
    expect(hello).to_contain_text(first_line(greeting.GREETING).format(service="ベネサポ"))
    # A buttons template: its text and its three buttons.
    assert_readable(menu)
    expect(menu.locator(".tpl-text")).to_have_text(greeting.GREETING_MENU)
    expect(menu.get_by_role("button")).to_have_text(
        ["アカウント連携", "よくある質問", "お問い合わせ"]
    )

    menu.get_by_role("button", name="よくある質問").click()  # a message action
    intro, categories = page.answers(2)
    expect(page.mine.last).to_have_text("よくある質問")
    expect(intro).to_contain_text(first_line(faq.CATEGORIES_INTRO))
    # A Flex carousel: one bubble a category, each with its name, its count and its button.
    index = default_index()
    shown = [c for c in index.categories if index.in_category(c.id)]
    bubbles = categories.locator(".fx-bubble")
    expect(bubbles).to_have_count(len(shown))
    assert_readable(categories)
    for bubble, category in zip(bubbles.all(), shown, strict=True):
        count = faq.CATEGORY_COUNT.format(count=len(index.in_category(category.id)))
        expect(bubble.locator(".fx-text")).to_have_text([category.label, count])
        expect(bubble.get_by_role("button")).to_have_text([faq.CATEGORY_BUTTON])

    points = next(c for c in shown if c.id == "points")
    bubbles.nth(shown.index(points)).get_by_role("button").click()  # a postback button
    (listing,) = page.answers(1)
    expect(page.mine.last).to_have_text(points.label)
    assert last_sent(emulator, chat.user_id)["data"] == "action=faq_category&c=points"
    # A Flex bubble: a header and one button a question.
    assert_readable(listing)
    expect(listing.locator(".fx-header")).to_have_text(points.label + faq.CATEGORY_HINT)
    entries = index.in_category("points")
    expect(listing.get_by_role("button")).to_have_text([e.short for e in entries])

    expiry = index.by_id["points_expiry"]
    listing.get_by_role("button", name=expiry.short).click()
    answer, procedures, feedback = page.answers(3)
    expect(page.mine.last).to_have_text(expiry.question)
    expect(answer).to_contain_text(first_line(expiry.answer))
    expect(procedures.locator(".tpl-text")).to_have_text(faq.ACTIONS_BODY)
    expect(procedures.get_by_role("button")).to_have_text([a.label for a in expiry.actions])
    assert_readable(procedures)
    # A confirm template: its question and はい / いいえ side by side.
    assert_readable(feedback)
    expect(feedback.locator(".tpl-text")).to_have_text(faq.FEEDBACK_QUESTION)
    yes, no = feedback.get_by_role("button").all()
    expect(yes).to_have_text(faq.FEEDBACK_YES)
    expect(no).to_have_text(faq.FEEDBACK_NO)
    assert yes.bounding_box()["y"] == no.bounding_box()["y"]

    no.click()
    (thanks,) = page.answers(1)
    expect(page.mine.last).to_have_text(faq.FEEDBACK_NO)
    expect(thanks).to_contain_text(first_line(faq.FEEDBACK_THANKS_NO))
    assert last_sent(emulator, chat.user_id)["data"] == (
        "action=faq_feedback&id=points_expiry&v=no"
    )
    # An earlier message's button still works, as in LINE: ポイント残高 (not linked yet).
    procedures.get_by_role("button", name="ポイント残高").click()
    (refusal,) = page.answers(1)
    expect(refusal).to_contain_text(first_line(balance_texts.NOT_LINKED))
    assert last_sent(emulator, chat.user_id)["data"] == "action=balance"


def test_linking_from_the_page_then_the_balance_bubble_and_its_history_button(
    browser, chat, db, app_clock, services, bot_server, emulator
):
    issued = make_company(db, app_clock, name="ブラウザ商事")
    member = issued.members[0]
    PointsLedger.configured(db, app_clock, services.runtime.settings).grant(
        member.member_id, 1200, "g-1", "キャンペーン", key="g-1"
    )
    db.commit()

    page = ChatPage.open(browser, emulator, chat.user_id)
    page.send("連携")
    page.answers(1)
    page.send(issued.company_code.lower())
    (login,) = page.answers(1)
    body = linking_texts.LOGIN_BUTTON_BODY.format(company="ブラウザ商事")
    expect(login.locator(".tpl-text")).to_have_text(body)
    assert_readable(login)
    # The login button is the LIFF URL; the chat page opens it as the LINE app does: in the
    # LIFF browser (a new tab), logged in as this user, whose ID token the login page checks.
    (uri,) = [a["uri"] for a in actions_of(chat.new_messages()) if a["type"] == "uri"]
    assert uri == f"https://liff.line.me/{LIFF_ID}"
    button = login.get_by_role("link", name=linking_texts.LOGIN_BUTTON_LABEL)
    expect(button).to_have_attribute("target", "_blank")
    with page.page.context.expect_page() as opened:
        button.click()
    tab = opened.value
    expect(tab.get_by_label(linking_texts.PAGE_COMPANY_CODE)).to_have_value(issued.company_code)
    expect(
        tab.get_by_text(linking_texts.PAGE_LINE_ACCOUNT.format(name="テスト太郎"))
    ).to_be_visible()
    assert tab.url.startswith(bot_server.config["SERVER_URL"] + "/link")
    assert "id_token" not in tab.url  # the SDK took the ID token out of the address
    tab.get_by_label(linking_texts.PAGE_MEMBER_ID).fill(member.member_id)
    tab.get_by_label(linking_texts.PAGE_PASSWORD).fill(member.password)
    tab.get_by_role("button", name=linking_texts.PAGE_SUBMIT).click()
    # LINE's account-link page (the emulator's), then back to the talk screen.
    expect(tab.get_by_text("連携処理が完了しました。")).to_be_visible()
    page.bot_sent(4)
    tab.get_by_role("link", name="トーク画面に戻る").click()
    page = ChatPage(tab, emulator)
    page.connected(chat.user_id)
    linked, hint = page.bot.nth(2), page.bot.nth(3)
    expect(linked).to_contain_text(f"会員ID {member.member_id}")
    expect(hint).to_contain_text(linking_texts.LINKED_MEMBER_HINT)
    expect(page.quick_replies()).to_have_text(["残高", "連携情報"])

    page.quick.get_by_role("button", name="残高").click()
    (balance,) = page.answers(1)
    expect(balance.locator(".fx-header")).to_have_text(balance_texts.TITLE)
    expect(balance.locator(".fx-body")).to_contain_text(balance_texts.AVAILABLE_LABEL)
    assert_readable(balance)
    expect(balance.locator(".fx-body .fx-text").nth(1)).to_have_text("1,200pt")
    expect(balance.locator(".fx-body")).to_contain_text(balance_texts.NEXT_EXPIRY_LABEL)
    history = balance.locator(".fx-footer").get_by_role("button")
    expect(history).to_have_text(balance_texts.HISTORY_BUTTON)

    history.click()
    (listing,) = page.answers(1)
    expect(page.mine.last).to_have_text(balance_texts.HISTORY_BUTTON)
    expect(listing).to_contain_text(balance_texts.HISTORY_TITLE.format(count=1))
    expect(listing).to_contain_text("ポイント付与 +1,200pt（キャンペーン）")
    assert last_sent(emulator, chat.user_id)["data"] == "action=history"


def test_the_user_selector_and_the_new_user_button_show_each_users_conversation(
    browser, chat, new_chat, emulator
):
    chat.say("使い方")
    hanako = new_chat("花子")
    hanako.say("ほげほげ")
    page = ChatPage.open(browser, emulator, chat.user_id)
    select = page.page.get_by_label("ユーザーを選択")
    # The emulator keeps users for the whole session: other tests' users are listed too.
    expect(select.locator("option")).to_contain_text(["テスト太郎", "花子"])
    expect(select).to_have_value(chat.user_id)
    expect(page.mine).to_have_text(["使い方"])

    select.select_option(label="花子")
    page.connected(hanako.user_id)
    expect(page.mine).to_have_text(["ほげほげ"])
    expect(page.bot).to_contain_text([first_line(faq.UNKNOWN)])
    expect(page.quick_replies()).to_have_text(
        [handoff_texts.BUTTON_LABEL, faq.INQUIRY_LABEL, faq.FAQ_LABEL]
    )
    assert page.page.url.endswith(f"/?user={hanako.user_id}")

    page.page.once("dialog", lambda dialog: dialog.accept("次郎"))
    page.page.get_by_role("button", name="＋ ユーザー").click()
    expect(select.locator("option", has_text="次郎")).to_have_count(1)
    (jiro,) = [u["user_id"] for u in emulator.users() if u["display_name"] == "次郎"]
    expect(select).to_have_value(jiro)
    page.connected(jiro)
    expect(page.page.locator("#chat .row")).to_have_count(0)
    expect(page.quick).to_be_hidden()
    page.send("使い方")
    page.answers(1)
    expect(page.mine).to_have_text(["使い方"])
    expect(page.page.locator("#richmenu-area")).to_have_text("リッチメニューは設定されていません")

    select.select_option(label="テスト太郎")
    page.connected(chat.user_id)
    expect(page.mine).to_have_text(["使い方"])
    page.page.reload()  # the address keeps the user
    page.connected(chat.user_id)
    expect(select).to_have_value(chat.user_id)
    assert [e["sender"] for e in emulator.timeline(jiro)] == ["user", "bot"]
    assert [e["sender"] for e in emulator.timeline(hanako.user_id)] == ["user", "bot"]


def test_a_button_on_a_tappable_card_sends_only_its_own_action(browser, chat, services, emulator):
    """LINE runs the button's action alone, never the card's (defaultAction, bubble action)."""
    card_action = message_action("カード", "よくある質問")
    template = buttons(
        "使い方", "使い方のご案内", [postback_action("使い方を見る", "action=howto", "使い方")]
    )
    template["template"]["defaultAction"] = card_action
    bubble = {
        "type": "bubble",
        "action": card_action,
        "body": {
            "type": "box",
            "layout": "vertical",
            "action": card_action,
            "contents": [
                {"type": "text", "text": "使い方のご案内"},
                {"type": "button", "action": postback_action("使い方", "action=howto")},
            ],
        },
    }
    page = ChatPage.open(browser, emulator, chat.user_id)
    services.line.push(chat.user_id, [template, flex("使い方", bubble)], str(uuid.uuid4()))
    pushed_template, pushed_bubble = page.answers(2)
    expect(pushed_template.locator(".tpl-text")).to_have_text("使い方のご案内")

    pushed_template.get_by_role("button", name="使い方を見る").click()
    (how_to,) = page.answers(1)
    expect(how_to.locator(".bubble-text")).to_have_text(greeting.HOW_TO)
    pushed_bubble.get_by_role("button", name="使い方").click()
    (how_to,) = page.answers(1)
    expect(how_to.locator(".bubble-text")).to_have_text(greeting.HOW_TO)
    # The card's own area runs the card's action.
    pushed_template.locator(".tpl-text").click()
    page.answers(2)
    expect(page.mine.last).to_have_text("よくある質問")
    assert [e["message"] for e in emulator.timeline(chat.user_id) if e["sender"] == "user"] == [
        {"type": "postback", "data": "action=howto", "displayText": "使い方"},
        {"type": "postback", "data": "action=howto"},
        {"type": "text", "text": "よくある質問"},
    ]


def test_a_poll_answered_after_the_page_redraws_the_conversation_is_dropped(
    browser, chat, emulator
):
    """友だち追加 redraws the conversation from its start; a poll sent before must not leave
    only the newest messages on the screen."""
    chat.say("使い方")
    page = ChatPage.open(browser, emulator, chat.user_id)
    held: list[Route] = []

    def hold_the_first(route: Route) -> None:
        if held:
            route.continue_()
        else:
            held.append(route)

    page.page.route("**/timeline?after=*", hold_the_first)
    with page.page.expect_request("**/timeline?after=*"):
        page.page.clock.run_for(1000)  # the page's next poll is on its way (and held)
    page.page.get_by_role("button", name="友だち追加").click()
    expect(page.page.locator("#chat .row")).to_have_count(0)  # redrawing
    wait_until(lambda: len(chat.new_messages()) == 2, what="the greeting")
    (poll,) = held
    poll.continue_()
    page.answers(2)
    expect(page.mine).to_have_text(["使い方"])
    expect(page.notices).to_have_text(["友だち追加しました"])


def test_a_date_picker_sends_the_picked_date_within_its_range(browser, chat, db, app_clock):
    from tests.test_inquiries_support import link

    company = make_company(db, app_clock, name="アクメ株式会社")
    link(db, app_clock, chat.user_id, company.hr_contacts[0].member_id)
    page = ChatPage.open(browser, chat.emulator, chat.user_id)
    page.send("問い合わせ")
    page.answers(1)
    page.quick.get_by_role("button", name="サービス停止の申請").click()
    page.answers(1)
    picker = page.quick.get_by_role("button", name="日付を選ぶ")
    # Before the picker's min (tomorrow in the bot's clock): LINE would not offer it.
    page.page.once("dialog", lambda dialog: dialog.accept("2026-03-01"))
    picker.click()
    expect(page.page.locator("#status")).to_contain_text("2026-04-02 〜 2028-03-31")
    page.page.once("dialog", lambda dialog: dialog.accept("2026-07-15"))
    picker.click()
    (answer,) = page.answers(1)
    expect(answer).to_contain_text("2026年7月15日（水）")
    assert last_sent(chat.emulator, chat.user_id) == {
        "type": "postback",
        "data": "action=inquiry_date",
    }
    posted = [e for e in chat.emulator.timeline(chat.user_id) if e["sender"] == "user"]
    assert len(posted) == 3  # the out-of-range pick sent nothing
