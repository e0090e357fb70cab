"""Reading tickets: what a chat user may see, the console's search, the CLI's JSON."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.company import Company, Member
from models.inquiries.kinds import OPEN_STATUSES, InquiryStatus, InquiryType, RequesterKind
from models.inquiries.records import Inquiry


def visible_to_requester(
    session: Session, *, line_user_id: str, member: Member | None, open_only: bool = True
) -> list[Inquiry]:
    """The tickets a chat user may see: an HR contact sees their company's requests filed by
    HR contacts; anyone else sees the tickets they filed themselves."""
    stmt = select(Inquiry)
    if member is not None and member.is_hr_contact and member.is_active:
        stmt = stmt.where(
            Inquiry.company_id == member.company_id,
            Inquiry.requester_kind == RequesterKind.HR_CONTACT,
        )
    else:
        stmt = stmt.where(Inquiry.line_user_id == line_user_id)
    if open_only:
        stmt = stmt.where(Inquiry.status.in_(OPEN_STATUSES))
    return list(session.scalars(stmt.order_by(Inquiry.id.desc()).limit(50)))


@dataclass(frozen=True)
class Page:
    items: list[Inquiry]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def search(
    session: Session,
    *,
    status: str | None = None,
    type: str | None = None,
    company: str | None = None,
    assignee: int | str | None = None,
    page: int = 1,
    per_page: int = 20,
) -> Page:
    """Tickets newest first, filtered by status ("open" = not closed), type, company code
    (or part of the company's name) and assignee (an operator id, or "none": unassigned)."""
    stmt = select(Inquiry)
    if status == "open":
        stmt = stmt.where(Inquiry.status.in_(OPEN_STATUSES))
    elif status:
        stmt = stmt.where(Inquiry.status == InquiryStatus(status))
    if type:
        stmt = stmt.where(Inquiry.type == InquiryType(type))
    if assignee == "none":
        stmt = stmt.where(Inquiry.assignee_id.is_(None))
    elif isinstance(assignee, int):
        stmt = stmt.where(Inquiry.assignee_id == assignee)
    if company:
        term = company.strip()
        stmt = stmt.outerjoin(Company, Inquiry.company_id == Company.id).where(
            (Inquiry.company_code == term.upper()) | Company.name.contains(term)
        )
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    page = max(1, page)
    items = list(
        session.scalars(
            stmt.order_by(Inquiry.id.desc()).offset((page - 1) * per_page).limit(per_page)
        )
    )
    return Page(items, total, page, per_page)


def to_dict(inquiry: Inquiry) -> dict[str, Any]:
    return {
        "number": inquiry.number,
        "type": inquiry.type.value,
        "status": inquiry.status.value,
        "company": inquiry.company.code if inquiry.company else inquiry.company_code,
        "company_name": inquiry.company.name if inquiry.company else None,
        "requester": {
            "kind": inquiry.requester_kind.value,
            "member_id": inquiry.requester.member_id if inquiry.requester else None,
            "line_user_id": inquiry.line_user_id,
        },
        "answers": dict(inquiry.answers),
        "assignee": inquiry_assignee_email(inquiry),
        "created_at": inquiry.created_at.isoformat(),
        "updated_at": inquiry.updated_at.isoformat(),
    }


def inquiry_assignee_email(inquiry: Inquiry) -> str | None:
    if inquiry.assignee_id is None:
        return None
    from models.operators import Operator

    session = Session.object_session(inquiry)
    operator = session.get(Operator, inquiry.assignee_id) if session else None
    return operator.email if operator else None
