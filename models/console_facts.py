"""What the back office needs to know about a company or a member, in one place for the console
pages and the CLI (`benesapo company show --json`, `benesapo member show --json`).

Plain data (dicts of str / int / bool / lists), never a password, never a raw LINE user id:
a member's LINE link is said as linked or not, and when.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from models.companies import seats_used
from models.company import Company, CompanyStatus, Member, MemberKind, MemberStatus
from models.handoff import SENDER_USER, HandoffMessage
from models.inquiries import Inquiry, InquiryStatus
from models.line_user import LineUser
from models.points import PointsLedger

TICKETS_SHOWN = 50
HISTORY_SHOWN = 20
MEMBERS_SHOWN = 200


def member_status(member: Member) -> str:
    """active | retired | suspended | terminated (the company's state when it is not active)."""
    if member.status is MemberStatus.RETIRED:
        return "retired"
    if member.company.status is not CompanyStatus.ACTIVE:
        return member.company.status.value
    return "active"


def _tickets(session: Session, *conditions: Any) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(Inquiry).where(*conditions).order_by(Inquiry.id.desc()).limit(TICKETS_SHOWN)
    )
    return [
        {
            "number": i.number,
            "type": i.type.value,
            "status": i.status.value,
            "open": i.status not in (InquiryStatus.DONE, InquiryStatus.REJECTED),
            "created_at": i.created_at.isoformat(),
        }
        for i in rows
    ]


def company_facts(session: Session, company: Company) -> dict[str, Any]:
    """Code, plan seats, IDs issued, linked members, HR contacts, tickets."""
    counts = dict(
        session.execute(
            select(Member.kind, func.count(Member.id))
            .where(Member.company_id == company.id)
            .group_by(Member.kind)
        ).all()
    )
    rows = session.execute(
        select(Member, LineUser.linked_at)
        .outerjoin(LineUser, LineUser.member_pk == Member.id)
        .where(Member.company_id == company.id)
        .order_by(Member.kind, Member.member_id)
        .limit(MEMBERS_SHOWN)
    ).all()
    members = [
        {
            "member_id": m.member_id,
            "kind": m.kind.value,
            "status": member_status(m),
            "linked": linked_at is not None,
        }
        for m, linked_at in rows
    ]
    return {
        "company_code": company.code,
        "name": company.name,
        "status": company.status.value,
        "status_changed_at": _iso(company.status_changed_at),
        "contact_email": company.contact_email,
        "seat_limit": company.seat_limit,
        "seats_used": seats_used(session, company),
        "ids_issued": int(counts.get(MemberKind.EMPLOYEE, 0)),
        "hr_contacts": [m["member_id"] for m in members if m["kind"] == "hr_contact"],
        "linked_member_ids": [m["member_id"] for m in members if m["linked"]],
        "members": members,
        "members_total": int(sum(counts.values())),
        "tickets": _tickets(session, Inquiry.company_id == company.id),
    }


def member_facts(
    session: Session, ledger: PointsLedger, member: Member, now: datetime
) -> dict[str, Any]:
    """Status, link, balance and history, tickets (filed by or about the member)."""
    user = session.scalar(select(LineUser).where(LineUser.member_pk == member.id))
    balance = ledger.balance(member, now)
    history = ledger.history(member, limit=HISTORY_SHOWN)
    about = or_(
        Inquiry.requester_member_pk == member.id,
        Inquiry.answers["retiree_member_id"].as_string() == member.member_id,
        Inquiry.answers["target_member_id"].as_string() == member.member_id,
    )
    return {
        "member_id": member.member_id,
        "kind": member.kind.value,
        "status": member_status(member),
        "company_code": member.company.code,
        "company_name": member.company.name,
        "created_at": member.created_at.isoformat(),
        "retired_at": _iso(member.retired_at),
        "link": {
            "linked": user is not None,
            "linked_at": _iso(user.linked_at) if user else None,
            "blocked": bool(user.blocked) if user else False,
        },
        "balance": {
            "available": balance.available,
            "pending": balance.pending,
            "debt_yen": balance.debt_yen,
        },
        "history": [
            {
                "kind": h.kind,
                "points": h.points,
                "reason": h.reason,
                "occurred_at": h.occurred_at.isoformat(),
            }
            for h in history
        ],
        "tickets": _tickets(session, about),
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def last_user_lines(session: Session, handoff_ids: list[int]) -> dict[int, str]:
    """Per live chat: the user's latest message (one query), for the list's preview."""
    if not handoff_ids:
        return {}
    latest = (
        select(func.max(HandoffMessage.id))
        .where(HandoffMessage.handoff_id.in_(handoff_ids), HandoffMessage.sender == SENDER_USER)
        .group_by(HandoffMessage.handoff_id)
    )
    rows = session.execute(
        select(HandoffMessage.handoff_id, HandoffMessage.text).where(HandoffMessage.id.in_(latest))
    ).all()
    return {handoff_id: text for handoff_id, text in rows}
