"""Finding companies and members by what people type (codes are normalised first)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from common.textnorm import normalize_code
from models.companies.errors import CompanyError
from models.company import Company, Member, MemberKind, MemberStatus
from models.line_user import LineUser
from models.passwords import CODE_ALPHABET

COMPANY_CODE_LENGTH = 8
MEMBER_ID_LENGTH = 10


def normalize_company_code(value: str) -> str:
    return normalize_code(value)


def is_code_shaped(code: str) -> bool:
    return len(code) == COMPANY_CODE_LENGTH and all(c in CODE_ALPHABET for c in code)


def find_company(session: Session, code: str) -> Company | None:
    code = normalize_code(code)
    if not code:
        return None
    return session.scalar(select(Company).where(Company.code == code))


def get_company(session: Session, code: str) -> Company:
    company = find_company(session, code)
    if company is None:
        raise CompanyError("unknown_company", f"no company with code {normalize_code(code)!r}")
    return company


def find_member(session: Session, member_id: str) -> Member | None:
    key = normalize_code(member_id)
    if not key:
        return None
    return session.scalar(select(Member).where(Member.member_id == key))


def get_member(session: Session, member_id: str) -> Member:
    member = find_member(session, member_id)
    if member is None:
        raise CompanyError("unknown_member", f"no member with ID {normalize_code(member_id)!r}")
    return member


def linked_line_user(session: Session, member: Member) -> LineUser | None:
    return session.scalar(select(LineUser).where(LineUser.member_pk == member.id))


def company_for_linking(session: Session, typed: str) -> Company:
    """The company whose code the user typed in chat, if members may link to it now."""
    code = normalize_code(typed)
    if not is_code_shaped(code):
        raise CompanyError("invalid_code_format", "a company code is 8 letters and digits")
    company = find_company(session, code)
    if company is None:
        raise CompanyError("unknown_company", "no such company")
    if not company.is_active:
        raise CompanyError("company_inactive", "the company is not active", status=company.status)
    return company


def active_members(session: Session, company: Company, kind: MemberKind) -> int:
    """Active members of one kind (a retired member no longer counts)."""
    return int(
        session.scalar(
            select(func.count(Member.id)).where(
                Member.company_id == company.id,
                Member.kind == kind,
                Member.status == MemberStatus.ACTIVE,
            )
        )
        or 0
    )


def seats_used(session: Session, company: Company) -> int:
    """Active employee IDs issued (a retired member's seat is free again)."""
    return active_members(session, company, MemberKind.EMPLOYEE)
