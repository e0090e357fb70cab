"""What an HR contact and the console see of a company: seats, HR contacts, linked members."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.companies.lookups import active_members, seats_used
from models.company import Company, CompanyStatus, Member, MemberKind
from models.line_user import LineUser


@dataclass(frozen=True)
class CompanySummary:
    code: str
    name: str
    status: CompanyStatus
    seat_limit: int
    seats_used: int  # active employee IDs issued
    hr_contacts: int
    linked_member_ids: list[str]


def company_summary(session: Session, company: Company) -> CompanySummary:
    linked = list(
        session.scalars(
            select(Member.member_id)
            .join(LineUser, LineUser.member_pk == Member.id)
            .where(Member.company_id == company.id, Member.kind == MemberKind.EMPLOYEE)
            .order_by(Member.member_id)
        )
    )
    hr = active_members(session, company, MemberKind.HR_CONTACT)
    return CompanySummary(
        code=company.code,
        name=company.name,
        status=company.status,
        seat_limit=company.seat_limit,
        seats_used=seats_used(session, company),
        hr_contacts=hr,
        linked_member_ids=linked,
    )
