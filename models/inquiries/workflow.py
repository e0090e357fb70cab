"""Working a ticket: assigning it, changing its status (the requester told by a LINE push,
queued in the same transaction)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from models import audit, credentials
from models.events import enqueue_messages
from models.inquiries.filing import add_event
from models.inquiries.kinds import CLOSED_STATUSES, InquiryError, InquiryStatus
from models.inquiries.records import Inquiry
from models.inquiries.texts import SERVICE_NAME, STATUS_LABELS, STATUS_PUSH, STATUS_PUSH_MESSAGE
from models.inquiry_reply_mode import open_for_waiting, reply_button
from models.line_user import LineUser
from models.ticket_texts import REPLY_BUTTON, STATUS_NEXT
from models.timeutil import Clock

MESSAGE_MAX_CHARS = 1000


def assign(session: Session, clock: Clock, inquiry: Inquiry, operator_id: int, actor: str) -> None:
    now = clock.now()
    before = inquiry.assignee_id
    inquiry.assignee_id = operator_id
    inquiry.updated_at = now
    add_event(session, inquiry, actor, "assigned", now, details={"from": before, "to": operator_id})
    audit.record(session, actor, "inquiry_assigned", f"inquiry:{inquiry.number}", {}, at=now)


def change_status(
    session: Session,
    clock: Clock,
    inquiry: Inquiry,
    status: InquiryStatus | str,
    *,
    actor: str,
    message: str = "",
    service_name: str = SERVICE_NAME,
    notify: bool = True,
) -> bool:
    """Set the status and tell the requester by a LINE push (queued in this transaction;
    `notify=False`: no push, as when running an action takes the ticket up).

    A message holding a password-shaped string is refused (`message_has_password`):
    credentials never go into a chat, nor into the history or the outbox.
    Returns True if a push was queued (not when the user blocked the account)."""
    status = InquiryStatus(status)
    message = (message or "").strip()
    if len(message) > MESSAGE_MAX_CHARS:
        raise InquiryError("message_too_long", f"at most {MESSAGE_MAX_CHARS} characters")
    if status is inquiry.status and not message:
        raise InquiryError("nothing_to_do", "same status and no message")
    if credentials.looks_like_password(message):
        raise InquiryError("message_has_password", "credentials are never sent to a chat")
    now = clock.now()
    before = inquiry.status
    inquiry.status = status
    inquiry.updated_at = now
    inquiry.closed_at = now if status in CLOSED_STATUSES else None
    event = add_event(
        session,
        inquiry,
        actor,
        "status",
        now,
        from_status=before,
        to_status=status,
        message=message or None,
    )
    audit.record(
        session,
        actor,
        "inquiry_status_changed",
        f"inquiry:{inquiry.number}",
        {"from": before.value, "to": status.value, "message": bool(message)},
        at=now,
    )
    user = session.get(LineUser, inquiry.line_user_id)
    if not notify or user is None or user.blocked:
        return False
    body = STATUS_PUSH.format(
        service=service_name,
        number=inquiry.number,
        type=inquiry.type_label,
        status=STATUS_LABELS[status],
    )
    if message:
        body += STATUS_PUSH_MESSAGE.format(message=message)
    body += "\n\n" + STATUS_NEXT[status.value]
    push: dict[str, Any] = {"type": "text", "text": body}
    if status is InquiryStatus.WAITING:  # the way to answer
        push["quickReply"] = {"items": [reply_button(REPLY_BUTTON, inquiry.number)]}
    enqueue_messages(
        session,
        dedupe_key=f"inquiry-status:{event.id}",
        to=[inquiry.line_user_id],
        messages=[push],
        now=now,
    )
    if status is InquiryStatus.WAITING:  # the requester's next text answers this ticket
        open_for_waiting(session, clock, inquiry.line_user_id, inquiry.number)
    return True
