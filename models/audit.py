"""The audit log: every change of a member or company, and refused link attempts, for the
back office (who, what, when). Append-only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Base
from models.timeutil import utcnow


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_target_at", "target", "at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(300))  # "cli", "line:U…", "hr:<member id>", …
    action: Mapped[str] = mapped_column(String(60), index=True)
    target: Mapped[str] = mapped_column(String(300))  # "company:<code>", "member:<id>", …
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


def record(
    session: Session,
    actor: str,
    action: str,
    target: str,
    details: dict[str, Any] | None = None,
    *,
    at: datetime | None = None,
) -> AuditEntry:
    """Append one entry (flushed with the caller's transaction). Never pass passwords."""
    entry = AuditEntry(
        at=at or utcnow(), actor=actor, action=action, target=target, details=dict(details or {})
    )
    session.add(entry)
    session.flush()
    return entry


def entries(
    session: Session, *, target: str | None = None, action: str | None = None
) -> list[AuditEntry]:
    """Entries oldest first, optionally for one target or action."""
    stmt = select(AuditEntry).order_by(AuditEntry.id)
    if target is not None:
        stmt = stmt.where(AuditEntry.target == target)
    if action is not None:
        stmt = stmt.where(AuditEntry.action == action)
    return list(session.scalars(stmt))
