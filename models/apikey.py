"""Partners and their API keys: a key is shown once at creation, stored only as a SHA-256
hash, belongs to one partner and carries scopes (what it may do)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Base

KEY_PREFIX = "bsk_"

# read: balance and history; earn: earnings (amend, cancel); redeem: redemptions (cancel,
# reprice) and exchanges (cancel); grant: operator grants; revoke: revoking a grant or earning.
SCOPES: tuple[str, ...] = ("read", "earn", "redeem", "grant", "revoke")


class Partner(Base):
    """A company calling the points API. It acts only on the operations it created."""

    __tablename__ = "partners"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime]


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    scopes: Mapped[str] = mapped_column(String(100))  # space-separated, from SCOPES
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_hint: Mapped[str] = mapped_column(String(12))  # first characters, for operators
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset(self.scopes.split())


@dataclass(frozen=True)
class KeyInfo:
    """What `benesapo apikey list` shows (never the key or its hash)."""

    name: str
    partner: str
    scopes: str
    hint: str
    active: bool
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def hash_key(key: str) -> str:
    # API keys are 256-bit random tokens, so a plain (unsalted) SHA-256 is enough to make a
    # leaked table useless, and it lets us look a key up by its hash.
    return hashlib.sha256(key.encode()).hexdigest()


def parse_scopes(raw: str | Iterable[str] | None) -> tuple[str, ...]:
    """Scopes from "read,earn" (or a list); None means every scope. Unknown ones raise."""
    if raw is None:
        return SCOPES
    items = raw.replace(",", " ").split() if isinstance(raw, str) else list(raw)
    unknown = sorted(set(items) - set(SCOPES))
    if unknown:
        raise ValueError(f"unknown scope(s) {', '.join(unknown)}; known: {', '.join(SCOPES)}")
    if not items:
        raise ValueError(f"give at least one scope of: {', '.join(SCOPES)}")
    return tuple(s for s in SCOPES if s in items)


def create_api_key(
    session: Session,
    name: str,
    now: datetime,
    *,
    scopes: str | Iterable[str] | None = None,
    partner: str | None = None,
) -> tuple[ApiKey, str]:
    """Create a key; returns the row and the plain key (never stored, shown once).

    Without `partner` the key belongs to a new partner of the same name (the usual case);
    with it, to that existing partner (a second key, e.g. for rotation)."""
    name = name.strip()
    if not name or len(name) > 100:
        raise ValueError("an API key needs a name (at most 100 characters)")
    chosen = parse_scopes(scopes)
    if session.scalar(select(ApiKey.id).where(ApiKey.name == name)) is not None:
        raise ValueError(f"an API key named {name!r} already exists")
    if partner is None:
        if session.scalar(select(Partner.id).where(Partner.name == name)) is not None:
            raise ValueError(f"a partner named {name!r} already exists; use --partner")
        owner = Partner(name=name, created_at=now)
        session.add(owner)
        session.flush()
    else:
        found = session.scalar(select(Partner).where(Partner.name == partner.strip()))
        if found is None:
            raise ValueError(f"no partner named {partner!r}")
        owner = found
    plain = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(
        name=name,
        partner_id=owner.id,
        scopes=" ".join(chosen),
        key_hash=hash_key(plain),
        key_hint=plain[:10],
        active=True,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row, plain


def list_api_keys(session: Session) -> list[KeyInfo]:
    rows = session.execute(
        select(ApiKey, Partner.name)
        .join(Partner, Partner.id == ApiKey.partner_id)
        .order_by(Partner.name, ApiKey.id)
    ).all()
    return [
        KeyInfo(
            k.name, p, k.scopes, k.key_hint, k.active, k.created_at, k.last_used_at, k.revoked_at
        )
        for k, p in rows
    ]


def revoke_api_key(session: Session, name: str, now: datetime) -> ApiKey:
    """Deactivate a key for good (its operations stay attributed to it)."""
    row = session.scalar(select(ApiKey).where(ApiKey.name == name.strip()))
    if row is None:
        raise ValueError(f"no API key named {name!r}")
    if row.active:
        row.active = False
        row.revoked_at = now
    return row


def authenticate(session: Session, presented: str | None) -> ApiKey | None:
    """The active key matching `presented`, or None."""
    if not presented:
        return None
    digest = hash_key(presented.strip())
    row = session.scalar(select(ApiKey).where(ApiKey.key_hash == digest, ApiKey.active))
    if row is None or not hmac.compare_digest(row.key_hash, digest):
        return None
    return row
