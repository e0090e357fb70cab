"""Demo data for `make run`: one company with fixed codes and passwords, some points.

Idempotent: running it again changes nothing and returns the same values. The fixed
passwords are for the local demo only (never seed them into a real database).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from models.companies import find_company, find_member
from models.company import Company, CompanyStatus, Member, MemberKind, MemberStatus
from models.passwords import hash_password
from models.points import PointsLedger
from models.timeutil import Clock

DEMO_COMPANY_CODE = "DEMA2345"
DEMO_COMPANY_NAME = "デモ株式会社"
DEMO_CONTACT_EMAIL = "hr@demo.example.jp"
DEMO_SEAT_LIMIT = 10
# (member ID, password, kind, points granted)
DEMO_MEMBERS: list[tuple[str, str, MemberKind, int]] = [
    ("DEMAM2345A", "demo-pass-A", MemberKind.EMPLOYEE, 1200),
    ("DEMAM2345B", "demo-pass-B", MemberKind.EMPLOYEE, 500),
    ("DEMAM2345C", "demo-pass-C", MemberKind.EMPLOYEE, 0),
    ("DEMAH2345H", "demo-pass-H", MemberKind.HR_CONTACT, 0),
]


def seed_demo(session: Session, clock: Clock) -> dict[str, Any]:
    """Create what is missing; return the company code and one member's ID and password."""
    now = clock.now()
    company = find_company(session, DEMO_COMPANY_CODE)
    if company is None:
        company = Company(
            code=DEMO_COMPANY_CODE,
            name=DEMO_COMPANY_NAME,
            seat_limit=DEMO_SEAT_LIMIT,
            status=CompanyStatus.ACTIVE,
            contact_email=DEMO_CONTACT_EMAIL,
            created_at=now,
        )
        session.add(company)
        session.flush()
    ledger = PointsLedger(session, clock)
    for member_id, password, kind, points in DEMO_MEMBERS:
        member = find_member(session, member_id)
        if member is None:
            member = Member(
                member_id=member_id,
                company=company,
                kind=kind,
                status=MemberStatus.ACTIVE,
                password_hash=hash_password(password),
                created_at=now,
            )
            session.add(member)
            session.flush()
        if points and member.is_active:
            ref = f"demo-grant-{member_id}"
            ledger.grant(member, points, ref, "デモ用ポイント", key=ref)
    member_id, password, _, _ = DEMO_MEMBERS[0]
    hr_id, hr_password, _, _ = DEMO_MEMBERS[3]
    return {
        "company_code": DEMO_COMPANY_CODE,
        "company_name": DEMO_COMPANY_NAME,
        "member_id": member_id,
        "password": password,
        "hr_member_id": hr_id,
        "hr_password": hr_password,
    }
