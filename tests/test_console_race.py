"""Double clicks on the console's company status changes and the stop-service action, under
real concurrent HTTP requests against the console on a real server thread: each runs once, the
others are answered 409 (never a 5xx), and the database shows one change.

Company status changes hold a row lock on the company (`SELECT … FOR UPDATE` on PostgreSQL;
SQLite serializes write transactions), so the second request sees the first one's change."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from sqlalchemy import select

from models import audit
from models.company import Company, CompanyStatus, Member
from models.inquiries import Inquiry, InquiryStatus, InquiryType, create_inquiry
from models.operators import create_operator
from models.timeutil import FixedClock
from tests import test_admin_actions_race as race
from tests.test_inquiries_support import make_company

pytestmark = pytest.mark.usefixtures("cheap_hashing")
race_clock, console_url = race.race_clock, race.console_url
ADMIN = "race-admin@example.jp"
CONCURRENT = 8


@pytest.fixture
def admin(console_url, db, race_clock) -> tuple[requests.Session, str]:
    race_clock.set(FixedClock().now())
    create_operator(db, race_clock, ADMIN, race.PASSWORD, role="admin")
    db.commit()
    browser = requests.Session()
    login_page = browser.get(f"{console_url}/admin/login", timeout=10).text
    response = browser.post(
        f"{console_url}/admin/login",
        data={"email": ADMIN, "password": race.PASSWORD, "csrf_token": race._token(login_page)},
        timeout=10,
    )
    assert response.status_code == 200
    return browser, race._token(browser.get(f"{console_url}/admin/inquiries", timeout=10).text)


def _codes(results: list[Any]) -> list[int]:
    assert all(isinstance(r, requests.Response) for r in results), results
    return sorted(r.status_code for r in results)


def _status(db, company_id: int) -> CompanyStatus:
    db.expire_all()
    status = db.get(Company, company_id).status
    db.commit()
    return status


def _company_log(db, code: str) -> list[str]:
    actions = [e.action for e in audit.entries(db, target=f"company:{code}")]
    db.commit()
    return actions


@pytest.mark.parametrize(
    ("operation", "before", "after", "logged"),
    [
        ("suspend", CompanyStatus.ACTIVE, CompanyStatus.SUSPENDED, "company_suspended"),
        ("resume", CompanyStatus.SUSPENDED, CompanyStatus.ACTIVE, "company_resumed"),
        ("terminate", CompanyStatus.ACTIVE, CompanyStatus.TERMINATED, "company_terminated"),
    ],
)
def test_a_double_clicked_company_status_change_runs_once(
    console_url, admin, db, race_clock, operation, before, after, logged
):
    browser, token = admin
    acme = make_company(db, race_clock)
    company = db.scalars(select(Company).where(Company.code == acme.company_code)).one()
    company.status = before
    db.commit()
    url = f"{console_url}/admin/companies/{acme.company_code}/status/{operation}"
    codes = _codes(race._concurrently(browser, url, token, CONCURRENT))
    # requests follows the winner's redirect to the company page (200).
    assert codes == [200] + [409] * (CONCURRENT - 1), codes
    assert _status(db, company.id) is after
    assert _company_log(db, acme.company_code).count(logged) == 1


def test_a_double_clicked_stop_service_action_stops_once(console_url, admin, db, race_clock):
    browser, token = admin
    acme = make_company(db, race_clock)
    hr = db.scalars(select(Member).where(Member.member_id == acme.hr_contacts[0].member_id)).one()
    inquiry = create_inquiry(
        db,
        race_clock,
        type=InquiryType.STOP_SERVICE,
        line_user_id="U" + "c" * 32,
        member=hr,
        answers={"stop_date": "2026年6月30日（火）", "detail": "x"},
    )
    db.commit()
    url = f"{console_url}/admin/inquiries/{inquiry.number}/actions/stop_service"
    results = race._concurrently(browser, url, token, CONCURRENT)
    ran, refused = race._outcome(results)
    assert (ran, refused) == (1, CONCURRENT - 1)
    assert _status(db, hr.company_id) is CompanyStatus.TERMINATED
    assert _company_log(db, acme.company_code).count("company_terminated") == 1
    assert race._action_rows(db, inquiry.id) == 1
    db.expire_all()
    row = db.get(Inquiry, inquiry.id)
    assert row.status is InquiryStatus.IN_PROGRESS and row.assignee_id is not None
    db.commit()


def test_a_clerk_who_is_not_an_admin_cannot_change_a_company(console_url, db, race_clock):
    race_clock.set(FixedClock().now())
    create_operator(db, race_clock, race.EMAIL, race.PASSWORD)  # role: operator
    acme = make_company(db, race_clock)
    db.commit()
    browser = requests.Session()
    page = browser.get(f"{console_url}/admin/login", timeout=10).text
    browser.post(
        f"{console_url}/admin/login",
        data={"email": race.EMAIL, "password": race.PASSWORD, "csrf_token": race._token(page)},
        timeout=10,
    )
    token = race._token(browser.get(f"{console_url}/admin/inquiries", timeout=10).text)
    url = f"{console_url}/admin/companies/{acme.company_code}/status/suspend"
    codes = _codes(race._concurrently(browser, url, token, 3))
    assert codes == [403, 403, 403]
    company = db.scalars(select(Company).where(Company.code == acme.company_code)).one()
    assert company.status is CompanyStatus.ACTIVE
    db.commit()
