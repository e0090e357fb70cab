"""Sending the mail outbox: SMTP (the standard library's smtplib) or the console, and the
scheduler job that drains the due rows of `models.mail`'s outbox.

Each due row is claimed in one short transaction, sent outside any transaction, and its
outcome recorded (`models.mail.record_outcome`: sent, retried with backoff, or failed).
"""

from __future__ import annotations

import logging
import smtplib
import sys
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any, Protocol, TextIO

from sqlalchemy.orm import Session, sessionmaker

from common.logging_setup import log_fields
from models.mail import (
    MailSettings,
    OutgoingMail,
    claim_due_mail,
    mail_settings,
    record_outcome,
)
from models.timeutil import Clock

logger = logging.getLogger("benesapo.mail")


class MailSender(Protocol):
    def send(self, message: EmailMessage) -> None: ...


class SmtpSender:
    """Sends with the standard library's smtplib (STARTTLS and login when configured)."""

    def __init__(self, settings: MailSettings) -> None:
        self.settings = settings

    def send(self, message: EmailMessage) -> None:
        s = self.settings
        if not s.host:
            raise RuntimeError("SMTP_HOST is not set (or set MAIL_BACKEND=console)")
        with smtplib.SMTP(s.host, s.port, timeout=s.timeout) as smtp:
            if s.starttls:
                smtp.starttls()
            if s.user:
                smtp.login(s.user, s.password)
            smtp.send_message(message)


class ConsoleSender:
    """Prints each mail (for `make run`)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def send(self, message: EmailMessage) -> None:
        stream = self.stream or sys.stdout
        stream.write(
            "---------- mail (MAIL_BACKEND=console) ----------\n"
            f"From: {message['From']}\nTo: {message['To']}\nSubject: {message['Subject']}\n\n"
            f"{message.get_content()}\n"
            "--------------------------------------------------\n"
        )
        stream.flush()


def make_sender(settings: MailSettings) -> MailSender:
    if settings.backend == "console":
        return ConsoleSender()
    return SmtpSender(settings)


def build_message(row: OutgoingMail, settings: MailSettings) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = ", ".join(row.to)
    message["Subject"] = row.subject
    message["Date"] = formatdate(localtime=False)
    domain = settings.mail_from.rpartition("@")[2] or "localhost"
    message["Message-ID"] = make_msgid(idstring=f"mail{row.id}", domain=domain)
    message.set_content(row.body)
    return message


# -- draining ----------------------------------------------------------------------------------


def deliver_due_mail(
    factory: sessionmaker[Session],
    clock: Clock,
    sender: MailSender,
    settings: MailSettings,
    limit: int = 20,
) -> dict[str, int]:
    """Claim due rows (one short transaction), send each outside any transaction, record."""
    with factory() as session, session.begin():
        rows = claim_due_mail(session, clock.now(), limit)
        claimed = [(row.id, build_message(row, settings)) for row in rows]
    counts = {"sent": 0, "retry": 0, "failed": 0}
    for row_id, message in claimed:
        error: str | None = None
        try:
            sender.send(message)
        except (OSError, smtplib.SMTPException, RuntimeError) as exc:
            error = f"{type(exc).__name__}: {exc}"[:1000]
        with factory() as session, session.begin():
            row = session.get(OutgoingMail, row_id)
            if row is None:
                continue
            counts[record_outcome(row, error, clock.now())] += 1
            _log(row, error)
    return counts


def _log(row: OutgoingMail, error: str | None) -> None:
    entry: dict[str, Any] = {
        "event": "mail_sent" if error is None else "mail_failed",
        "mail_id": row.id,
        "attempt": row.attempts,
        "status": row.status,
    }
    if error is not None:
        entry["error"] = error.split(":", 1)[0]
    log_fields(logger, logging.INFO if error is None else logging.WARNING, entry)


def send_due_mail(
    runtime: Any,
    *,
    sender: MailSender | None = None,
    settings: MailSettings | None = None,
    max_batches: int = 50,
) -> dict[str, int]:
    """The scheduler job: drain the due part of the mail outbox.

    `runtime` is an `adapters.runtime.Runtime` (anything with `session_factory` and `clock`)."""
    settings = settings or mail_settings()
    sender = sender or make_sender(settings)
    totals = {"sent": 0, "retry": 0, "failed": 0}
    for _ in range(max_batches):
        counts = deliver_due_mail(runtime.session_factory, runtime.clock, sender, settings)
        for key, value in counts.items():
            totals[key] += value
        if sum(counts.values()) == 0:
            break
    return totals
