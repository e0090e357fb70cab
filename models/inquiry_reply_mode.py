"""A ticket's reply mode: while it is open, the requester's text goes to that ticket.

The mode is the `ticket_reply` conversation (declared as a flow in handlers/ticket_reply.py).
Pushing 「お客さまの回答待ち」 opens it for WAIT_TIMEOUT unless the requester is in the middle
of something else (then the push's 「この件に返信する」 button opens it); after each message
the requester sends it stays open IDLE_TIMEOUT.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models.conversation import ConversationStore
from models.timeutil import Clock

REPLY_CONVERSATION = "ticket_reply"
REPLY_STEP = "compose"
REPLY_ACTION = "ticket_reply"  # postback action=ticket_reply&number=INQ-…
WAIT_TIMEOUT = timedelta(days=7)
IDLE_TIMEOUT = timedelta(minutes=30)


def reply_data(number: str) -> str:
    return f"action={REPLY_ACTION}&number={number}"


def reply_button(label: str, number: str) -> dict[str, Any]:
    """A quick-reply item (LINE's JSON shape) that opens the reply mode for `number`."""
    action = {"type": "postback", "label": label, "data": reply_data(number), "displayText": label}
    return {"type": "action", "action": action}


def open_for_waiting(session: Session, clock: Clock, line_user_id: str, number: str) -> bool:
    """Open the reply mode for the ticket now waiting for the requester; False (left closed)
    while another conversation is open (a form, a live chat)."""
    store = ConversationStore(session, line_user_id, clock)
    current = store.current()
    if (
        current is not None
        and current.name != REPLY_CONVERSATION
        and not current.is_expired(clock.now())
    ):
        return False
    try:
        with session.begin_nested():
            store.start(REPLY_CONVERSATION, REPLY_STEP, {"number": number}, timeout=WAIT_TIMEOUT)
            session.flush()
    except IntegrityError:  # the requester's own message opened a conversation just now
        return False
    return True
