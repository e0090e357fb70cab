"""Lifecycle: suspend / resume / terminate a company, retire a member (points forfeited,
Art. 11; link removed; the member told by a push)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import audit
from models.companies.errors import CompanyError
from models.companies.hooks import LinkChange, audience_of, notify
from models.companies.linking import expire_nonces
from models.companies.lookups import get_company, get_member, linked_line_user
from models.companies.texts import FORFEIT_REASON, RETIREMENT_NOTICE
from models.company import Company, CompanyStatus, Member, MemberStatus
from models.events import enqueue_messages
from models.line_user import LineUser
from models.points import PointsError, PointsLedger
from models.timeutil import Clock


def _company_line_users(session: Session, company: Company) -> list[LineUser]:
    return list(
        session.scalars(
            select(LineUser)
            .join(Member, LineUser.member_pk == Member.id)
            .where(Member.company_id == company.id)
            .order_by(LineUser.line_user_id)
        )
    )


_STATUS_ACTIONS = {
    CompanyStatus.ACTIVE: "company_resumed",
    CompanyStatus.SUSPENDED: "company_suspended",
    CompanyStatus.TERMINATED: "company_terminated",
}


def set_company_status(
    session: Session, clock: Clock, code: str, status: CompanyStatus, *, actor: str = "cli"
) -> Company:
    """Suspend, resume or terminate. Termination is final and ends every membership (points
    forfeited, Art. 11); links are kept so members get a polite answer instead of features."""
    company = get_company(session, code)
    status = CompanyStatus(status)
    if company.status is status:
        return company
    if company.status is CompanyStatus.TERMINATED:
        raise CompanyError("company_terminated", f"company {company.code} is terminated (final)")
    now = clock.now()
    before = company.status
    company.status = status
    company.status_changed_at = now
    session.flush()
    forfeited: list[str] = []
    if status is CompanyStatus.TERMINATED:
        for member in session.scalars(
            select(Member)
            .where(Member.company_id == company.id, Member.status == MemberStatus.ACTIVE)
            .order_by(Member.id)
        ):
            if _forfeit_points(session, clock, member, "company_terminated"):
                forfeited.append(member.member_id)
    audit.record(
        session,
        actor,
        _STATUS_ACTIONS[status],
        f"company:{company.code}",
        {"from": before.value, "to": status.value, "points_forfeited": forfeited},
        at=now,
    )
    reason = _STATUS_ACTIONS[status]
    for line_user in _company_line_users(session, company):
        notify(session, LinkChange(line_user.line_user_id, reason, audience_of(line_user.member)))
    return company


def _forfeit_points(session: Session, clock: Clock, member: Member, why: str) -> bool:
    """Art. 11 through the points ledger; False if they were already forfeited."""
    try:
        PointsLedger(session, clock).forfeit(
            member, reason=FORFEIT_REASON.format(why=why), key=f"forfeit:{member.member_id}"
        )
    except PointsError as exc:
        if exc.code == "already_forfeited":
            return False
        raise
    return True


@dataclass(frozen=True)
class Retirement:
    member_id: str
    unlinked_line_user_id: str | None
    points_forfeited: bool
    notified: bool


def retire_member(
    session: Session,
    clock: Clock,
    member_id: str,
    *,
    actor: str = "cli",
    notice: Sequence[dict[str, Any]] | None = None,
) -> Retirement:
    """End a membership: status retired, points forfeited (Art. 11), LINE link removed, and
    the member told by a push (queued in the outbox, in this transaction)."""
    member = get_member(session, member_id)
    if member.status is MemberStatus.RETIRED:
        raise CompanyError("already_retired", f"member {member.member_id} is already retired")
    now = clock.now()
    member.status = MemberStatus.RETIRED
    member.retired_at = now
    session.flush()
    forfeited = _forfeit_points(session, clock, member, "retired")
    expire_nonces(session, member, now)
    line_user = linked_line_user(session, member)
    notified = False
    unlinked: str | None = None
    if line_user is not None:
        unlinked = line_user.line_user_id
        line_user.member_pk = None
        line_user.linked_at = None
        session.flush()
        if not line_user.blocked:
            enqueue_messages(
                session,
                dedupe_key=f"retire:{member.id}",
                to=[line_user.line_user_id],
                messages=list(notice or [{"type": "text", "text": RETIREMENT_NOTICE}]),
                now=now,
            )
            notified = True
        notify(session, LinkChange(line_user.line_user_id, "retire", "none"))
    audit.record(
        session,
        actor,
        "member_retired",
        f"member:{member.member_id}",
        {
            "company": member.company.code,
            "unlinked_line_user": unlinked,
            "points_forfeited": forfeited,
        },
        at=now,
    )
    return Retirement(member.member_id, unlinked, forfeited, notified)
