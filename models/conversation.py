"""Open multi-step conversations, kept in the database (survive restarts, shared by workers)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Base
from models.db import add_row, get_prefetched
from models.timeutil import Clock

DEFAULT_TIMEOUT = timedelta(minutes=30)


class Conversation(Base):
    __tablename__ = "conversations"

    line_user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    step: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime]
    expires_at: Mapped[datetime]

    def is_expired(self, now: datetime) -> bool:
        return now >= self.expires_at


class ConversationStore:
    """The open conversation of one LINE user: at most one at a time."""

    def __init__(self, session: Session, line_user_id: str, clock: Clock) -> None:
        self.session = session
        self.line_user_id = line_user_id
        self.clock = clock

    def current(self) -> Conversation | None:
        return get_prefetched(self.session, Conversation, self.line_user_id)

    def start(
        self,
        name: str,
        step: str,
        data: dict[str, Any] | None = None,
        timeout: timedelta = DEFAULT_TIMEOUT,
    ) -> Conversation:
        now = self.clock.now()
        conversation = self.current()
        if conversation is None:
            conversation = Conversation(line_user_id=self.line_user_id)
            add_row(self.session, conversation)
        conversation.name = name
        conversation.step = step
        conversation.data = dict(data or {})
        conversation.updated_at = now
        conversation.expires_at = now + timeout
        return conversation

    def advance(
        self, step: str, data: dict[str, Any] | None = None, timeout: timedelta = DEFAULT_TIMEOUT
    ) -> Conversation:
        conversation = self.current()
        if conversation is None:
            raise LookupError("no open conversation")
        now = self.clock.now()
        conversation.step = step
        if data is not None:
            conversation.data = dict(data)  # reassign: JSON columns track replacement
        conversation.updated_at = now
        conversation.expires_at = now + timeout
        return conversation

    def clear(self) -> None:
        conversation = self.current()
        if conversation is not None:
            self.session.delete(conversation)
            self.session.flush()
