"""The claim that makes a ticket's one-click action run at most once.

`claim_action` inserts the action's history entry BEFORE the action runs. The unique index on
`inquiry_events (inquiry_id, action)` decides who runs it: on PostgreSQL a concurrent claim
waits for the first transaction and fails when it commits (or goes ahead if it rolled back);
on SQLite writes are serialized and the second claim fails at once. It holds across processes
and workers because the database decides, not a check in Python.

The caller runs the claim, the action and `complete_action` in one savepoint of one
transaction: a refused action rolls its claim back, so it can be tried again.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import audit
from models.inquiries import Inquiry, InquiryEvent
from models.timeutil import Clock


class ActionAlreadyRun(Exception):
    """The action was run on this ticket already (or is being run by a concurrent request)."""

    code = "already_run"

    def __init__(self, action: str) -> None:
        super().__init__(f"action {action} was already run on this ticket")
        self.action = action


def actions_done(session: Session, inquiry: Inquiry) -> set[str]:
    """The actions run on this ticket, as committed (or claimed in this transaction)."""
    rows = session.scalars(
        select(InquiryEvent.action).where(
            InquiryEvent.inquiry_id == inquiry.id, InquiryEvent.action.is_not(None)
        )
    )
    return {str(name) for name in rows}


def claim_action(
    session: Session, clock: Clock, inquiry: Inquiry, action: str, *, actor: str
) -> InquiryEvent:
    """Take the ticket's one run of `action`, or raise ActionAlreadyRun."""
    event = InquiryEvent(
        inquiry_id=inquiry.id,
        at=clock.now(),
        actor=actor[:100],
        kind="action",
        action=action,
        details={"action": action},
    )
    try:
        with session.begin_nested():
            session.add(event)
            session.flush()
    except IntegrityError as exc:
        session.expire(inquiry, ["events"])  # show the winner's entry in the history
        raise ActionAlreadyRun(action) from exc
    return event


def complete_action(
    session: Session,
    clock: Clock,
    inquiry: Inquiry,
    event: InquiryEvent,
    *,
    actor: str,
    details: dict[str, Any] | None = None,
) -> None:
    """Record what the claimed action did, in the history and the audit log (never pass
    passwords: both are kept)."""
    now = clock.now()
    event.details = {"action": event.action, **(details or {})}
    inquiry.updated_at = now
    session.flush()
    audit.record(
        session,
        actor,
        f"inquiry_action_{event.action}",
        f"inquiry:{inquiry.number}",
        dict(details or {}),
        at=now,
    )
