"""Partner API keys: shown once at creation, stored only as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from sqlalchemy import Boolean, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Base

KEY_PREFIX = "bsk_"


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_hint: Mapped[str] = mapped_column(String(12))  # first characters, for operators
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]


def hash_key(key: str) -> str:
    # API keys are 256-bit random tokens, so a plain (unsalted) SHA-256 is enough to make a
    # leaked table useless, and it lets us look a key up by its hash.
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(session: Session, name: str, now: datetime) -> tuple[ApiKey, str]:
    """Create a key; returns the row and the plain key (never stored, shown once)."""
    name = name.strip()
    if not name:
        raise ValueError("an API key needs a name")
    if session.scalar(select(ApiKey.id).where(ApiKey.name == name)) is not None:
        raise ValueError(f"an API key named {name!r} already exists")
    plain = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(
        name=name,
        key_hash=hash_key(plain),
        key_hint=plain[:10],
        active=True,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row, plain


def authenticate(session: Session, presented: str | None) -> ApiKey | None:
    """The active key matching `presented`, or None."""
    if not presented:
        return None
    digest = hash_key(presented.strip())
    row = session.scalar(select(ApiKey).where(ApiKey.key_hash == digest, ApiKey.active))
    if row is None or not hmac.compare_digest(row.key_hash, digest):
        return None
    return row
