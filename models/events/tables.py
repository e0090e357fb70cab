"""The tables of the inbox (received webhook events) and the outbox (queued LINE calls), their
statuses and leases."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class EventStatus(enum.StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    REPLYING = "replying"  # processed and committed; its reply not sent yet
    DONE = "done"
    FAILED = "failed"


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


OPEN_STATUSES = (EventStatus.PENDING.value, EventStatus.PROCESSING.value)
# An earlier event of the user in one of these holds the user's next event back, so that
# events are processed, and their replies sent, in order.
ORDER_STATUSES = (*OPEN_STATUSES, EventStatus.REPLYING.value)
CLAIM_LEASE = timedelta(minutes=5)
# A reply claimed for sending whose outcome was not recorded after this long, while its reply
# token is still good (its worker died, or hangs): taken back and retried by reply, so that
# LINE's "Invalid reply token" proves the first attempt delivered it (no push, no duplicate).
REPLY_CLAIM_LEASE = timedelta(seconds=10)
# A reply not recorded as sent after this long (its worker died between commit and send; the
# outbox retries it) stops holding the user's next events back.
REPLY_HOLD = timedelta(minutes=2)


class WebhookEvent(Base):
    __tablename__ = "webhook_events"
    __table_args__ = (
        Index("ix_webhook_events_claim", "status", "available_at"),
        Index(
            "ix_webhook_events_pending_order",
            "occurred_at",
            "id",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        # Is an earlier event of this user still open? (the per-user order of the claim)
        Index(
            "ix_webhook_events_open_by_user",
            "user_key",
            "occurred_at",
            "id",
            postgresql_where=text("status IN ('pending', 'processing', 'replying')"),
            sqlite_where=text("status IN ('pending', 'processing', 'replying')"),
        ),
        # A user's recent exchange, copied into a live chat's transcript (models/handoff*).
        Index("ix_webhook_events_user_recent", "user_key", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    webhook_event_id: Mapped[str] = mapped_column(String(64), unique=True)
    event_type: Mapped[str] = mapped_column(String(40))
    source_type: Mapped[str] = mapped_column(String(10))
    user_key: Mapped[str] = mapped_column(String(80))  # ordering key: user, group or room id
    line_user_id: Mapped[str | None] = mapped_column(String(64))
    occurred_at: Mapped[datetime]
    received_at: Mapped[datetime]
    is_redelivery: Mapped[bool] = mapped_column(Boolean, default=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(12), default=EventStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    available_at: Mapped[datetime]
    claimed_at: Mapped[datetime | None]
    processed_at: Mapped[datetime | None]
    handler: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)


class OutgoingMessage(Base):
    """A message (batch) to deliver; written in the same transaction as the change it reports."""

    __tablename__ = "outgoing_messages"
    __table_args__ = (
        Index("ix_outgoing_messages_due", "status", "next_attempt_at"),
        # Is this reply token used already? (models/inquiry_thread)
        Index("ix_outgoing_messages_reply_token", "reply_token"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(120), unique=True)
    to: Mapped[list[str]] = mapped_column(JSON)  # one user id (reply/push) or many (multicast)
    reply_token: Mapped[str | None] = mapped_column(String(100))
    reply_deadline: Mapped[datetime | None]
    messages: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    retry_key: Mapped[str] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(10), default=OutboxStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    reply_ambiguous: Mapped[bool] = mapped_column(Boolean, default=False)
    # Notifications nobody asked for right now (reminders) wait out the quiet hours.
    respects_quiet_hours: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    sent_via: Mapped[str | None] = mapped_column(String(10))
    request_id: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)


class LineChat(Base):
    """Groups and rooms the bot was added to: told once that it works one-to-one."""

    __tablename__ = "line_chats"

    chat_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    chat_type: Mapped[str] = mapped_column(String(10))
    noticed_at: Mapped[datetime]
