"""A clerk's day in a real browser (Playwright driving Debian's chromium): a retiree ticket, an
add-seats ticket and a live chat, each from the user's message in the emulator to 完了.

- Retiree: the HR contact files it by chat; the clerk finds it (type filter, content preview),
  reads the confirmation (the member's real balance: 「1,200pt が失効し、LINE連携が解除されます」),
  runs it, sees what happened, and the retiree's rich menu is already the guest one (switched
  at once, not at the next sync); 完了 is one click and the HR contact gets the push.
- Add seats: the confirmation gives the figures, the result shows the new IDs once with the ID
  list workbook to download for the HR contact's address; 完了; the company page counts them.
- Live chat: the user asks for a person; the clerk sees who it is (会員 …, their points, a link
  to the member page), answers, closes; the audit log shows 「有人チャットの閲覧」 by e-mail.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from openpyxl import load_workbook

from models.operators import create_operator
from models.points import PointsLedger
from models.richmenu import set_audience
from richmenu.deploy import deploy
from richmenu.switching import sync_rich_menus
from tests.e2e import texts_of, wait_until
from tests.test_inquiries_support import CheckedChat, link, make_company
from tests.test_richmenu_deploy import current_key

EMAIL = "clerk-day@example.jp"
PASSWORD = "browser-test-password"

pytestmark = pytest.mark.usefixtures("cheap_hashing")


def log_in(browser, bot_server):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{bot_server.config['SERVER_URL']}/admin/")
    page.get_by_label("メールアドレス").fill(EMAIL)
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    return page


def no_horizontal_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1280, f"the page is {width}px wide at 1280px"


def test_a_clerk_works_a_retiree_ticket(
    browser, chat, new_chat, db, app_clock, bot_server, services, emulator
):
    from playwright.sync_api import expect

    deploy(services.runtime, services.line)
    acme = make_company(db, app_clock, name="ブラウザ商事")
    link(db, app_clock, chat.user_id, acme.hr_contacts[0].member_id)
    retiree = acme.members[1].member_id
    leaving = new_chat("退職 太郎")
    link(db, app_clock, leaving.user_id, retiree)
    set_audience(db, leaving.user_id, "member", app_clock.now())
    PointsLedger(db, app_clock).grant(retiree, 1200, "g-1", "お詫び", key="g-1")
    create_operator(db, app_clock, EMAIL, PASSWORD)
    db.commit()
    sync_rich_menus(services.runtime, services.line)
    assert current_key(emulator, leaving.user_id) == "member"

    hr = CheckedChat(chat)
    hr.tap("action=inquiry&type=retire")
    hr.say("山田 太郎")
    hr.say(retiree)
    number = re.search(r"INQ-\d{6}", hr.say("送信").body).group(0)

    page = log_in(browser, bot_server)
    page.get_by_label("種別").select_option(label="退職者の利用停止")
    page.get_by_role("button", name="絞り込む").click()
    row = page.get_by_role("row").filter(has_text=number)
    expect(row).to_contain_text("山田 太郎")  # the content preview
    expect(row).to_contain_text(f"会員 {acme.hr_contacts[0].member_id}")
    no_horizontal_scroll(page)
    row.get_by_role("link", name=number).click()

    page.get_by_role("link", name="退職者の利用停止を実行").click()
    expect(page.locator("#consequences")).to_contain_text(
        "1,200pt が失効し、LINE連携が解除されます"
    )
    expect(page.get_by_text("この処理は元に戻せません。")).to_be_visible()
    page.get_by_role("button", name="確認して実行する").click()

    outcome = page.locator("#outcome")
    expect(outcome).to_contain_text("失効したポイント：1,200pt")
    expect(outcome).to_contain_text("LINE連携を解除しました")
    expect(outcome).to_contain_text(f"担当を {EMAIL} にしました")
    # The rich menu switched at once (no periodic sync ran).
    assert current_key(emulator, leaving.user_id) == "guest"
    told = wait_until(lambda: leaving.new_messages(), what="the retirement notice")
    assert "会員資格が終了しました" in texts_of(told)

    page.get_by_role("button", name="完了にしてお客さまに通知する").click()
    expect(page.locator("#status")).to_have_text("完了")
    pushed = wait_until(
        lambda: [m for m in chat.new_messages() if number in texts_of([m])], what="the push"
    )
    assert "「完了」" in texts_of(pushed) and "完了しました" in texts_of(pushed)
    history = page.get_by_role("table").last
    expect(history).to_contain_text(EMAIL)
    expect(history).not_to_contain_text(chat.user_id)

    page.get_by_role("link", name=re.compile(f"会員 {acme.hr_contacts[0].member_id}")).click()
    expect(
        page.get_by_role("heading", name=f"会員 {acme.hr_contacts[0].member_id}")
    ).to_be_visible()
    page.goto(f"{bot_server.config['SERVER_URL']}/admin/members/{retiree}")
    expect(page.locator("#member-status")).to_contain_text("利用停止（退職）")
    expect(page.locator("#member-link")).to_have_text("連携していません")


def test_a_clerk_works_an_add_seats_ticket(browser, chat, db, app_clock, bot_server):
    from playwright.sync_api import expect

    acme = make_company(db, app_clock, name="増員商事", seats=3, seat_limit=5)
    link(db, app_clock, chat.user_id, acme.hr_contacts[0].member_id)
    create_operator(db, app_clock, EMAIL, PASSWORD)
    db.commit()
    hr = CheckedChat(chat)
    hr.tap("action=inquiry&type=add_seats")
    hr.say("2")
    number = re.search(r"INQ-\d{6}", hr.say("送信").body).group(0)

    page = log_in(browser, bot_server)
    page.get_by_role("link", name=number).click()
    page.get_by_role("link", name="IDを追加発行").click()
    consequences = page.locator("#consequences")
    expect(consequences).to_contain_text("利用中 3件 → 5件（プランの上限 5件）")
    expect(consequences).to_contain_text("hr@example.co.jp")
    page.get_by_role("button", name="確認して実行する").click()

    expect(page.get_by_text("初期パスワードはこの画面でのみ表示されます")).to_be_visible()
    expect(page.locator("#delivery")).to_contain_text("hr@example.co.jp")
    ids = page.locator("table td:first-child").all_inner_texts()
    passwords = page.locator("td.secret").all_inner_texts()
    assert len(ids) == 2 and len(passwords) == 2
    with page.expect_download() as download:
        page.get_by_role("button", name="初期ID・パスワード一覧（Excel）をダウンロード").click()
    book = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))
    cells = {str(c.value) for row in book.worksheets[0].iter_rows() for c in row}
    assert set(ids) <= cells and set(passwords) <= cells

    page.get_by_role("button", name="完了にしてお客さまに通知する").click()
    expect(page.locator("#status")).to_have_text("完了")
    pushed = wait_until(
        lambda: [m for m in chat.new_messages() if number in texts_of([m])], what="the push"
    )
    body = texts_of(pushed)
    assert "「完了」" in body and not any(p in body for p in passwords)

    page.get_by_role("link", name=re.compile("増員商事")).click()
    expect(page.locator("#seats-used")).to_contain_text("5件")
    no_horizontal_scroll(page)


def test_a_clerk_works_a_live_chat(browser, chat, db, app_clock, bot_server):
    from playwright.sync_api import expect

    acme = make_company(db, app_clock, name="相談商事")
    member_id = acme.members[0].member_id
    link(db, app_clock, chat.user_id, member_id)
    PointsLedger(db, app_clock).grant(member_id, 800, "g-2", "お詫び", key="g-2")
    create_operator(db, app_clock, EMAIL, PASSWORD, role="admin")
    db.commit()
    assert "担当者におつなぎします" in texts_of(chat.say("担当者と話したい"))
    assert chat.say("ポイントが付与されていません") == []

    page = log_in(browser, bot_server)
    page.get_by_role("link", name="有人チャット").click()
    row = page.get_by_role("row").filter(has_text=f"会員 {member_id}")
    expect(row).to_contain_text("ポイントが付与されていません")  # the latest message's preview
    no_horizontal_scroll(page)
    row.get_by_role("link", name=re.compile(r"^#\d+$")).click()
    expect(page.get_by_text("ポイントが付与されていません")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="ポイント残高")).to_contain_text("800pt")
    expect(page.locator("main")).not_to_contain_text(chat.user_id)

    page.get_by_label("返信の本文").fill("確認いたしました。明日までに付与いたします。")
    page.get_by_role("button", name="返信する").click()
    expect(page.get_by_role("status")).to_have_text("返信を送信しました。")
    got = wait_until(lambda: chat.new_messages(), what="the reply")
    assert "明日までに付与いたします" in texts_of(got)
    page.get_by_role("button", name="対応済みにする").click()
    expect(page.locator("#handoff-status")).to_contain_text("対応済み")
    wait_until(lambda: chat.new_messages(), what="the closing notice")

    page.get_by_role("link", name=f"会員 {member_id}").click()
    expect(page.locator("#member-balance")).to_contain_text("800pt")
    page.get_by_role("link", name="監査ログ").click()
    entries = page.get_by_role("row").filter(has_text="有人チャットの閲覧")
    expect(entries.first).to_contain_text(EMAIL)
    expect(page.locator("main")).not_to_contain_text(chat.user_id)
