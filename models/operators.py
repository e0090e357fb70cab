"""Back-office operators (the console's users): roles, Argon2id-hashed passwords, login limits.

Roles: `admin` (manages operators, sees the audit log) and `operator` (works tickets).

Login limits (`models.login_guard`, claimed before the password is checked): one client
address may try 20 logins per 15 minutes (any e-mail addresses); five failures for one
e-mail address from one client address lock that pair for 15 minutes; the account itself
locks (15 minutes) only after 50 failures within an hour from anywhere, so a stranger cannot
lock a real operator out from one address. A refused login checks no password. Every checked
attempt is kept (`operator_login_attempts`).

Deactivating an operator or changing their password ends all their console sessions.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import BigInteger, Boolean, Index, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from models import audit, console_sessions, login_guard
from models.base import Base
from models.passwords import generate_password, hash_password, needs_rehash, verify_password
from models.timeutil import Clock

ADDRESS_RULE = login_guard.address_limit("console_address")
ADDRESS_ACCOUNT_RULE = login_guard.lockout("console_address_account")
# The account as a whole: 50 failures within an hour from anywhere, then the usual lock.
ACCOUNT_RULE = login_guard.Rule("console_account", 50, timedelta(hours=1), login_guard.LOCK)
ROLE_ADMIN = "admin"
ROLE_OPERATOR = "operator"
ROLES = (ROLE_ADMIN, ROLE_OPERATOR)
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
    role: Mapped[str] = mapped_column(String(20), default=ROLE_OPERATOR)
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
    session: Session,
    clock: Clock,
    email: str,
    password: str | None = None,
    *,
    role: str = ROLE_OPERATOR,
    actor: str = "cli",
) -> tuple[Operator, str]:
    """A new operator; returns it with its password (generated when not given)."""
    email = normalize_email(email)
    if role not in ROLES:
        raise OperatorError("invalid_role", f"the role must be one of {', '.join(ROLES)}")
    if "@" not in email or len(email) > 254 or " " in email:
        raise OperatorError("invalid_email", "a valid e-mail address is required")
    if find_operator(session, email) is not None:
        raise OperatorError("duplicate", f"operator {email} already exists")
    if password is None:
        password = generate_password(OPERATOR_PASSWORD_LENGTH)
    _check_strength(password)
    now = clock.now()
    operator = Operator(
        email=email, password_hash=hash_password(password), role=role, created_at=now
    )
    session.add(operator)
    session.flush()
    audit.record(session, actor, "operator_created", f"operator:{email}", {"role": role}, at=now)
    return operator, password


def _check_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise OperatorError(
            "weak_password", f"the password needs at least {MIN_PASSWORD_LENGTH} characters"
        )


def _existing(session: Session, email: str) -> Operator:
    operator = find_operator(session, email)
    if operator is None:
        raise OperatorError("unknown", f"no operator {normalize_email(email)}")
    return operator


def set_active(
    session: Session, clock: Clock, email: str, active: bool, *, actor: str = "cli"
) -> Operator:
    """(De)activate an operator; deactivation ends every session of theirs at once."""
    operator = _existing(session, email)
    now = clock.now()
    operator.active = active
    ended = 0 if active else console_sessions.revoke_all(session, now, operator.id)
    action = "operator_activated" if active else "operator_deactivated"
    audit.record(
        session, actor, action, f"operator:{operator.email}", {"sessions_ended": ended}, at=now
    )
    session.flush()
    return operator


def set_password(
    session: Session, clock: Clock, email: str, password: str, *, actor: str = "cli"
) -> Operator:
    """A new password; every session of the operator ends (the new one logs in again)."""
    operator = _existing(session, email)
    _check_strength(password)
    now = clock.now()
    operator.password_hash = hash_password(password)
    ended = console_sessions.revoke_all(session, now, operator.id)
    login_guard.clear(session, ACCOUNT_RULE, operator.email, now)
    audit.record(
        session,
        actor,
        "operator_password_changed",
        f"operator:{operator.email}",
        {"sessions_ended": ended},
        at=now,
    )
    session.flush()
    return operator


def guards(email: str, remote_addr: str | None) -> list[tuple[login_guard.Rule, str | None]]:
    """The guards a console login claims, in order: the address, the pair, the account."""
    return [
        (ADDRESS_RULE, remote_addr),
        (ADDRESS_ACCOUNT_RULE, f"{remote_addr or '-'} {email}"),
        (ACCOUNT_RULE, email),
    ]


def authenticate(
    session: Session, clock: Clock, email: str, password: str, remote_addr: str | None = None
) -> Operator:
    """The operator with these credentials. Raises OperatorError `locked` (with `until`) or
    `invalid` (never says which field was wrong). Attempts are flushed: commit either way."""
    now = clock.now()
    email = normalize_email(email)[:254]
    checks = guards(email, remote_addr)
    until = login_guard.claim(session, now, checks)  # before any password is checked
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
    login_guard.succeeded(session, now, checks)
    if needs_rehash(operator.password_hash):
        operator.password_hash = hash_password(password)
    operator.last_login_at = now
    return operator
