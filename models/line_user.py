"""LINE users who talk to the official account, and the member each is linked to."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base
from models.company import Member


class LineUser(Base):
    __tablename__ = "line_users"

    line_user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    member_pk: Mapped[int | None] = mapped_column(
        ForeignKey("members.id"), unique=True, index=True
    )
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    language: Mapped[str] = mapped_column(String(8), default="ja")
    reminders_opt_out: Mapped[bool] = mapped_column(Boolean, default=False)
    first_seen_at: Mapped[datetime]
    followed_at: Mapped[datetime | None]
    unfollowed_at: Mapped[datetime | None]
    linked_at: Mapped[datetime | None]

    member: Mapped[Member | None] = relationship()
