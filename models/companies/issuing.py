"""Issuing: companies with an 8-character code, member IDs and random initial passwords (the
plain passwords exist only in the returned `IssuedIds`, for the CLI output and the Excel list),
seats added within the plan's limit, the plan's limit changed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from common.textnorm import normalize_code
from models import audit
from models.companies.errors import CompanyError
from models.companies.lookups import (
    COMPANY_CODE_LENGTH,
    MEMBER_ID_LENGTH,
    find_company,
    find_member,
    get_company,
    is_code_shaped,
    seats_used,
)
from models.company import Company, CompanyStatus, EmploymentType, Member, MemberKind, MemberStatus
from models.passwords import CODE_ALPHABET, generate_password, hash_password, random_string
from models.timeutil import Clock


@dataclass(frozen=True)
class Credential:
    member_id: str
    password: str

    def to_json(self) -> dict[str, str]:
        return {"member_id": self.member_id, "password": self.password}


@dataclass(frozen=True)
class IssuedIds:
    """IDs with their plain initial passwords: shown once (CLI, Excel), never stored."""

    company_code: str
    company_name: str
    members: list[Credential] = field(default_factory=list)
    hr_contacts: list[Credential] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "company_code": self.company_code,
            "members": [c.to_json() for c in self.members],
            "hr_contacts": [c.to_json() for c in self.hr_contacts],
        }


def _new_company_code(session: Session) -> str:
    while True:
        code = random_string(CODE_ALPHABET, COMPANY_CODE_LENGTH)
        if find_company(session, code) is None:
            return code


def _new_member_id(session: Session, taken: set[str]) -> str:
    while True:
        member_id = random_string(CODE_ALPHABET, MEMBER_ID_LENGTH)
        if member_id not in taken and find_member(session, member_id) is None:
            taken.add(member_id)
            return member_id


def _issue_members(
    session: Session,
    company: Company,
    count: int,
    kind: MemberKind,
    now: datetime,
    employment_type: EmploymentType = EmploymentType.FULL_TIME,
) -> list[Credential]:
    taken: set[str] = set()
    issued: list[Credential] = []
    for _ in range(count):
        member_id = _new_member_id(session, taken)
        password = generate_password()
        session.add(
            Member(
                member_id=member_id,
                company=company,
                kind=kind,
                employment_type=employment_type,
                status=MemberStatus.ACTIVE,
                password_hash=hash_password(password),
                created_at=now,
            )
        )
        issued.append(Credential(member_id, password))
    session.flush()
    return issued


def create_company(
    session: Session,
    clock: Clock,
    *,
    name: str,
    seats: int,
    contact_email: str,
    hr_contacts: int = 1,
    seat_limit: int | None = None,
    actor: str = "cli",
    code: str | None = None,
) -> IssuedIds:
    """A company with `seats` employee IDs and `hr_contacts` HR contact IDs. The plan's seat
    limit defaults to `seats`. `code` fixes the company code (demo data only)."""
    name = (name or "").strip()
    contact_email = (contact_email or "").strip()
    limit = seats if seat_limit is None else seat_limit
    if not name:
        raise CompanyError("invalid_request", "a company name is required")
    if "@" not in contact_email or len(contact_email) > 254:
        raise CompanyError("invalid_request", "a valid contact e-mail is required")
    if seats < 0 or hr_contacts < 0:
        raise CompanyError("invalid_request", "seat and HR contact counts cannot be negative")
    if limit < seats:
        raise CompanyError(
            "seat_limit", f"{seats} seats exceed the plan's limit of {limit}", limit=limit
        )
    if code is not None:
        code = normalize_code(code)
        if not is_code_shaped(code):
            raise CompanyError("invalid_request", "a company code is 8 letters and digits")
        if find_company(session, code) is not None:
            raise CompanyError("duplicate_company_code", f"company code {code} is taken")
    now = clock.now()
    company = Company(
        code=code or _new_company_code(session),
        name=name,
        seat_limit=limit,
        status=CompanyStatus.ACTIVE,
        contact_email=contact_email,
        created_at=now,
    )
    session.add(company)
    session.flush()
    members = _issue_members(session, company, seats, MemberKind.EMPLOYEE, now)
    contacts = _issue_members(session, company, hr_contacts, MemberKind.HR_CONTACT, now)
    audit.record(
        session,
        actor,
        "company_created",
        f"company:{company.code}",
        {
            "name": name,
            "seat_limit": limit,
            "member_ids": [c.member_id for c in members],
            "hr_contact_ids": [c.member_id for c in contacts],
        },
        at=now,
    )
    return IssuedIds(company.code, company.name, members, contacts)


def add_seats(
    session: Session,
    clock: Clock,
    code: str,
    count: int,
    *,
    actor: str = "cli",
    employment_type: EmploymentType = EmploymentType.FULL_TIME,
) -> IssuedIds:
    company = get_company(session, code)
    if count <= 0:
        raise CompanyError("invalid_request", "the number of seats to add must be positive")
    if company.status is CompanyStatus.TERMINATED:
        raise CompanyError("company_terminated", f"company {company.code} is terminated")
    used = seats_used(session, company)
    if used + count > company.seat_limit:
        raise CompanyError(
            "seat_limit",
            f"refused: {used} of the plan's {company.seat_limit} seats are in use; adding "
            f"{count} would exceed the limit of {company.seat_limit} "
            f"(at most {max(company.seat_limit - used, 0)} more)",
            limit=company.seat_limit,
            used=used,
        )
    now = clock.now()
    members = _issue_members(session, company, count, MemberKind.EMPLOYEE, now, employment_type)
    audit.record(
        session,
        actor,
        "seats_added",
        f"company:{company.code}",
        {"count": count, "member_ids": [c.member_id for c in members]},
        at=now,
    )
    return IssuedIds(company.code, company.name, members, [])


def set_seat_limit(
    session: Session, clock: Clock, code: str, limit: int, *, actor: str = "cli"
) -> Company:
    """A plan change: the limit cannot go below the seats in use."""
    company = get_company(session, code)
    used = seats_used(session, company)
    if limit < used:
        raise CompanyError(
            "seat_limit", f"{used} seats are in use; the limit cannot be lower", used=used
        )
    before = company.seat_limit
    company.seat_limit = limit
    audit.record(
        session,
        actor,
        "seat_limit_changed",
        f"company:{company.code}",
        {"from": before, "to": limit},
        at=clock.now(),
    )
    session.flush()
    return company
