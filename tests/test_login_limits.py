"""Login limits hold under concurrent tries and sprays: the attempt is claimed in the database
before any password is checked (console and login page, real HTTP servers, many threads);
per-address limits stop a spray; a stranger cannot lock a real operator out."""

# ruff: noqa: F811  (the console fixtures are imported from test_admin_console)

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import func, select

from models import login_guard
from models.companies import LoginError, check_login, create_company
from models.company import LoginAttempt, LoginOutcome
from models.operators import OperatorLoginAttempt, create_operator
from tests.e2e import ServerThread
from tests.test_admin_console import (  # noqa: F401  (fixtures)
    EMAIL,
    PASSWORD,
    client,
    clock,
    console_app,
    console_clock,
    csrf,
)
from tests.test_linking_e2e import company, form_action, open_page  # noqa: F401  (fixture)

STRANGER = "198.51.100.7"
OPERATOR_ADDRESS = "203.0.113.5"


def checked(db, email: str | None = None) -> int:
    """Passwords checked so far (each check writes one attempt row; a refusal writes none)."""
    stmt = select(func.count()).select_from(OperatorLoginAttempt)
    if email is not None:
        stmt = stmt.where(OperatorLoginAttempt.email == email)
    value = db.scalar(stmt)
    db.commit()
    return int(value or 0)


def login_from(app, address: str, email: str = EMAIL, password: str = PASSWORD) -> int:
    browser = app.test_client()
    browser.environ_base["REMOTE_ADDR"] = address
    token = csrf(browser)
    response = browser.post(
        "/admin/login", data={"email": email, "password": password, "csrf_token": token}
    )
    return response.status_code


def test_forty_concurrent_wrong_passwords_check_five(console_app, client, db):
    server = ServerThread(console_app).start()
    try:
        url = server.url + "/admin/login"
        first = requests.get(url, timeout=10)
        token = re.search(r'name="csrf_token" value="([^"]+)"', first.text).group(1)
        cookies = {"session": first.cookies["session"]}

        def attempt(n: int) -> int:
            data = {"email": EMAIL, "password": f"wrong-{n}", "csrf_token": token}
            response = requests.post(
                url, data=data, cookies=cookies, allow_redirects=False, timeout=60
            )
            return response.status_code

        with ThreadPoolExecutor(max_workers=40) as pool:
            statuses = list(pool.map(attempt, range(40)))
    finally:
        server.stop()
    assert checked(db, EMAIL) == 5
    assert sorted(statuses) == [401] * 5 + [429] * 35


def test_a_spray_across_sixty_addresses_is_stopped_after_twenty(console_app, client, db):
    statuses = [
        login_from(console_app, STRANGER, f"user{n}@example.jp", "guess-123456") for n in range(60)
    ]
    assert statuses == [401] * 20 + [429] * 40
    assert checked(db) == 20


def test_a_stranger_cannot_lock_a_real_operator_out(console_app, client, db, clock):
    for _ in range(30):
        login_from(console_app, STRANGER, password="guess-123456")
    assert checked(db, EMAIL) == 5  # the stranger's address is locked for this account
    assert login_from(console_app, OPERATOR_ADDRESS) == 302  # the operator is not


def test_the_account_locks_only_after_many_failures_from_many_addresses(
    console_app, client, db, clock
):
    for n in range(10):
        for _ in range(5):
            assert login_from(console_app, f"192.0.2.{n}", password="guess-123456") == 401
    assert checked(db, EMAIL) == 50
    assert login_from(console_app, OPERATOR_ADDRESS) == 429  # now the account is locked
    clock.advance(minutes=15, seconds=1)
    assert login_from(console_app, OPERATOR_ADDRESS) == 302


def test_thirty_concurrent_wrong_passwords_on_the_login_page_check_five(
    chat, company, services, bot_server, dbview
):
    page = open_page(chat, company.company_code, services, bot_server)
    member_id = company.members[0].member_id
    data = {**page.fields, "member_id": member_id, "password": "wrong-password"}
    cookies = page.http.cookies.get_dict()

    def attempt(_: int) -> int:
        url = page.server_url + form_action(page.response.text)
        response = requests.post(url, data=data, cookies=cookies, allow_redirects=False, timeout=60)
        return response.status_code

    with ThreadPoolExecutor(max_workers=30) as pool:
        statuses = list(pool.map(attempt, range(30)))
    failures = dbview.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.member_key == member_id, LoginAttempt.outcome == LoginOutcome.FAILURE)
    )
    assert failures == 5
    assert sorted(statuses) == [401] * 5 + [429] * 25


@pytest.mark.usefixtures("cheap_hashing")
def test_the_login_page_limits_one_address_across_member_ids_and_line_users(db, clock):
    issued = create_company(db, clock, name="G社", seats=25, contact_email="g@example.jp")
    codes = []
    for n, credential in enumerate(issued.members):
        try:
            check_login(
                db,
                clock,
                company_code=issued.company_code,
                member_id=credential.member_id,
                password="guess-123456",
                line_user_id=f"U{n:032d}",
                remote_addr=STRANGER,
            )
        except LoginError as exc:
            codes.append(exc.code)
    assert codes == ["invalid"] * 20 + ["locked"] * 5
    # Another address is not limited.
    member = check_login(
        db,
        clock,
        company_code=issued.company_code,
        member_id=issued.members[-1].member_id,
        password=issued.members[-1].password,
        line_user_id="U" + "f" * 32,
        remote_addr=OPERATOR_ADDRESS,
    )
    assert member.member_id == issued.members[-1].member_id


def test_a_refused_claim_never_extends_a_lock(db, clock):
    rule = login_guard.Rule(
        "test_rule",
        2,
        __import__("datetime").timedelta(minutes=10),
        __import__("datetime").timedelta(minutes=5),
    )
    now = clock.now()
    assert login_guard.claim(db, now, [(rule, "k")]) is None
    assert login_guard.claim(db, now, [(rule, "k")]) is None  # the second: locks for 5 min
    until = login_guard.claim(db, now, [(rule, "k")])
    clock.advance(minutes=4)
    assert login_guard.claim(db, clock.now(), [(rule, "k")]) == until
    clock.advance(minutes=1)
    assert login_guard.claim(db, clock.now(), [(rule, "k")]) is None
    db.rollback()


def test_operators_created_for_the_limits_exist(db, clock):
    operator, _ = create_operator(db, clock, "limits@example.jp", "a-long-password")
    assert operator.role == "operator"
    db.rollback()


@pytest.mark.usefixtures("cheap_hashing")
def test_behind_a_trusted_proxy_the_client_address_is_counted(engine, db, clock):
    from adapters.runtime import build_runtime
    from bot.app import create_app
    from common.config import Settings
    from tests.helpers import ACCESS_TOKEN, CHANNEL_SECRET, SECRET_KEY

    settings = Settings(
        channel_secret=CHANNEL_SECRET,
        channel_access_token=ACCESS_TOKEN,
        database_url=str(engine.url),
        secret_key=SECRET_KEY,
        trusted_proxies=1,
    )
    app = create_app(
        runtime=build_runtime(settings, engine=engine, clock=clock), start_workers=False
    )
    browser = app.test_client()
    token = csrf(browser)
    browser.post(
        "/admin/login",
        data={"email": "a@example.jp", "password": "guess-123456", "csrf_token": token},
        headers={"X-Forwarded-For": STRANGER},
    )
    keys = set(
        db.scalars(
            select(login_guard.LoginGuard.key).where(
                login_guard.LoginGuard.scope == "console_address"
            )
        )
    )
    db.commit()
    assert keys == {STRANGER}
