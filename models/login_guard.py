"""Limits on login attempts (console and login page), kept in the database so that every
process and thread sees one count.

A login first *claims* one attempt on each of its guards — one atomic conditional UPDATE per
guard, before any password is checked — so N concurrent tries check at most `limit`
passwords. The claim that reaches a guard's limit locks it for `lock` (`locked_until`); while
locked, claims are refused without changing anything (a refused try never extends the lock).
A success clears the guards that are per account (`reset_on_success`); per-address guards
are rate limits and keep counting.

Call `claim` and `succeeded` in the transaction that checks the password: on PostgreSQL the
claimed rows stay locked until it ends, so concurrent logins on one key take turns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Integer, String, and_, case, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Base

KEY_LENGTH = 300


class LoginGuard(Base):
    """One counter: attempts on `key` (an address, an account…) within the current window."""

    __tablename__ = "login_guards"

    scope: Mapped[str] = mapped_column(String(30), primary_key=True)
    key: Mapped[str] = mapped_column(String(KEY_LENGTH), primary_key=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[datetime]
    locked_until: Mapped[datetime | None]


@dataclass(frozen=True)
class Rule:
    """At most `limit` attempts per `window` on one key; reaching it locks the key for `lock`."""

    scope: str
    limit: int
    window: timedelta
    lock: timedelta
    reset_on_success: bool = True


# The lockout rule of every login form (console and login page): five failures within 15
# minutes lock a key (an account, a LINE user, an address and account pair) for 15 minutes;
# one client address may try 20 logins per 15 minutes whatever it types.
LOCKOUT_FAILURES = 5
ADDRESS_ATTEMPTS = 20
WINDOW = timedelta(minutes=15)
LOCK = timedelta(minutes=15)


def lockout(scope: str) -> Rule:
    """Five failures within 15 minutes lock the key for 15 minutes; a success clears them."""
    return Rule(scope, LOCKOUT_FAILURES, WINDOW, LOCK)


def address_limit(scope: str) -> Rule:
    """One client address: 20 logins per 15 minutes, successes included (a rate limit)."""
    return Rule(scope, ADDRESS_ATTEMPTS, WINDOW, LOCK, reset_on_success=False)


def _ensure_row(session: Session, scope: str, key: str, now: datetime) -> None:
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(LoginGuard).values(
        scope=scope, key=key, attempts=0, window_start=now, locked_until=None
    )
    session.execute(statement.on_conflict_do_nothing(index_elements=["scope", "key"]))


def _claim_one(session: Session, rule: Rule, key: str, now: datetime) -> datetime | None:
    """Take one attempt on (rule, key); None if taken, else when the lock ends."""
    key = key[:KEY_LENGTH]
    _ensure_row(session, rule.scope, key, now)
    guard = LoginGuard.__table__.c
    at = literal(now, guard.window_start.type)
    lock_end = literal(now + rule.lock, guard.locked_until.type)
    # A new window once the old one is over, or once a lock has ended.
    fresh = or_(guard.window_start <= now - rule.window, guard.locked_until.is_not(None))
    counted = case((fresh, 1), else_=guard.attempts + 1)
    result = session.execute(
        update(LoginGuard.__table__)
        .where(
            and_(
                guard.scope == rule.scope,
                guard.key == key,
                or_(guard.locked_until.is_(None), guard.locked_until <= now),
            )
        )
        .values(
            attempts=counted,
            window_start=case((fresh, at), else_=guard.window_start),
            locked_until=case((counted >= rule.limit, lock_end), else_=None),
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 1:  # type: ignore[attr-defined]
        return None
    until = session.scalar(
        select(LoginGuard.locked_until).where(LoginGuard.scope == rule.scope, LoginGuard.key == key)
    )
    return until or now


def claim(
    session: Session, now: datetime, checks: Sequence[tuple[Rule, str | None]]
) -> datetime | None:
    """Claim one attempt on each (rule, key) in order (keys that are None are skipped); stop at
    the first refusal and return when its lock ends; None when every claim was taken."""
    for rule, key in checks:
        if not key:
            continue
        until = _claim_one(session, rule, key, now)
        if until is not None:
            return until
    return None


def succeeded(session: Session, now: datetime, checks: Sequence[tuple[Rule, str | None]]) -> None:
    """A right password: clear the guards that are per account."""
    for rule, key in checks:
        if key and rule.reset_on_success:
            clear(session, rule, key, now)


def clear(session: Session, rule: Rule, key: str, now: datetime) -> None:
    """Start the count of (rule, key) again (a success, a password reset)."""
    session.execute(
        update(LoginGuard)
        .where(LoginGuard.scope == rule.scope, LoginGuard.key == key[:KEY_LENGTH])
        .values(attempts=0, window_start=now, locked_until=None)
        .execution_options(synchronize_session=False)
    )
