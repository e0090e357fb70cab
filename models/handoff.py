"""Live chats handed from the bot to a person (an operator of the back office).

A `Handoff` is one request to talk to a person, with its transcript (`HandoffMessage`: what
the user sent, what the bot and the operators answered). Its status is the console's view:
`waiting` (要対応: the user wrote and waits for an answer), `active` (対応中: an operator
answered), `closed` (対応済み). `live` says whether the user's messages go to the operator
(the bot stays quiet) or to the bot again (the user ended the chat, or it was idle).

At most one handoff per user is not closed: `open_key` holds the LINE user id until it is
closed (a unique column; NULLs never collide). An operator's reply is claimed by the form's
`client_key` (unique), so a double click sends once. Transcripts are deleted RETENTION_DAYS
after they were written (`prune_transcripts`); they are never logged.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Integer,
    String,
    Text,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from models import handoff_texts
from models.base import Base
from models.company import Member
from models.events import OutgoingMessage, new_outbox_row

TEXT_MAX = 2000  # a transcript line (LINE's own limit is 5000; the console shows 2000)
REPLY_MAX = 1000  # an operator's reply
NOTE_MAX = 2000
REPLY_TOKEN_MARGIN = timedelta(seconds=50)  # LINE allows one minute; keep a margin


class HandoffStatus(enum.StrEnum):
    WAITING = "waiting"  # 要対応
    ACTIVE = "active"  # 対応中
    CLOSED = "closed"  # 対応済み


STATUS_LABELS = {status: handoff_texts.STATUS_LABELS[status.value] for status in HandoffStatus}
SENDER_USER, SENDER_BOT, SENDER_OPERATOR = "user", "bot", "operator"


class HandoffError(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class Handoff(Base):
    __tablename__ = "handoffs"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    line_user_id: Mapped[str] = mapped_column(String(64), index=True)
    open_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    live: Mapped[bool] = mapped_column(Boolean, default=True)
    member_pk: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id"))
    opened_at: Mapped[datetime]
    out_of_hours: Mapped[bool] = mapped_column(Boolean, default=False)
    last_activity_at: Mapped[datetime] = mapped_column(index=True)
    last_user_at: Mapped[datetime | None]
    reply_token: Mapped[str | None] = mapped_column(String(200))
    reply_deadline: Mapped[datetime | None]
    note: Mapped[str] = mapped_column(Text, default="")
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(300))
    close_reason: Mapped[str | None] = mapped_column(String(16))

    member: Mapped[Member | None] = relationship()
    messages: Mapped[list[HandoffMessage]] = relationship(
        back_populates="handoff", order_by="HandoffMessage.id"
    )

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[HandoffStatus(self.status)]

    @property
    def is_open(self) -> bool:
        return self.status != HandoffStatus.CLOSED.value


class HandoffMessage(Base):
    __tablename__ = "handoff_messages"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    handoff_id: Mapped[int] = mapped_column(ForeignKey("handoffs.id"), index=True)
    at: Mapped[datetime] = mapped_column(index=True)
    sender: Mapped[str] = mapped_column(String(16))  # user | bot | operator
    text: Mapped[str] = mapped_column(Text)
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id"))
    client_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    read_token: Mapped[str | None] = mapped_column(String(300))  # LINE's markAsReadToken
    read_at: Mapped[datetime | None]
    before_handoff: Mapped[bool] = mapped_column(Boolean, default=False)

    handoff: Mapped[Handoff] = relationship(back_populates="messages")


# -- the user's side (called by the chat handler) -------------------------------------------


def open_handoff(session: Session, line_user_id: str) -> Handoff | None:
    """The user's handoff that is not closed, if any."""
    return session.scalar(select(Handoff).where(Handoff.open_key == line_user_id))


def start(
    session: Session,
    line_user_id: str,
    member: Member | None,
    now: datetime,
    *,
    out_of_hours: bool,
) -> tuple[Handoff, bool]:
    """Open a handoff (or make the open one live again): (handoff, newly opened)."""
    handoff = open_handoff(session, line_user_id)
    if handoff is not None:
        handoff.live = True
        handoff.last_activity_at = now
        handoff.out_of_hours = out_of_hours
        return handoff, False
    handoff = Handoff(
        line_user_id=line_user_id,
        open_key=line_user_id,
        status=HandoffStatus.WAITING.value,
        live=True,
        member_pk=member.id if member is not None else None,
        opened_at=now,
        out_of_hours=out_of_hours,
        last_activity_at=now,
        note="",
    )
    session.add(handoff)
    session.flush()
    return handoff, True


def add_line(
    session: Session,
    handoff: Handoff,
    sender: str,
    text: str,
    at: datetime,
    *,
    read_token: str | None = None,
    before_handoff: bool = False,
) -> HandoffMessage:
    line = HandoffMessage(
        handoff_id=handoff.id,
        at=at,
        sender=sender,
        text=text[:TEXT_MAX],
        read_token=read_token,
        before_handoff=before_handoff,
    )
    session.add(line)
    session.flush()
    return line


def user_wrote(
    session: Session,
    handoff: Handoff,
    text: str,
    now: datetime,
    *,
    reply_token: str | None,
    sent_at: datetime,
    read_token: str | None,
) -> HandoffMessage:
    """A message for the operator: kept in the transcript; the handoff waits for an answer."""
    line = add_line(session, handoff, SENDER_USER, text, now, read_token=read_token)
    handoff.status = HandoffStatus.WAITING.value
    handoff.last_user_at = now
    handoff.last_activity_at = now
    if reply_token:
        handoff.reply_token = reply_token
        handoff.reply_deadline = sent_at + REPLY_TOKEN_MARGIN
    return line


def end_live(handoff: Handoff, now: datetime, *, reason: str, actor: str) -> bool:
    """The user's messages go to the bot again. Closed too unless the user still waits for an
    answer (then it stays 要対応 and the office answers it). Returns True if it was closed."""
    handoff.live = False
    handoff.reply_token = None
    if handoff.status == HandoffStatus.WAITING.value and handoff.last_user_at is not None:
        return False
    _close(handoff, now, reason=reason, actor=actor)
    return True


def _close(handoff: Handoff, now: datetime, *, reason: str, actor: str) -> None:
    handoff.status = HandoffStatus.CLOSED.value
    handoff.open_key = None
    handoff.live = False
    handoff.closed_at = now
    handoff.closed_by = actor
    handoff.close_reason = reason


def idle_handoffs(session: Session, now: datetime, idle: timedelta, limit: int = 200) -> list[int]:
    """Live handoffs without a message either way for `idle`."""
    return list(
        session.scalars(
            select(Handoff.id)
            .where(Handoff.live.is_(True), Handoff.last_activity_at <= now - idle)
            .order_by(Handoff.id)
            .limit(limit)
        )
    )


def is_idle(handoff: Handoff, now: datetime, idle: timedelta) -> bool:
    return handoff.live and handoff.last_activity_at <= now - idle


# -- the operator's side (console) ------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    line: HandoffMessage
    outbox: OutgoingMessage


def reply(
    session: Session,
    handoff: Handoff,
    *,
    operator_id: int,
    text: str,
    client_key: str,
    now: datetime,
    messages: list[dict[str, Any]],
) -> Reply:
    """Queue an operator's reply (by reply token while the user's last one is fresh, else by
    push with a retry key: bot.delivery). Raises HandoffError: `closed`, `duplicate` (this
    form was sent already), `empty`, `too_long`, `bad_key`."""
    if not handoff.is_open:
        raise HandoffError("closed")
    if not text.strip():
        raise HandoffError("empty")
    if len(text) > REPLY_MAX:
        raise HandoffError("too_long")
    if not client_key or len(client_key) > 64:
        raise HandoffError("bad_key")
    if session.scalar(select(HandoffMessage.id).where(HandoffMessage.client_key == client_key)):
        raise HandoffError("duplicate")
    line = HandoffMessage(
        handoff_id=handoff.id,
        at=now,
        sender=SENDER_OPERATOR,
        text=text,
        operator_id=operator_id,
        client_key=client_key,
    )
    try:
        with session.begin_nested():
            session.add(line)
            session.flush()
    except IntegrityError as exc:  # the same form, sent at the same moment: sent once
        raise HandoffError("duplicate") from exc
    token = handoff.reply_token
    fresh = (
        token is not None and handoff.reply_deadline is not None and now < handoff.reply_deadline
    )
    row = OutgoingMessage(
        **new_outbox_row(
            dedupe_key=f"handoff-reply:{line.id}",
            to=[handoff.line_user_id],
            messages=messages,
            now=now,
            reply_token=token if fresh else None,
            reply_deadline=handoff.reply_deadline if fresh else None,
            claimed=False,
        )
    )
    session.add(row)
    handoff.reply_token = None  # a reply token is used once
    handoff.status = HandoffStatus.ACTIVE.value
    handoff.live = True
    handoff.last_activity_at = now
    if handoff.assignee_id is None:
        handoff.assignee_id = operator_id
    session.flush()
    return Reply(line, row)


def close_by_operator(session: Session, handoff: Handoff, now: datetime, actor: str) -> bool:
    """対応済みにする: True for the request that closed it (a second click finds it closed)."""
    result = session.execute(
        update(Handoff)
        .where(Handoff.id == handoff.id, Handoff.status != HandoffStatus.CLOSED.value)
        .values(
            status=HandoffStatus.CLOSED.value,
            open_key=None,
            live=False,
            closed_at=now,
            closed_by=actor,
            close_reason="operator",
            reply_token=None,
        )
    )
    session.refresh(handoff)
    return bool(result.rowcount)  # type: ignore[attr-defined]


def set_note(handoff: Handoff, note: str) -> None:
    if len(note) > NOTE_MAX:
        raise HandoffError("note_too_long")
    handoff.note = note


def unread_token(handoff: Handoff) -> tuple[str, list[int]] | None:
    """The newest unread user message's markAsReadToken (LINE marks it and every earlier
    message read) and the ids of the unread lines it covers."""
    unread = [m for m in handoff.messages if m.sender == SENDER_USER and m.read_at is None]
    tokens = [m for m in unread if m.read_token]
    if not tokens:
        return None
    return tokens[-1].read_token or "", [m.id for m in unread]


def mark_read(session: Session, ids: list[int], now: datetime) -> None:
    if ids:
        session.execute(
            update(HandoffMessage)
            .where(HandoffMessage.id.in_(ids), HandoffMessage.read_at.is_(None))
            .values(read_at=now)
        )
