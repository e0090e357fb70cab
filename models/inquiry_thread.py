"""A ticket's thread: the messages the requester and the back office exchange on a ticket.

`InquiryMessage` rows are the thread's own messages; `thread_of` merges them with the ticket's
history (the form's answers, the messages sent with status changes) in time order.

Each message has a `source_key`, unique: `line:<message id>` for the requester's (a LINE
redelivery of the same message attaches it once) and `console:<form key>` for an operator's
(the form's one-time key: a double click sends once). The requester's message on a ticket
waiting for them puts it back to 対応中; the assigned operator (or the back office) is
e-mailed in the same transaction. An operator's message goes by the requester's latest reply
token while LINE still accepts it (unused, under a minute old), else by push with a retry key
(bot.delivery sends the outbox).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from models import ticket_texts as t
from models.base import Base
from models.credentials import looks_like_password
from models.events import EventStatus, OutgoingMessage, WebhookEvent, new_outbox_row
from models.handoff import REPLY_TOKEN_MARGIN
from models.inquiries import (
    ANSWER_LINE,
    OPEN_STATUSES,
    STATUS_LABELS,
    Inquiry,
    InquiryEvent,
    InquiryStatus,
    answer_items,
    format_jst,
    inquiry_assignee_email,
    requester_label,
)
from models.inquiry_reply_mode import reply_button
from models.line_user import LineUser
from models.mail import enqueue_mail, mail_settings
from models.operators import Operator
from models.timeutil import Clock

TEXT_MAX = 1000  # one message, either side
SENDER_REQUESTER, SENDER_OPERATOR = "requester", "operator"


class ThreadError(Exception):
    """A refused message, with a stable `code`: closed, empty, too_long, has_password,
    bad_key, duplicate."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class InquiryMessage(Base):
    __tablename__ = "inquiry_messages"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    inquiry_id: Mapped[int] = mapped_column(ForeignKey("inquiries.id"), index=True)
    at: Mapped[datetime]
    sender: Mapped[str] = mapped_column(String(16))  # requester | operator
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id"))
    text: Mapped[str] = mapped_column(Text)
    source_key: Mapped[str] = mapped_column(String(100), unique=True)
    via: Mapped[str | None] = mapped_column(String(10))  # operator's: reply | push | blocked


def check_text(text: str) -> str:
    """The message, stripped; ThreadError `empty` / `too_long` / `has_password`."""
    text = (text or "").strip()
    if not text:
        raise ThreadError("empty")
    if len(text) > TEXT_MAX:
        raise ThreadError("too_long")
    if looks_like_password(text):
        raise ThreadError("has_password")
    return text


def _claim(session: Session, message: InquiryMessage) -> bool:
    """Insert the message unless its source_key is taken (the database decides)."""
    if session.scalar(
        select(InquiryMessage.id).where(InquiryMessage.source_key == message.source_key)
    ):
        return False
    try:
        with session.begin_nested():
            session.add(message)
            session.flush()
    except IntegrityError:  # the same key, at the same moment: kept once
        return False
    return True


# -- the requester's side ------------------------------------------------------------------


@dataclass(frozen=True)
class Attached:
    message: InquiryMessage | None  # None: this LINE message was attached already
    reopened: bool  # the ticket went from お客さまの回答待ち back to 対応中


def attach_from_requester(
    session: Session,
    clock: Clock,
    inquiry: Inquiry,
    text: str,
    *,
    line_user_id: str,
    source_key: str,
    console_url: str = "",
) -> Attached:
    """Attach the requester's message (their own open ticket only: ThreadError `closed`,
    `not_yours`; the text as `check_text`), put a waiting ticket back to 対応中 and e-mail
    the operator."""
    if inquiry.line_user_id != line_user_id:
        raise ThreadError("not_yours")
    if not inquiry.is_open:
        raise ThreadError("closed")
    text = check_text(text)
    now = clock.now()
    message = InquiryMessage(
        inquiry_id=inquiry.id,
        at=now,
        sender=SENDER_REQUESTER,
        text=text,
        source_key=source_key[:100],
    )
    if not _claim(session, message):
        return Attached(None, False)
    reopened = inquiry.status is InquiryStatus.WAITING
    if reopened:
        inquiry.status = InquiryStatus.IN_PROGRESS
        session.add(
            InquiryEvent(
                inquiry_id=inquiry.id,
                at=now,
                actor=f"line:{line_user_id}"[:100],
                kind="status",
                from_status=InquiryStatus.WAITING.value,
                to_status=InquiryStatus.IN_PROGRESS.value,
                details={"by": "requester_message"},
            )
        )
    inquiry.updated_at = now
    _mail_operator(session, inquiry, message, reopened, console_url)
    session.flush()
    return Attached(message, reopened)


def _mail_operator(
    session: Session, inquiry: Inquiry, message: InquiryMessage, reopened: bool, console_url: str
) -> None:
    settings = mail_settings()
    to = inquiry_assignee_email(inquiry) or settings.backoffice_email
    url = f"{console_url.rstrip('/')}/admin/inquiries/{inquiry.number}" if console_url else "-"
    enqueue_mail(
        session,
        dedupe_key=f"inquiry-message:{message.id}",
        to=[to],
        subject=t.MAIL_SUBJECT.format(number=inquiry.number, type=inquiry.type_label),
        body=t.MAIL_BODY.format(
            number=inquiry.number,
            type=inquiry.type_label,
            reopened=t.MAIL_REOPENED if reopened else "",
            at=format_jst(message.at),
            requester=requester_label(inquiry),
            text=message.text,
            url=url,
        ),
        now=message.at,
    )


def own_open_tickets(session: Session, line_user_id: str, limit: int = 10) -> list[Inquiry]:
    """The requester's own open tickets, newest first (the ones they may write to)."""
    return list(
        session.scalars(
            select(Inquiry)
            .where(Inquiry.line_user_id == line_user_id, Inquiry.status.in_(OPEN_STATUSES))
            .order_by(Inquiry.id.desc())
            .limit(limit)
        )
    )


# -- the operator's side -------------------------------------------------------------------


def usable_reply_token(
    event: WebhookEvent | None, token_used: bool, now: datetime
) -> tuple[str, datetime] | None:
    """LINE's rule for a reply token: the event's, used at most once, within a minute (a
    margin kept). The event must be processed (its own answer decided) and the token unused."""
    if event is None or event.status != EventStatus.DONE.value or token_used:
        return None
    token = (event.payload or {}).get("replyToken")
    if not isinstance(token, str) or not token:
        return None
    deadline = event.received_at + REPLY_TOKEN_MARGIN
    return (token, deadline) if now < deadline else None


def fresh_reply_token(
    session: Session, line_user_id: str, now: datetime
) -> tuple[str, datetime] | None:
    """The requester's latest webhook event's reply token, if LINE still accepts it."""
    event = session.scalar(
        select(WebhookEvent)
        .where(WebhookEvent.user_key == line_user_id, WebhookEvent.source_type == "user")
        .order_by(WebhookEvent.occurred_at.desc(), WebhookEvent.id.desc())
        .limit(1)
    )
    token = (event.payload or {}).get("replyToken") if event is not None else None
    used = bool(
        token
        and session.scalar(
            select(OutgoingMessage.id).where(OutgoingMessage.reply_token == token).limit(1)
        )
    )
    return usable_reply_token(event, used, now)


def post_from_operator(
    session: Session,
    clock: Clock,
    inquiry: Inquiry,
    *,
    operator_id: int,
    text: str,
    client_key: str,
    messages: list[dict[str, Any]],
) -> InquiryMessage:
    """Queue an operator's message to the requester. ThreadError: `closed`, `empty`,
    `too_long`, `has_password`, `bad_key`, `duplicate` (this form was sent already)."""
    if not inquiry.is_open:
        raise ThreadError("closed")
    text = check_text(text)
    if not client_key or len(client_key) > 64:
        raise ThreadError("bad_key")
    now = clock.now()
    message = InquiryMessage(
        inquiry_id=inquiry.id,
        at=now,
        sender=SENDER_OPERATOR,
        operator_id=operator_id,
        text=text,
        source_key=f"console:{client_key}",
    )
    if not _claim(session, message):
        raise ThreadError("duplicate")
    inquiry.updated_at = now
    user = session.get(LineUser, inquiry.line_user_id)
    if user is None or user.blocked:
        message.via = "blocked"
        session.flush()
        return message
    fresh = fresh_reply_token(session, inquiry.line_user_id, now)
    message.via = "reply" if fresh else "push"
    session.add(
        OutgoingMessage(
            **new_outbox_row(
                dedupe_key=f"inquiry-message:{message.id}",
                to=[inquiry.line_user_id],
                messages=messages,
                now=now,
                reply_token=fresh[0] if fresh else None,
                reply_deadline=fresh[1] if fresh else None,
                claimed=False,
            )
        )
    )
    session.flush()
    return message


def operator_messages(number: str, text: str) -> list[dict[str, Any]]:
    """An operator's message as the requester sees it, with the way to answer it."""
    body = t.OPERATOR_MESSAGE.format(number=number, text=text)
    return [
        {
            "type": "text",
            "text": body,
            "quickReply": {"items": [reply_button(t.REPLY_BUTTON, number)]},
        }
    ]


# -- the whole thread ----------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    at: datetime
    who: str  # requester | operator:<email> | system
    kind: str  # form | message | status
    text: str


def thread_of(session: Session, inquiry: Inquiry) -> list[Entry]:
    """The form's answers, status changes (with what the requester was told) and the
    messages, oldest first."""
    entries: list[Entry] = []
    for event in inquiry.events:
        if event.kind == "created":
            body = "\n".join(
                ANSWER_LINE.format(label=k, value=v) for k, v in answer_items(inquiry.answers)
            )
            entries.append(Entry(event.at, SENDER_REQUESTER, "form", body))
        elif event.kind == "status":
            who = SENDER_REQUESTER if event.actor.startswith("line:") else event.actor
            entries.append(Entry(event.at, who, "status", _status_line(event) + _said(event)))
    rows = session.scalars(
        select(InquiryMessage)
        .where(InquiryMessage.inquiry_id == inquiry.id)
        .order_by(InquiryMessage.id)
    )
    emails: dict[int, str] = {}
    for row in rows:
        who = SENDER_REQUESTER
        if row.sender == SENDER_OPERATOR:
            if row.operator_id is not None and row.operator_id not in emails:
                operator = session.get(Operator, row.operator_id)
                emails[row.operator_id] = operator.email if operator else "-"
            who = f"operator:{emails.get(row.operator_id or 0, '-')}"
        entries.append(Entry(row.at, who, "message", row.text))
    return sorted(entries, key=lambda e: e.at)


def _status_line(event: InquiryEvent) -> str:
    def label(value: str | None) -> str:
        return STATUS_LABELS[InquiryStatus(value)] if value else "-"

    return f"[{label(event.from_status)} → {label(event.to_status)}]"


def _said(event: InquiryEvent) -> str:
    return f"\n{event.message}" if event.message else ""
