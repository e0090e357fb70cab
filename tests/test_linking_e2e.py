"""Account linking end to end: chat → login page → LINE's account-link page (emulator) →
accountLink event → linked; and every way it must refuse."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import select

from models import audit
from models.companies import create_company, retire_member, set_company_status
from models.company import CompanyStatus
from models.db import transaction
from models.events import OutgoingMessage
from models.line_user import LineUser
from tests.e2e import actions_of, texts_of, wait_until
from tests.helpers import LIFF_ID

LIFF_URL = f"https://liff.line.me/{LIFF_ID}"

pytestmark = pytest.mark.usefixtures("cheap_hashing")


@pytest.fixture
def company(db, app_clock):
    issued = create_company(
        db, app_clock, name="テスト商事", seats=3, contact_email="hr@example.jp", hr_contacts=1
    )
    db.commit()
    return issued


def full_width(value: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in value)


def html_fields(html: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for tag in re.findall(r"<input[^>]*>", html):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name:
            found[name.group(1)] = value.group(1) if value else ""
    return found


def form_action(html: str, form_id: str | None = None) -> str:
    pattern = rf'<form id="{form_id}"[^>]*action="([^"]+)"' if form_id else r'action="([^"]+)"'
    match = re.search(pattern, html)
    assert match, html
    return match.group(1)


class LoginPage:
    """The LIFF browser of `chat`'s user on our login page: LINE (the emulator) opens the LIFF
    URL for that user, and the page's script (liff-login.js) posts the ID token it got from
    the LIFF SDK to /link/identify, which answers with the login form."""

    def __init__(self, chat, server_url: str, button_uri: str) -> None:
        assert button_uri == LIFF_URL, button_uri
        self.server_url = server_url
        self.http = requests.Session()
        opened = chat.emulator.open_liff(chat.user_id, button_uri)
        assert opened.status_code == 302, opened.text
        endpoint = urlsplit(opened.headers["Location"])
        assert endpoint.geturl().startswith(server_url + "/link")
        self.id_token = parse_qs(endpoint.fragment)["liff.id_token"][0]
        self.landing = self.http.get(endpoint._replace(fragment="").geturl(), timeout=10)
        assert self.landing.status_code == 200, self.landing.text
        self.response = self.identify(self.id_token)
        self.fields = html_fields(self.response.text)

    def identify(self, id_token: str) -> requests.Response:
        """What liff-login.js does with the ID token."""
        landing = html_fields(self.landing.text)
        action = form_action(self.landing.text, "identify")
        data = {"csrf_token": landing["csrf_token"], "id_token": id_token}
        return self.http.post(self.server_url + action, data=data, timeout=10)

    def submit(self, **values: str) -> requests.Response:
        data = {**self.fields, **values}
        url = self.server_url + form_action(self.response.text)
        response = self.http.post(url, data=data, allow_redirects=False, timeout=10)
        if response.status_code != 302:
            self.fields = html_fields(response.text) or self.fields
        return response


def ask_for_login(chat, code: str, services) -> str:
    """Say 連携 and the code in chat; the login button's URL."""
    asked = chat.say("連携")
    assert "企業コード" in texts_of(asked)
    answer = chat.say(code)
    uris = [a["uri"] for a in actions_of(answer) if a["type"] == "uri"]
    assert len(uris) == 1, texts_of(answer)
    return uris[0]


def open_page(chat, code, services, bot_server) -> LoginPage:
    uri = ask_for_login(chat, code, services)
    page = LoginPage(chat, bot_server.config["SERVER_URL"], uri)
    assert page.response.status_code == 200, page.response.text
    return page


def link_params(response: requests.Response, emulator_url: str) -> tuple[str, str]:
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    assert location.startswith(emulator_url + "/dialog/bot/accountLink?")
    query = parse_qs(urlsplit(location).query)
    return query["linkToken"][0], query["nonce"][0]


def wait_messages(chat) -> list[dict]:
    return wait_until(chat.new_messages, what="messages to the user")


def link_fully(chat, company, credential, services, bot_server, emulator) -> str:
    page = open_page(chat, company.company_code, services, bot_server)
    response = page.submit(member_id=credential.member_id, password=credential.password)
    link_token, nonce = link_params(response, emulator.base_url)
    assert emulator.open_account_link(link_token, nonce).status_code == 200
    confirmed = wait_messages(chat)
    assert "連携が完了しました" in texts_of(confirmed)
    return nonce


def linked_member_pk(dbview, user_id: str) -> int | None:
    dbview.expire_all()
    user = dbview.get(LineUser, user_id)
    return user.member_pk if user else None


def test_the_whole_chain_with_a_full_width_code(
    chat, company, services, bot_server, emulator, dbview
):
    credential = company.members[0]
    code = company.company_code
    typed = full_width(code[:4].lower()) + "－" + full_width(code[4:])
    page = open_page(chat, typed, services, bot_server)
    assert page.fields["company_code"] == code  # filled in
    assert set(page.fields) >= {"company_code", "member_id", "password", "csrf_token"}
    assert page.response.headers["Referrer-Policy"] == "no-referrer"
    assert 'name="viewport"' in page.response.text and "会員ID" in page.response.text
    # The member ID typed in lower case on a phone is still accepted.
    response = page.submit(member_id=credential.member_id.lower(), password=credential.password)
    link_token, nonce = link_params(response, emulator.base_url)
    assert len(nonce) >= 40
    assert emulator.open_account_link(link_token, nonce).status_code == 200
    confirmed = wait_messages(chat)
    assert "連携が完了しました" in texts_of(confirmed)
    assert credential.member_id in texts_of(confirmed)
    assert linked_member_pk(dbview, chat.user_id) is not None
    info = chat.say("連携情報")
    assert credential.member_id in texts_of(info) and "テスト商事" in texts_of(info)
    # Linking again says so instead of starting over.
    assert "すでに" in texts_of(chat.say("ログイン"))
    assert [e.action for e in audit.entries(dbview, action="member_linked")] == ["member_linked"]


def test_wrong_password_is_refused_without_saying_which_field(
    chat, company, services, bot_server, emulator, dbview
):
    page = open_page(chat, company.company_code, services, bot_server)
    wrong_password = page.submit(member_id=company.members[0].member_id, password="nope")
    wrong_id = page.submit(member_id="NOSUCHID99", password=company.members[0].password)
    for response in (wrong_password, wrong_id):
        assert response.status_code == 401
        assert "いずれかが正しくありません" in response.text
    assert wrong_password.text.count("error") == wrong_id.text.count("error")
    assert linked_member_pk(dbview, chat.user_id) is None
    # The same form still works with the right credentials.
    ok = page.submit(member_id=company.members[0].member_id, password=company.members[0].password)
    assert ok.status_code == 302


def test_lockout_after_five_failures(chat, company, services, bot_server, emulator, app_clock):
    page = open_page(chat, company.company_code, services, bot_server)
    credential = company.members[0]
    for _ in range(5):
        assert page.submit(member_id=credential.member_id, password="bad").status_code == 401
    locked = page.submit(member_id=credential.member_id, password=credential.password)
    assert locked.status_code == 429 and "一時的にログインできません" in locked.text
    app_clock.advance(minutes=15, seconds=1)
    page = open_page(chat, company.company_code, services, bot_server)  # a fresh link token
    response = page.submit(member_id=credential.member_id, password=credential.password)
    assert response.status_code == 302


def test_unknown_and_malformed_codes_in_chat(chat, company):
    chat.say("連携")
    assert "見つかりませんでした" in texts_of(chat.say("ZZZZ-ZZZZ"))
    assert "英数字8桁" in texts_of(chat.say("12"))
    gave_up = chat.say("YYYYYYYY")
    assert "いったん終了" in texts_of(gave_up)
    assert not [a for a in actions_of(gave_up) if a["type"] == "uri"]
    # Cancelling in the middle.
    chat.say("連携")
    assert "中止しました" in texts_of(chat.tap("action=link_cancel"))


def test_inactive_company_code_gets_a_clear_answer(chat, company, db, app_clock):
    with db.begin():
        set_company_status(db, app_clock, company.company_code, CompanyStatus.SUSPENDED)
    chat.say("連携")
    answer = chat.say(company.company_code)
    assert "ご利用いただけない" in texts_of(answer)
    assert not [a for a in actions_of(answer) if a["type"] == "uri"]


def test_retired_member_cannot_link(chat, company, services, bot_server, db, app_clock):
    credential = company.members[1]
    with db.begin():
        retire_member(db, app_clock, credential.member_id)
    page = open_page(chat, company.company_code, services, bot_server)
    response = page.submit(member_id=credential.member_id, password=credential.password)
    assert response.status_code == 403 and "現在ご利用いただけません" in response.text


def test_art1_3_second_line_user_on_the_same_member_is_refused_and_logged(
    chat, new_chat, company, services, bot_server, emulator, dbview
):
    credential = company.members[0]
    link_fully(chat, company, credential, services, bot_server, emulator)
    other = new_chat("別の人")
    page = open_page(other, company.company_code, services, bot_server)
    response = page.submit(member_id=credential.member_id, password=credential.password)
    assert response.status_code == 403
    assert "別のLINEアカウントと連携されています" in response.text
    assert linked_member_pk(dbview, other.user_id) is None
    (entry,) = audit.entries(dbview, action="link_refused_member_linked_elsewhere")
    assert entry.details["attempted_by"] == other.user_id
    assert entry.details["linked_to"] == chat.user_id


def test_nonce_replay_and_unknown_nonce_link_nothing(
    chat, company, services, bot_server, emulator, dbview
):
    credential = company.members[0]
    nonce = link_fully(chat, company, credential, services, bot_server, emulator)
    chat.say("連携解除")
    assert "解除しました" in texts_of(chat.tap("action=unlink&answer=yes"))
    # A new link token from LINE, but the old nonce: refused.
    link_token = open_page(chat, company.company_code, services, bot_server).fields["linkToken"]
    emulator.open_account_link(link_token, nonce)
    assert "完了できませんでした" in texts_of(wait_messages(chat))
    assert linked_member_pk(dbview, chat.user_id) is None
    # A made-up nonce: refused too.
    link_token = open_page(chat, company.company_code, services, bot_server).fields["linkToken"]
    emulator.open_account_link(link_token, "made-up-nonce-0123456789")
    assert "完了できませんでした" in texts_of(wait_messages(chat))
    assert linked_member_pk(dbview, chat.user_id) is None


def test_failed_account_link_from_line_links_nothing(
    chat, company, services, bot_server, emulator, dbview
):
    page = open_page(chat, company.company_code, services, bot_server)
    response = page.submit(
        member_id=company.members[0].member_id, password=company.members[0].password
    )
    link_token, nonce = link_params(response, emulator.base_url)
    assert emulator.open_account_link(link_token, nonce).status_code == 200
    wait_messages(chat)
    # The link token is used up at LINE: the second visit is a failed accountLink event.
    emulator.open_account_link(link_token, nonce)
    assert "完了できませんでした" in texts_of(wait_messages(chat))


def test_unlink_asks_for_confirmation(chat, company, services, bot_server, emulator, dbview):
    link_fully(chat, company, company.members[0], services, bot_server, emulator)
    asked = chat.say("連携解除")
    assert "解除しますか" in texts_of(asked)
    assert "取りやめました" in texts_of(chat.tap("action=unlink&answer=no"))
    assert linked_member_pk(dbview, chat.user_id) is not None
    chat.say("連携解除")
    assert "解除しました" in texts_of(chat.say("はい"))
    assert linked_member_pk(dbview, chat.user_id) is None
    assert "連携されていません" in texts_of(chat.say("連携情報"))
    assert [e.action for e in audit.entries(dbview, action="member_unlinked")] == [
        "member_unlinked"
    ]


def test_retire_while_linked_pushes_a_notice_and_unlinks(
    chat, company, services, bot_server, emulator, dbview, session_factory, app_clock
):
    credential = company.members[0]
    link_fully(chat, company, credential, services, bot_server, emulator)
    with transaction(session_factory) as session:
        retire_member(session, app_clock, credential.member_id, actor="cli")
    pushed = wait_messages(chat)
    assert "会員資格が終了しました" in texts_of(pushed)
    assert linked_member_pk(dbview, chat.user_id) is None
    assert "連携されていません" in texts_of(chat.say("連携情報"))
    row = dbview.scalars(
        select(OutgoingMessage).where(OutgoingMessage.dedupe_key.startswith("retire:"))
    ).one()
    assert row.reply_token is None  # a push


def test_hr_contact_sees_company_info_and_suspension_is_polite(
    chat, new_chat, company, services, bot_server, emulator, db, app_clock
):
    link_fully(chat, company, company.hr_contacts[0], services, bot_server, emulator)
    employee = new_chat("社員")
    link_fully(employee, company, company.members[2], services, bot_server, emulator)
    info = texts_of(chat.say("企業情報"))
    assert "3 / プラン上限 3" in info
    assert "連携済みの会員：1名" in info and company.members[2].member_id in info
    assert "企業担当者さま専用" in texts_of(employee.say("企業情報"))
    with db.begin():
        set_company_status(db, app_clock, company.company_code, CompanyStatus.SUSPENDED)
    assert "一時停止中" in texts_of(chat.say("企業情報"))


def test_login_page_refuses_forged_id_tokens_and_missing_csrf(
    chat, company, services, bot_server, emulator, dbview
):
    server = bot_server.config["SERVER_URL"]
    page = open_page(chat, company.company_code, services, bot_server)
    # An ID token LINE never issued: LINE says so, the page shows no form.
    forged = page.identify("forged-id-token")
    assert forged.status_code == 401 and "確認できませんでした" in forged.text
    assert "password" not in html_fields(forged.text)
    # The login form without the CSRF cookie and token: nothing checked, no redirect.
    no_csrf = requests.post(
        server + "/link",
        data={
            "linkToken": page.fields["linkToken"],
            "company_code": company.company_code,
            "member_id": company.members[0].member_id,
            "password": company.members[0].password,
        },
        allow_redirects=False,
        timeout=10,
    )
    assert no_csrf.status_code == 400
    # The identify step without its CSRF token: refused before LINE is asked.
    verified = len(emulator.calls("/oauth2/v2.1/verify"))
    refused = requests.post(server + "/link/identify", data={"id_token": page.id_token}, timeout=10)
    assert refused.status_code == 400
    assert len(emulator.calls("/oauth2/v2.1/verify")) == verified
    assert linked_member_pk(dbview, chat.user_id) is None


def link_token_calls(emulator) -> list[dict]:
    return [c for c in emulator.calls("/v2/bot/user/") if c["path"].endswith("/linkToken")]


def test_the_chat_never_calls_line_the_page_asks_for_the_link_token(
    chat, company, services, bot_server, emulator
):
    uri = ask_for_login(chat, company.company_code, services)
    assert link_token_calls(emulator) == []  # the handler wrote its answer without LINE
    assert uri == LIFF_URL  # nothing secret in the chat's URL
    page = LoginPage(chat, bot_server.config["SERVER_URL"], uri)
    (call,) = link_token_calls(emulator)
    assert call["path"] == f"/v2/bot/user/{chat.user_id}/linkToken"
    assert page.fields["linkToken"] and page.fields["company_code"] == company.company_code


def test_the_page_says_when_line_is_unreachable_and_works_when_opened_again(
    chat, company, services, bot_server, emulator
):
    uri = ask_for_login(chat, company.company_code, services)
    path = f"/v2/bot/user/{chat.user_id}/linkToken"
    emulator.inject_fault(path, 500, count=4)  # every attempt of the client (3 retries)
    page = LoginPage(chat, bot_server.config["SERVER_URL"], uri)
    assert page.response.status_code == 503
    assert "開き直してください" in page.response.text and "password" not in page.fields
    assert emulator.faults() == []
    again = LoginPage(chat, bot_server.config["SERVER_URL"], uri)
    assert again.response.status_code == 200 and again.fields["linkToken"]


def test_only_the_link_token_issued_for_the_request_is_accepted(
    chat, new_chat, company, services, bot_server, emulator, dbview
):
    credential = company.members[0]
    other = new_chat("別のユーザー")
    theirs = open_page(other, company.company_code, services, bot_server)
    page = open_page(chat, company.company_code, services, bot_server)
    # The other user's link token in this user's form: refused, nothing checked.
    forged = page.submit(
        linkToken=theirs.fields["linkToken"],
        member_id=credential.member_id,
        password=credential.password,
    )
    assert forged.status_code == 400 and "有効期限" in forged.text
    assert linked_member_pk(dbview, chat.user_id) is None
    # Its own token still works.
    page = open_page(chat, company.company_code, services, bot_server)
    response = page.submit(member_id=credential.member_id, password=credential.password)
    link_token, _ = link_params(response, emulator.base_url)
    assert link_token == page.fields["linkToken"]
