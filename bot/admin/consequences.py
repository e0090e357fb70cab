"""What an irreversible action will do, in figures, for the confirmation page (reads only).

`ticket_preview` for a ticket's one-click action (the member's real balance, whether a LINE
link goes, the seats figures, where credentials go); `company_preview` for the company page's
suspend / resume / stop service.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from bot.admin import action_texts as at
from bot.admin import texts as t
from bot.admin.actions import ActionError, _member_of_ticket, _target
from models import companies
from models.company import Company, CompanyStatus, MemberStatus
from models.inquiries import Inquiry
from models.points import PointsLedger
from models.timeutil import Clock


@dataclass
class Preview:
    lines: list[str] = field(default_factory=list)
    irreversible: bool = True
    refused: str | None = None  # why it cannot run now


def _retire(session: Session, clock: Clock, inquiry: Inquiry) -> Preview:
    member = _member_of_ticket(session, inquiry, inquiry.answers.get("retiree_member_id"))
    balance = PointsLedger(session, clock).balance(member)
    user = companies.linked_line_user(session, member)
    name = str(inquiry.answers.get("retiree_name") or "-")
    lines = [at.RETIRE_WHO.format(member_id=member.member_id, name=name)]
    template = at.RETIRE_POINTS_AND_LINK if user is not None else at.RETIRE_POINTS_ONLY
    lines.append(template.format(points=balance.available))
    if balance.pending:
        lines.append(at.RETIRE_PENDING.format(points=balance.pending))
    if user is not None:
        lines.append(at.RETIRE_BLOCKED if user.blocked else at.RETIRE_NOTICE)
    preview = Preview(lines)
    if member.status is MemberStatus.RETIRED:
        preview.refused = t.COMPANY_ERRORS["already_retired"]
    return preview


def _seats(session: Session, inquiry: Inquiry) -> Preview:
    company = inquiry.company
    if company is None:
        raise ActionError(at.CANNOT_RUN)
    try:
        count = int(inquiry.answers.get("seat_count", 0))
    except (TypeError, ValueError):
        count = 0
    used = companies.seats_used(session, company)
    lines = [
        at.SEATS_WHAT.format(company=company.name, code=company.code, count=count),
        at.SEATS_FIGURES.format(used=used, after=used + count, limit=company.seat_limit),
        at.SEATS_DELIVERY.format(email=company.contact_email),
    ]
    preview = Preview(lines, irreversible=False)
    if used + count > company.seat_limit:
        preview.refused = at.SEATS_OVER.format(limit=company.seat_limit, used=used)
    return preview


def _reset(session: Session, inquiry: Inquiry) -> Preview:
    member = _member_of_ticket(session, inquiry, _target(inquiry))
    return Preview(
        [
            at.RESET_WHAT.format(member_id=member.member_id),
            at.RESET_DELIVERY.format(email=member.company.contact_email),
        ]
    )


def company_preview(session: Session, company: Company, operation: str) -> Preview:
    facts = companies.company_summary(session, company)
    members = facts.seats_used + facts.hr_contacts
    linked = len(facts.linked_member_ids)
    names = {"company": company.name, "code": company.code}
    if operation == "terminate":
        return Preview(
            [
                at.STOP_WHAT.format(**names),
                at.STOP_POINTS.format(members=members),
                at.STOP_LINKED.format(linked=linked),
            ]
        )
    if operation == "suspend":
        lines = [
            at.SUSPEND_WHAT.format(**names),
            at.SUSPEND_EFFECT.format(members=members, linked=linked),
        ]
        return Preview(lines, irreversible=False)
    return Preview([at.RESUME_WHAT.format(**names), at.RESUME_EFFECT], irreversible=False)


def _stop(session: Session, inquiry: Inquiry) -> Preview:
    company = inquiry.company
    if company is None:
        raise ActionError(at.CANNOT_RUN)
    preview = company_preview(session, company, "terminate")
    if inquiry.answers.get("stop_date"):
        preview.lines.insert(1, at.STOP_DATE.format(date=inquiry.answers["stop_date"]))
    if company.status is CompanyStatus.TERMINATED:
        preview.refused = at.COMPANY_OP_REFUSED["terminate"]
    return preview


def ticket_preview(session: Session, clock: Clock, inquiry: Inquiry, name: str) -> Preview:
    try:
        if name == "retire":
            return _retire(session, clock, inquiry)
        if name == "add_seats":
            return _seats(session, inquiry)
        if name == "reset_password":
            return _reset(session, inquiry)
        return _stop(session, inquiry)
    except ActionError as exc:
        return Preview(refused=exc.message)
