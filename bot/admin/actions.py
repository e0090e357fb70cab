"""One-click execution of the standard requests, through the companies service.

- retire: the member named in a "退職者の利用停止" ticket (`models.companies.retire_member`:
  points forfeited, link removed, the member told by a push).
- add_seats: the number of IDs asked for in an "ID追加" ticket (`add_seats`, refused above the
  plan's limit); the new IDs and passwords are shown once and offered as the ID list workbook.
- reset_password: a new initial password for the member of a lost-credentials ticket
  (`reset_password`), only when the ticket was filed by a linked HR contact of the member's
  company or by the member themself (`models.credentials`); the password is e-mailed to the
  company's registered HR contact address (`credential_mail`), never shown or sent to a chat.
- stop_service: the company of a "サービスの停止" ticket is terminated (`set_company_status`:
  final, every member's points forfeited); admins only.

Each runs at most once per ticket, even under concurrent requests (a double click, two
operators): the run is claimed by a row with a unique index first (`models.inquiry_actions`),
and a request that loses the claim is refused with ERR_ALREADY_DONE. Claim and action share a
savepoint (a refusal changes nothing and frees the claim), act only on a member of the ticket's
company, and are written to the ticket's history and the audit log (never the passwords).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from bot.admin import texts as t
from bot.admin.credential_mail import queue_password_mail
from models import companies
from models.companies import CompanyError, IssuedIds
from models.company import CompanyStatus, Member
from models.credentials import may_request_credentials
from models.inquiries import Inquiry, InquiryType
from models.inquiry_actions import ActionAlreadyRun, actions_done, claim_action, complete_action
from models.points import PointsLedger
from models.timeutil import Clock


class ActionError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class ActionResult:
    kind: str
    member_id: str | None = None
    deliver_to: str | None = None  # the company's HR contact address: credentials go there
    issued: IssuedIds | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Action:
    label: str
    types: tuple[InquiryType, ...]
    run: Callable[[Session, Clock, Inquiry, str], ActionResult]
    target_key: str | None = None  # the answer naming the member, if any
    admin_only: bool = False


def _member_of_ticket(session: Session, inquiry: Inquiry, member_id: str | None) -> Member:
    if not member_id or member_id == "わからない":
        raise ActionError(t.ERR_NO_MEMBER)
    member = companies.find_member(session, member_id)
    if inquiry.company_id is None:
        raise ActionError(t.ERR_NO_COMPANY)
    if member is None or member.company_id != inquiry.company_id:
        raise ActionError(t.ERR_MEMBER_OTHER_COMPANY)
    return member


def _target(inquiry: Inquiry) -> str | None:
    answers = inquiry.answers
    return answers.get("target_member_id") or answers.get("member_id")


def retire(session: Session, clock: Clock, inquiry: Inquiry, actor: str) -> ActionResult:
    member = _member_of_ticket(session, inquiry, inquiry.answers.get("retiree_member_id"))
    before = PointsLedger(session, clock).balance(member)
    done = companies.retire_member(session, clock, member.member_id, actor=actor)
    return ActionResult(
        "retired",
        member_id=done.member_id,
        details={
            "member_id": done.member_id,
            "unlinked_line_user": done.unlinked_line_user_id,
            "points_forfeited": done.points_forfeited,
            "points_lost": before.available if done.points_forfeited else 0,
            "pending_cancelled": before.pending if done.points_forfeited else 0,
            "notified": done.notified,
        },
    )


def add_seats(session: Session, clock: Clock, inquiry: Inquiry, actor: str) -> ActionResult:
    if inquiry.company is None:
        raise ActionError(t.ERR_NO_COMPANY)
    try:
        count = int(inquiry.answers.get("seat_count", 0))
    except (TypeError, ValueError) as exc:
        raise ActionError(t.ERR_BAD_COUNT) from exc
    issued = companies.add_seats(session, clock, inquiry.company.code, count, actor=actor)
    ids = [c.member_id for c in issued.members]
    return ActionResult(
        "seats",
        issued=issued,
        deliver_to=inquiry.company.contact_email,
        details={"count": count, "member_ids": ids},
    )


def reset_password(session: Session, clock: Clock, inquiry: Inquiry, actor: str) -> ActionResult:
    member = _member_of_ticket(session, inquiry, _target(inquiry))
    if not may_request_credentials(inquiry.requester, member):
        raise ActionError(t.ERR_CREDENTIALS_REQUESTER)
    password = companies.reset_password(session, clock, member.member_id, actor=actor)
    address = queue_password_mail(session, clock, inquiry, member, password)
    return ActionResult(
        "password",
        member_id=member.member_id,
        deliver_to=address,
        details={"member_id": member.member_id, "mailed_to": address},
    )


def stop_service(session: Session, clock: Clock, inquiry: Inquiry, actor: str) -> ActionResult:
    company = inquiry.company
    if company is None:
        raise ActionError(t.ERR_NO_COMPANY)
    if company.status is CompanyStatus.TERMINATED:
        raise ActionError(t.COMPANY_ERRORS["company_terminated"])
    facts = companies.company_summary(session, company)
    companies.set_company_status(
        session, clock, company.code, CompanyStatus.TERMINATED, actor=actor
    )
    return ActionResult(
        "stopped",
        details={
            "company": company.code,
            "members": facts.seats_used + facts.hr_contacts,
            "linked_members": len(facts.linked_member_ids),
        },
    )


ACTIONS: dict[str, Action] = {
    "retire": Action(t.ACTION_RETIRE, (InquiryType.RETIRE,), retire, "retiree_member_id"),
    "add_seats": Action(t.ACTION_ADD_SEATS, (InquiryType.ADD_SEATS,), add_seats),
    "reset_password": Action(t.ACTION_RESET, (InquiryType.CREDENTIALS,), reset_password),
    "stop_service": Action(
        t.ACTION_STOP_SERVICE, (InquiryType.STOP_SERVICE,), stop_service, admin_only=True
    ),
}


def _may_reset(session: Session, inquiry: Inquiry) -> bool:
    target_id = _target(inquiry)
    if target_id in (None, "", "わからない"):
        return False
    target = companies.find_member(session, str(target_id))
    return target is not None and may_request_credentials(inquiry.requester, target)


def available_actions(session: Session, inquiry: Inquiry, *, admin: bool = True) -> list[str]:
    """The actions this ticket offers now (right type, not yet run, a member named if needed,
    admin-only actions to admins)."""
    done = actions_done(session, inquiry)
    names = []
    for name, spec in ACTIONS.items():
        if inquiry.type not in spec.types or name in done or (spec.admin_only and not admin):
            continue
        if name == "reset_password" and not _may_reset(session, inquiry):
            continue
        names.append(name)
    return names


def run_action(
    session: Session, clock: Clock, inquiry: Inquiry, name: str, *, actor: str
) -> ActionResult:
    spec = ACTIONS[name]
    if inquiry.type not in spec.types:
        raise ActionError(t.ERR_WRONG_TYPE)
    if name in actions_done(session, inquiry):
        raise ActionError(t.ERR_ALREADY_DONE)
    try:
        with session.begin_nested():
            claim = claim_action(session, clock, inquiry, name, actor=actor)
            result = spec.run(session, clock, inquiry, actor)
            complete_action(session, clock, inquiry, claim, actor=actor, details=result.details)
    except ActionAlreadyRun as exc:
        raise ActionError(t.ERR_ALREADY_DONE) from exc
    except CompanyError as exc:
        template = t.COMPANY_ERRORS.get(exc.code)
        try:
            message = template.format(**exc.details) if template else exc.message
        except (KeyError, IndexError):
            message = exc.message
        raise ActionError(message) from exc
    return result
