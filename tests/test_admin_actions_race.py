"""One-click console actions run at most once per ticket, under real concurrent HTTP requests
(a double click, or several operators) against the console on a real server thread (issue 16.1).

The claim is a row with a unique index (`inquiry_events (inquiry_id, action)`), so it holds on
SQLite and PostgreSQL and across processes; the requests that lose are answered 409 with a
Japanese page saying the action was already run, and nothing is applied twice."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from sqlalchemy import func, select

from adapters.runtime import build_runtime
from bot.app import create_app
from common.config import Settings
from models import audit
from models.company import Member, MemberKind, MemberStatus
from models.inquiries import InquiryEvent, InquiryType, create_inquiry
from models.mail import OutgoingMail
from models.operators import create_operator
from models.timeutil import FixedClock
from tests.concurrent_clicks import post_at_once
from tests.e2e import ServerThread
from tests.helpers import ACCESS_TOKEN, CHANNEL_SECRET, SECRET_KEY
from tests.test_inquiries_support import make_company

pytestmark = pytest.mark.usefixtures("cheap_hashing")

EMAIL = "race@example.jp"
PASSWORD = "correct-horse-battery"
CONCURRENT = 8


@pytest.fixture(scope="module")
def race_clock() -> FixedClock:
    return FixedClock()


@pytest.fixture(scope="module")
def console_url(engine, race_clock) -> Iterator[str]:
    settings = Settings(
        channel_secret=CHANNEL_SECRET,
        channel_access_token=ACCESS_TOKEN,
        database_url=str(engine.url),
        secret_key=SECRET_KEY,
    )
    runtime = build_runtime(settings, engine=engine, clock=race_clock)
    server = ServerThread(create_app(runtime=runtime, start_workers=False)).start()
    yield server.url
    server.stop()


def _token(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, page
    return match.group(1)


@pytest.fixture
def operator(console_url, db, race_clock) -> tuple[requests.Session, str]:
    """A logged-in browser session and the CSRF token of its pages."""
    race_clock.set(FixedClock().now())
    create_operator(db, race_clock, EMAIL, PASSWORD)
    db.commit()
    browser = requests.Session()
    login_page = browser.get(f"{console_url}/admin/login", timeout=10).text
    response = browser.post(
        f"{console_url}/admin/login",
        data={"email": EMAIL, "password": PASSWORD, "csrf_token": _token(login_page)},
        timeout=10,
    )
    assert response.status_code == 200 and "お問い合わせ一覧" in response.text
    return browser, _token(browser.get(f"{console_url}/admin/inquiries", timeout=10).text)


def _concurrently(browser: requests.Session, url: str, token: str, n: int) -> list[Any]:
    """POST the same form n times at once (each thread its own connection, same cookie)."""
    return post_at_once(browser, url, {"csrf_token": token}, n)


def _ticket(db, clock, kind: InquiryType, requester: str, **answers: Any):
    member = db.scalars(select(Member).where(Member.member_id == requester)).one()
    inquiry = create_inquiry(
        db, clock, type=kind, line_user_id="U" + "c" * 32, member=member, answers=answers
    )
    db.commit()
    return inquiry


def _outcome(results: list[Any]) -> tuple[int, int]:
    assert all(isinstance(r, requests.Response) for r in results), results
    codes = sorted(r.status_code for r in results)
    assert set(codes) <= {200, 409}, codes
    refused = [r for r in results if r.status_code == 409]
    assert all("すでに実行されています" in r.text for r in refused)
    return codes.count(200), len(refused)


def _action_rows(db, inquiry_id: int) -> int:
    db.expire_all()
    count = db.scalar(
        select(func.count(InquiryEvent.id)).where(
            InquiryEvent.inquiry_id == inquiry_id, InquiryEvent.kind == "action"
        )
    )
    db.commit()
    return int(count or 0)


def test_a_double_clicked_add_seats_issues_the_ids_once(console_url, operator, db, race_clock):
    browser, token = operator
    acme = make_company(db, race_clock, seats=3, seat_limit=50)
    inquiry = _ticket(
        db, race_clock, InquiryType.ADD_SEATS, acme.hr_contacts[0].member_id, seat_count=1
    )
    url = f"{console_url}/admin/inquiries/{inquiry.number}/actions/add_seats"
    ran, refused = _outcome(_concurrently(browser, url, token, CONCURRENT))
    employees = db.scalar(
        select(func.count(Member.id)).where(
            Member.company_id == inquiry.company_id, Member.kind == MemberKind.EMPLOYEE
        )
    )
    db.commit()
    assert (ran, refused) == (1, CONCURRENT - 1)
    assert employees == 3 + 1
    assert _action_rows(db, inquiry.id) == 1
    # The same request later (a reload, another operator) is refused the same way.
    again = browser.post(url, data={"csrf_token": token}, timeout=10)
    assert again.status_code == 409 and "すでに実行されています" in again.text


def test_concurrent_password_resets_reset_once(console_url, operator, db, race_clock):
    browser, token = operator
    acme = make_company(db, race_clock)
    target = acme.members[0].member_id
    inquiry = _ticket(
        db,
        race_clock,
        InquiryType.CREDENTIALS,
        acme.hr_contacts[0].member_id,
        credential_what="ID・パスワード",
        target_member_id=target,
    )
    url = f"{console_url}/admin/inquiries/{inquiry.number}/actions/reset_password"
    ran, refused = _outcome(_concurrently(browser, url, token, CONCURRENT))
    resets = [e for e in audit.entries(db, target=f"member:{target}")]
    mails = db.scalar(select(func.count(OutgoingMail.id)).where(OutgoingMail.sensitive))
    db.commit()
    assert (ran, refused) == (1, CONCURRENT - 1)
    assert [e.action for e in resets] == ["password_reset"]
    assert mails == 1  # one credentials mail, to the company's HR contact address
    assert _action_rows(db, inquiry.id) == 1


def test_concurrent_retirements_retire_once(console_url, operator, db, race_clock):
    browser, token = operator
    acme = make_company(db, race_clock)
    retiree = acme.members[0].member_id
    inquiry = _ticket(
        db,
        race_clock,
        InquiryType.RETIRE,
        acme.hr_contacts[0].member_id,
        retiree_name="退職 太郎",
        retiree_member_id=retiree,
    )
    url = f"{console_url}/admin/inquiries/{inquiry.number}/actions/retire"
    ran, refused = _outcome(_concurrently(browser, url, token, CONCURRENT))
    member = db.scalars(select(Member).where(Member.member_id == retiree)).one()
    retirements = [e.action for e in audit.entries(db, target=f"member:{retiree}")]
    db.commit()
    assert (ran, refused) == (1, CONCURRENT - 1)
    assert member.status is MemberStatus.RETIRED
    assert retirements == ["member_retired"]
    assert _action_rows(db, inquiry.id) == 1
