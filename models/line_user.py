"""LINE users who talk to the official account, the member each is linked to, and the
short-lived records of LINE's account-link flow (link requests and nonces)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base
from models.company import Member


class LineUser(Base):
    __tablename__ = "line_users"

    line_user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # Unique: one member is linked to at most one LINE user (points terms Art. 1.3).
    member_pk: Mapped[int | None] = mapped_column(ForeignKey("members.id"), unique=True, index=True)
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    language: Mapped[str] = mapped_column(String(8), default="ja")
    reminders_opt_out: Mapped[bool] = mapped_column(Boolean, default=False)
    first_seen_at: Mapped[datetime]
    followed_at: Mapped[datetime | None]
    unfollowed_at: Mapped[datetime | None]
    linked_at: Mapped[datetime | None]

    member: Mapped[Member | None] = relationship()


class LinkRequest(Base):
    """The bot's invitation to the login page, for one LINE user (models.link_requests): the
    page finds it by that user once LINE has vouched for the browser (LIFF ID token), so
    nothing secret is in the chat; `key_hash` is a random row id. The page asks LINE for a
    link token when it is opened (its digest is kept, so only that token is accepted back).
    `used_at` is set when it is used up or closed (newer request, cancel, unlink, link)."""

    __tablename__ = "link_requests"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    line_user_id: Mapped[str] = mapped_column(String(64), index=True)
    company_code: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    link_token_hash: Mapped[str | None] = mapped_column(String(64))


class LinkNonce(Base):
    """The nonce of one successful login (stored as a SHA-256 digest): single-use, short-lived,
    bound to the member who logged in and the LINE user the link token was issued for."""

    __tablename__ = "link_nonces"

    nonce_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    member_pk: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    line_user_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
