"""Account linking across trust boundaries (issue 16, items 9, 10 and 12), end to end through
the emulator: whose browser the login page is in, older login links, secrets in the outbox."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from bot.app import create_app
from common.config import Settings
from models.companies import create_company
from models.events import OutgoingMessage
from tests.e2e import texts_of
from tests.helpers import LOGIN_CHANNEL_ID, SECRET_KEY
from tests.test_linking_e2e import (
    LIFF_URL,
    LoginPage,
    ask_for_login,
    html_fields,
    link_params,
    linked_member_pk,
    open_page,
    wait_messages,
)

pytestmark = pytest.mark.usefixtures("cheap_hashing")


@pytest.fixture
def company(db, app_clock):
    issued = create_company(
        db, app_clock, name="信頼商事", seats=3, contact_email="hr@example.jp", hr_contacts=1
    )
    db.commit()
    return issued


def link_token_calls(emulator) -> list[str]:
    return [c["path"] for c in emulator.calls("/v2/bot/user/") if c["path"].endswith("/linkToken")]


def test_a_login_link_forwarded_to_a_victim_never_links_the_sender(
    chat, new_chat, company, services, bot_server, emulator, dbview
):
    """16.9: the attacker asks for a login link and sends it to the victim, who opens it and
    would log in; the victim's LIFF browser carries the victim's ID token, so the attacker's
    link request is never offered and nothing is linked to the attacker."""
    attacker, victim = chat, new_chat("被害者")
    uri = ask_for_login(attacker, company.company_code, services)
    server = bot_server.config["SERVER_URL"]
    page = LoginPage(victim, server, uri)  # the victim taps the forwarded link in LINE
    assert page.response.status_code == 400 and "有効期限" in page.response.text
    assert "password" not in page.fields and "linkToken" not in page.fields
    assert link_token_calls(emulator) == []  # no link token for the attacker either
    (verify,) = emulator.calls("/oauth2/v2.1/verify")
    assert verify["body"]["client_id"] == LOGIN_CHANNEL_ID
    # The victim's own attempt links the victim's LINE account, never the attacker's.
    page = open_page(victim, company.company_code, services, bot_server)
    assert link_token_calls(emulator) == [f"/v2/bot/user/{victim.user_id}/linkToken"]
    assert "被害者" in page.response.text  # the page names the LINE account it will link
    member = company.members[0]
    response = page.submit(member_id=member.member_id, password=member.password)
    link_token, nonce = link_params(response, emulator.base_url)
    emulator.open_account_link(link_token, nonce)
    assert "連携が完了しました" in texts_of(wait_messages(victim))
    assert linked_member_pk(dbview, attacker.user_id) is None
    assert linked_member_pk(dbview, victim.user_id) is not None
    # And the attacker's own page, opened by the attacker, cannot take the victim's member.
    theirs = LoginPage(attacker, server, uri)
    refused = theirs.submit(member_id=member.member_id, password=member.password)
    assert refused.status_code == 403 and linked_member_pk(dbview, attacker.user_id) is None


def test_older_login_pages_link_nothing_after_a_newer_link_an_unlink_and_a_cancel(
    chat, company, services, bot_server, emulator, dbview, app_clock
):
    """16.10: page A (opened, left open) must not link after link B was used, unlinked, and
    a new attempt cancelled, though A is not ten minutes old."""
    member = company.members[0]
    page_a = open_page(chat, company.company_code, services, bot_server)
    app_clock.advance(minutes=3)
    page_b = open_page(chat, company.company_code, services, bot_server)
    # A newer link closes A.
    stale = page_a.submit(member_id=member.member_id, password=member.password)
    assert stale.status_code == 400 and "有効期限" in stale.text
    response = page_b.submit(member_id=member.member_id, password=member.password)
    emulator.open_account_link(*link_params(response, emulator.base_url))
    assert "連携が完了しました" in texts_of(wait_messages(chat))
    chat.say("連携解除")
    assert "解除しました" in texts_of(chat.tap("action=unlink&answer=yes"))
    uri = ask_for_login(chat, company.company_code, services)
    page_c = LoginPage(chat, bot_server.config["SERVER_URL"], uri)
    assert "中止しました" in texts_of(chat.tap("action=link_cancel"))
    app_clock.advance(minutes=5)  # A is 8 minutes old
    for page in (page_a, page_b, page_c):
        again = page.submit(member_id=member.member_id, password=member.password)
        assert again.status_code == 400 and "有効期限" in again.text
    # Opening the login button again finds nothing open either.
    reopened = LoginPage(chat, bot_server.config["SERVER_URL"], uri)
    assert reopened.response.status_code == 400 and "password" not in reopened.fields
    assert linked_member_pk(dbview, chat.user_id) is None


def test_a_login_not_yet_confirmed_by_line_links_nothing_after_a_cancel(
    chat, company, services, bot_server, emulator, dbview
):
    member = company.members[0]
    page = open_page(chat, company.company_code, services, bot_server)
    response = page.submit(member_id=member.member_id, password=member.password)
    link_token, nonce = link_params(response, emulator.base_url)
    chat.say("連携")
    chat.tap("action=link_cancel")  # before the browser reached LINE's account-link page
    emulator.open_account_link(link_token, nonce)
    assert "完了できませんでした" in texts_of(wait_messages(chat))
    assert linked_member_pk(dbview, chat.user_id) is None


def test_no_secret_is_stored_in_the_outbox(chat, company, services, bot_server, emulator, dbview):
    """16.12: the stored login button is the bare LIFF URL; the link token and the nonce
    never reach a message body."""
    member = company.members[0]
    page = open_page(chat, company.company_code, services, bot_server)
    response = page.submit(member_id=member.member_id, password=member.password)
    link_token, nonce = link_params(response, emulator.base_url)
    emulator.open_account_link(link_token, nonce)
    wait_messages(chat)
    dbview.expire_all()
    rows = dbview.scalars(select(OutgoingMessage)).all()
    bodies = [json.dumps(row.messages, ensure_ascii=False) for row in rows]
    uris = [u for body in bodies for u in _uris(json.loads(body))]
    assert uris == [LIFF_URL]
    for body in bodies:
        assert link_token not in body and nonce not in body and page.id_token not in body
        assert "/link?" not in body


def _uris(node) -> list[str]:
    if isinstance(node, dict):
        found = [node["uri"]] if isinstance(node.get("uri"), str) else []
        return found + [u for value in node.values() for u in _uris(value)]
    if isinstance(node, list):
        return [u for value in node for u in _uris(value)]
    return []


def test_expired_and_other_channels_id_tokens_are_refused(
    chat, company, services, bot_server, emulator
):
    server = bot_server.config["SERVER_URL"]
    page = open_page(chat, company.company_code, services, bot_server)
    # A LIFF app of another LINE Login channel: its ID tokens are not for us.
    other = emulator.add_liff_app(server + "/link", channel_id="2000000002")
    opened = emulator.open_liff(chat.user_id, f"https://liff.line.me/{other['liff_id']}")
    foreign_token = opened.headers["Location"].split("liff.id_token=", 1)[1]
    refused = page.identify(foreign_token)
    assert refused.status_code == 401 and "password" not in html_fields(refused.text)
    emulator.expire_id_tokens()
    expired = page.identify(page.id_token)
    assert expired.status_code == 401 and "開き直してください" in expired.text
    answers = [c for c in emulator.calls("/oauth2/v2.1/verify") if c["status"] == 400]
    assert len(answers) == 2


def test_the_page_says_when_line_login_is_unreachable_and_works_again(
    chat, company, services, bot_server, emulator
):
    uri = ask_for_login(chat, company.company_code, services)
    emulator.inject_fault("/oauth2/v2.1/verify", 503, count=3)  # every attempt (2 retries)
    page = LoginPage(chat, bot_server.config["SERVER_URL"], uri)
    assert page.response.status_code == 503 and "password" not in page.fields
    assert link_token_calls(emulator) == []
    again = LoginPage(chat, bot_server.config["SERVER_URL"], uri)
    assert again.response.status_code == 200 and again.fields["linkToken"]


def test_without_a_liff_app_configured_the_page_is_unavailable(engine, db):
    settings = Settings(
        channel_secret="s",
        channel_access_token="t",
        database_url=str(engine.url),
        secret_key=SECRET_KEY,
    )
    app = create_app(settings, start_workers=False)
    client = app.test_client()
    page = client.get("/link")
    assert page.status_code == 503 and "ただいま" in page.get_data(as_text=True)
    assert client.post("/link/identify", data={"id_token": "x"}).status_code == 503


def test_without_a_liff_app_configured_the_chat_says_linking_is_unavailable(db, clock):
    from bot.handlers_registry import build_router
    from chat.router import Context, Input
    from handlers import linking_texts
    from models.line_user import LineUser

    user = "U" + "9" * 32
    line_user = LineUser(line_user_id=user, first_seen_at=clock.now())
    db.add(line_user)
    db.flush()
    router = build_router(["handlers.linking"])
    settings = Settings(channel_secret="s", channel_access_token="t")
    ctx = Context(user, db, clock, settings, line_user, {})
    (answer,) = router.dispatch(ctx, Input.from_text("連携"))
    assert answer["text"] == linking_texts.LINKING_UNAVAILABLE
    assert ctx.conversation.current() is None  # no code is asked for
