"""Back-office operators (the console's users): Argon2id-hashed passwords and a login lockout.

Five failed logins for one e-mail address within 15 minutes lock that address for 15 minutes;
a locked login is refused without checking the password. Every attempt is kept.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import BigInteger, Boolean, Index, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from models import audit
from models.base import Base
from models.passwords import generate_password, hash_password, needs_rehash, verify_password
from models.timeutil import Clock

LOCK_THRESHOLD = 5
LOCK_WINDOW = timedelta(minutes=15)
LOCK_DURATION = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 10
OPERATOR_PASSWORD_LENGTH = 16


class OperatorError(Exception):
    """A refused operation, with a stable `code` (`locked`, `invalid`, `duplicate`, …)."""

    def __init__(self, code: str, message: str, until: datetime | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.until = until


class Operator(Base):
    __tablename__ = "operators"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None]


class OperatorLoginAttempt(Base):
    __tablename__ = "operator_login_attempts"
    __table_args__ = (Index("ix_operator_login_attempts_email_at", "email", "at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    ok: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime]
    remote_addr: Mapped[str | None] = mapped_column(String(64))


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def find_operator(session: Session, email: str) -> Operator | None:
    return session.scalar(select(Operator).where(Operator.email == normalize_email(email)))


def create_operator(
    session: Session, clock: Clock, email: str, password: str | None = None, *, actor: str = "cli"
) -> tuple[Operator, str]:
    """A new operator; returns it with its password (generated when not given)."""
    email = normalize_email(email)
    if "@" not in email or len(email) > 254 or " " in email:
        raise OperatorError("invalid_email", "a valid e-mail address is required")
    if find_operator(session, email) is not None:
        raise OperatorError("duplicate", f"operator {email} already exists")
    if password is None:
        password = generate_password(OPERATOR_PASSWORD_LENGTH)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise OperatorError(
            "weak_password", f"the password needs at least {MIN_PASSWORD_LENGTH} characters"
        )
    now = clock.now()
    operator = Operator(email=email, password_hash=hash_password(password), created_at=now)
    session.add(operator)
    session.flush()
    audit.record(session, actor, "operator_created", f"operator:{email}", {}, at=now)
    return operator, password


def locked_until(session: Session, email: str, now: datetime) -> datetime | None:
    """When the lock on this address ends (None if it is not locked now)."""
    attempts = session.scalars(
        select(OperatorLoginAttempt)
        .where(
            OperatorLoginAttempt.email == normalize_email(email),
            OperatorLoginAttempt.at >= now - LOCK_WINDOW - LOCK_DURATION,
        )
        .order_by(OperatorLoginAttempt.at, OperatorLoginAttempt.id)
    )
    failures: list[datetime] = []
    until: datetime | None = None
    for attempt in attempts:
        if attempt.ok:
            failures.clear()
            until = None
            continue
        if until is not None and attempt.at < until:
            continue  # refused while locked: does not extend the lock
        failures = [t for t in failures if attempt.at - t < LOCK_WINDOW] + [attempt.at]
        if len(failures) >= LOCK_THRESHOLD:
            until = attempt.at + LOCK_DURATION
            failures.clear()
    return until if until is not None and until > now else None


def authenticate(
    session: Session, clock: Clock, email: str, password: str, remote_addr: str | None = None
) -> Operator:
    """The operator with these credentials. Raises OperatorError `locked` (with `until`) or
    `invalid` (never says which field was wrong). Attempts are flushed: commit either way."""
    now = clock.now()
    email = normalize_email(email)[:254]
    until = locked_until(session, email, now)
    if until is not None:
        raise OperatorError("locked", "too many failed logins", until=until)
    operator = find_operator(session, email)
    ok = verify_password(operator.password_hash if operator else None, password or "")
    ok = ok and operator is not None and operator.active
    session.add(OperatorLoginAttempt(email=email, ok=ok, at=now, remote_addr=remote_addr))
    audit.record(
        session,
        f"operator:{email}",
        "operator_login" if ok else "operator_login_failed",
        f"operator:{email}",
        {"remote_addr": remote_addr},
        at=now,
    )
    session.flush()
    if not ok or operator is None:
        raise OperatorError("invalid", "wrong e-mail address or password")
    if needs_rehash(operator.password_hash):
        operator.password_hash = hash_password(password)
    operator.last_login_at = now
    return operator
