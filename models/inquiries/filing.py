"""Filing a ticket (the back office's e-mail queued in the same transaction) and writing its
history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import credentials
from models.company import Company, Member
from models.inquiries.kinds import InquiryError, InquiryStatus, InquiryType, RequesterKind
from models.inquiries.labels import answer_items, company_label, format_jst, requester_label
from models.inquiries.records import Inquiry, InquiryEvent
from models.inquiries.texts import ANSWER_LINE, MAIL_BODY, MAIL_SUBJECT
from models.mail import enqueue_mail, mail_settings
from models.timeutil import Clock


def create_inquiry(
    session: Session,
    clock: Clock,
    *,
    type: InquiryType,
    line_user_id: str,
    member: Member | None,
    answers: dict[str, Any],
    company_code: str | None = None,
    console_url: str = "",
) -> Inquiry:
    """File a ticket and queue the back-office e-mail (same transaction).

    `member` is the requester's linked, active member (None for unlinked users); the ticket
    concerns the member's company, or the company whose code an unlinked user typed. Only a
    linked HR contact, or the member for their own ID, may ask for credentials
    (`models.credentials`): InquiryError `credentials_not_allowed` otherwise.
    """
    now = clock.now()
    type = InquiryType(type)
    if type is InquiryType.CREDENTIALS and not credentials.request_allowed(
        session, member, answers
    ):
        raise InquiryError(
            "credentials_not_allowed",
            "only a linked HR contact, or the member for their own ID, may ask for credentials",
        )
    if member is None:
        kind = RequesterKind.UNLINKED
        company = (
            session.scalar(select(Company).where(Company.code == company_code))
            if company_code
            else None
        )
    else:
        kind = RequesterKind.HR_CONTACT if member.is_hr_contact else RequesterKind.EMPLOYEE
        company = member.company
        company_code = company.code
    inquiry = Inquiry(
        type=type,
        status=InquiryStatus.NEW,
        company=company,
        company_code=company_code,
        requester_kind=kind,
        requester=member,
        line_user_id=line_user_id,
        answers=dict(answers),
        created_at=now,
        updated_at=now,
    )
    session.add(inquiry)
    session.flush()
    add_event(session, inquiry, f"line:{line_user_id}", "created", now, to_status=InquiryStatus.NEW)
    settings = mail_settings()
    url = f"{console_url.rstrip('/')}/admin/inquiries/{inquiry.number}" if console_url else "-"
    enqueue_mail(
        session,
        dedupe_key=f"inquiry-new:{inquiry.id}",
        to=[settings.backoffice_email],
        subject=MAIL_SUBJECT.format(number=inquiry.number, type=inquiry.type_label),
        body=MAIL_BODY.format(
            number=inquiry.number,
            type=inquiry.type_label,
            created=format_jst(now),
            company=company_label(inquiry),
            requester=requester_label(inquiry),
            answers="\n".join(
                ANSWER_LINE.format(label=k, value=v) for k, v in answer_items(inquiry.answers)
            )
            or "-",
            url=url,
        ),
        now=now,
    )
    return inquiry


def add_event(
    session: Session,
    inquiry: Inquiry,
    actor: str,
    kind: str,
    at: datetime,
    *,
    from_status: InquiryStatus | None = None,
    to_status: InquiryStatus | None = None,
    message: str | None = None,
    details: dict[str, Any] | None = None,
) -> InquiryEvent:
    event = InquiryEvent(
        inquiry_id=inquiry.id,
        at=at,
        actor=actor[:100],
        kind=kind,
        from_status=from_status.value if from_status else None,
        to_status=to_status.value if to_status else None,
        message=message,
        details=dict(details or {}),
    )
    session.add(event)
    session.flush()
    return event
