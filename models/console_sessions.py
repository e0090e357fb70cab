"""Server-side sessions of the back-office console.

A login opens a session: a random token (only its SHA-256 is stored) that the browser keeps in
the signed cookie. A session ends at logout, when its operator is deactivated or changes
password (`revoke_all`), after `idle` without a request, and `lifetime` after the login,
whatever the cookie says.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, Index, String, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Base

DEFAULT_IDLE = timedelta(hours=8)
DEFAULT_LIFETIME = timedelta(days=7)
# last_seen_at is written at most this often (not on every page view).
TOUCH_EVERY = timedelta(minutes=1)


class ConsoleSession(Base):
    __tablename__ = "console_sessions"
    __table_args__ = (Index("ix_console_sessions_operator_id", "operator_id"),)

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id", ondelete="CASCADE"))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta = DEFAULT_IDLE
    lifetime: timedelta = DEFAULT_LIFETIME


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(session: Session, now: datetime, operator_id: int) -> str:
    """A new session for this operator; returns its token (for the cookie, never stored)."""
    token = secrets.token_urlsafe(32)
    session.add(
        ConsoleSession(
            token_hash=_digest(token), operator_id=operator_id, created_at=now, last_seen_at=now
        )
    )
    session.flush()
    return token


def live_session(
    session: Session, now: datetime, token: object, policy: SessionPolicy
) -> ConsoleSession | None:
    """The session this token opened, if it is still live (and marks it seen)."""
    if not isinstance(token, str) or not token:
        return None
    row = session.get(ConsoleSession, _digest(token))
    if row is None or row.revoked_at is not None:
        return None
    if now - row.created_at >= policy.lifetime or now - row.last_seen_at >= policy.idle:
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
    return row


def revoke(session: Session, now: datetime, token: object) -> None:
    """End the session this token opened (logout)."""
    if isinstance(token, str) and token:
        session.execute(
            update(ConsoleSession)
            .where(ConsoleSession.token_hash == _digest(token), ConsoleSession.revoked_at.is_(None))
            .values(revoked_at=now)
            .execution_options(synchronize_session=False)
        )


def revoke_all(session: Session, now: datetime, operator_id: int) -> int:
    """End every session of this operator (deactivation, password change); how many."""
    result = session.execute(
        update(ConsoleSession)
        .where(ConsoleSession.operator_id == operator_id, ConsoleSession.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def live_count(session: Session, operator_id: int) -> int:
    rows = session.scalars(
        select(ConsoleSession.token_hash).where(
            ConsoleSession.operator_id == operator_id, ConsoleSession.revoked_at.is_(None)
        )
    )
    return len(list(rows))
