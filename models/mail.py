"""Outgoing e-mail: an outbox table, the settings, and the bookkeeping of each attempt.

`enqueue_mail` writes a row in the caller's transaction (so a ticket and its mail are committed
together); the sender that drains it (`adapters.mail.send_due_mail`, a scheduler job) claims due
rows (`claim_due_mail`) and records each outcome (`record_outcome`). A mail server outage only
delays: a failed send is retried with exponential backoff, and after `MAX_ATTEMPTS` the row is
kept as `failed` with its error (visible, re-queueable), never deleted.

Settings come from the environment: `MAIL_BACKEND` (`smtp`, the default, or `console`, which
prints mails instead of sending: what `make run` uses), `SMTP_HOST`, `SMTP_PORT` (587),
`SMTP_USER`, `SMTP_PASSWORD`, `SMTP_STARTTLS` (on by default unless the port is 25 or 1025),
`SMTP_TIMEOUT` (seconds), `MAIL_FROM`, `BACKOFFICE_EMAIL` (default joyo-be@joyobank.co.jp).

A mail queued `sensitive=True` (its body holds credentials) keeps its body only until it is
sent or given up: then the body is replaced by `REDACTED_BODY`, so no password stays in the
table; such a row is never re-queued (its content is gone; issue a new one instead).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Index,
    Integer,
    String,
    Text,
    and_,
    false,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Base
from models.db import is_postgres

DEFAULT_BACKOFFICE_EMAIL = "joyo-be@joyobank.co.jp"
MAX_ATTEMPTS = 20
CLAIM_LEASE = timedelta(minutes=10)
REDACTED_BODY = "[redacted: this mail carried credentials; its body was deleted once sent]"


class MailStatus:
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


def mail_backoff(attempts: int) -> timedelta:
    """1, 2, 4, … minutes after each failure, at most one hour."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 60))


def _flag(value: str | None, default: bool) -> bool:
    if value is None or not value.strip():
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class MailSettings:
    backend: str = "smtp"
    host: str = ""
    port: int = 587
    user: str = ""
    password: str = ""
    starttls: bool = True
    timeout: float = 10.0
    mail_from: str = "benesapo@localhost"
    backoffice_email: str = DEFAULT_BACKOFFICE_EMAIL

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> MailSettings:
        env = os.environ if env is None else env
        port = int(env.get("SMTP_PORT") or 587)
        return cls(
            backend=(env.get("MAIL_BACKEND") or "smtp").strip().lower(),
            host=(env.get("SMTP_HOST") or "").strip(),
            port=port,
            user=env.get("SMTP_USER") or "",
            password=env.get("SMTP_PASSWORD") or "",
            starttls=_flag(env.get("SMTP_STARTTLS"), port not in (25, 1025)),
            timeout=float(env.get("SMTP_TIMEOUT") or 10),
            mail_from=(env.get("MAIL_FROM") or "benesapo@localhost").strip(),
            backoffice_email=(env.get("BACKOFFICE_EMAIL") or DEFAULT_BACKOFFICE_EMAIL).strip(),
        )


def mail_settings() -> MailSettings:
    return MailSettings.from_env()


class OutgoingMail(Base):
    __tablename__ = "outgoing_mail"
    __table_args__ = (Index("ix_outgoing_mail_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(120), unique=True)
    to: Mapped[list[str]] = mapped_column(JSON)
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default=MailStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    claimed_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    # The body holds credentials: it is redacted once the mail is sent or given up.
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


def enqueue_mail(
    session: Session,
    *,
    dedupe_key: str,
    to: Sequence[str],
    subject: str,
    body: str,
    now: datetime,
    sensitive: bool = False,
) -> OutgoingMail:
    """Queue a mail once per dedupe_key (a replay returns the first row). `sensitive`: the
    body holds credentials and is redacted once the mail is sent or given up."""
    existing = session.scalar(select(OutgoingMail).where(OutgoingMail.dedupe_key == dedupe_key))
    if existing is not None:
        return existing
    row = OutgoingMail(
        dedupe_key=dedupe_key,
        to=list(to),
        subject=subject[:300],
        body=body,
        status=MailStatus.PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        sensitive=sensitive,
    )
    session.add(row)
    session.flush()
    return row


# -- draining ----------------------------------------------------------------------------------


def claim_due_mail(session: Session, now: datetime, limit: int = 20) -> list[OutgoingMail]:
    stmt = (
        select(OutgoingMail)
        .where(
            or_(
                and_(
                    OutgoingMail.status == MailStatus.PENDING,
                    OutgoingMail.next_attempt_at <= now,
                ),
                and_(
                    OutgoingMail.status == MailStatus.SENDING,
                    OutgoingMail.claimed_at <= now - CLAIM_LEASE,
                ),
            )
        )
        .order_by(OutgoingMail.next_attempt_at, OutgoingMail.id)
        .limit(limit)
    )
    if is_postgres(session):
        stmt = stmt.with_for_update(skip_locked=True)
    rows = list(session.scalars(stmt))
    for row in rows:
        row.status = MailStatus.SENDING
        row.claimed_at = now
        row.attempts += 1
    session.flush()
    return rows


def record_outcome(row: OutgoingMail, error: str | None, now: datetime) -> str:
    """After one try to send `row`: sent, retried later with backoff, or failed for good
    (`MAX_ATTEMPTS`); a sensitive body is redacted once sent or given up. The outcome."""
    if error is None:
        row.status = MailStatus.SENT
        row.sent_at = now
        row.last_error = None
        outcome = "sent"
    elif row.attempts >= MAX_ATTEMPTS:
        row.status = MailStatus.FAILED
        row.last_error = error
        outcome = "failed"
    else:
        row.status = MailStatus.PENDING
        row.next_attempt_at = now + mail_backoff(row.attempts)
        row.last_error = error
        outcome = "retry"
    if row.sensitive and row.status in (MailStatus.SENT, MailStatus.FAILED):
        row.body = REDACTED_BODY
    return outcome


def requeue_failed(session: Session, now: datetime) -> int:
    """Give rows that failed for good another round (after fixing the mail settings); not
    sensitive rows, whose body was redacted."""
    result = session.execute(
        update(OutgoingMail)
        .where(OutgoingMail.status == MailStatus.FAILED, OutgoingMail.sensitive.is_(False))
        .values(status=MailStatus.PENDING, attempts=0, next_attempt_at=now)
        .execution_options(synchronize_session="fetch")
    )
    return int(result.rowcount or 0)
