"""The credentials e-mail: a reset password goes to the company's registered HR contact
address, through the mail outbox, marked sensitive (its body is redacted once sent)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.admin import texts as t
from models.company import Member
from models.inquiries import Inquiry
from models.mail import enqueue_mail, mail_settings
from models.timeutil import Clock


def queue_password_mail(
    session: Session, clock: Clock, inquiry: Inquiry, member: Member, password: str
) -> str:
    """Queue the mail in the caller's transaction; returns the address it goes to."""
    company = member.company
    enqueue_mail(
        session,
        dedupe_key=f"inquiry-credentials:{inquiry.id}",
        to=[company.contact_email],
        subject=t.CREDENTIALS_MAIL_SUBJECT.format(number=inquiry.number),
        body=t.CREDENTIALS_MAIL_BODY.format(
            company=company.name,
            number=inquiry.number,
            code=company.code,
            member_id=member.member_id,
            password=password,
            backoffice=mail_settings().backoffice_email,
        ),
        now=clock.now(),
        sensitive=True,
    )
    return company.contact_email
