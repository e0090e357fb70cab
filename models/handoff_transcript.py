"""What goes into a handoff's transcript: readable lines from LINE messages, and the user's
recent exchange with the bot before the handoff (from the recorded webhook events and the
outbox rows that answered them, both kept RETENTION_DAYS)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import handoff_texts as t
from models.events import OutgoingMessage, WebhookEvent
from models.handoff import SENDER_BOT, SENDER_USER, Handoff, add_line

RECENT_EVENTS = 10
RECENT_WINDOW = timedelta(hours=24)
NON_TEXT_LABELS = t.NON_TEXT_LABELS


def message_line(message: dict[str, Any]) -> str:
    """One outgoing message as a transcript line (a card by its alternative text)."""
    kind = message.get("type")
    if kind == "text":
        return str(message.get("text", ""))
    if kind in {"flex", "template"}:
        return t.CARD.format(alt=message.get("altText", kind))
    return NON_TEXT_LABELS.get(str(kind), t.OTHER_KIND.format(kind=kind))


def event_line(payload: dict[str, Any]) -> str | None:
    """What the user sent in a webhook event, as a line; None for events that are not input."""
    if payload.get("type") == "message":
        message = payload.get("message") or {}
        if message.get("type") == "text":
            return str(message.get("text", ""))
        return NON_TEXT_LABELS.get(str(message.get("type")), t.OTHER_MESSAGE)
    if payload.get("type") == "postback":
        data = str((payload.get("postback") or {}).get("data", ""))
        return t.POSTBACK.format(data=data[:100])
    return None


def copy_recent_exchange(
    session: Session, handoff: Handoff, line_user_id: str, now: datetime, current_event: str | None
) -> int:
    """Copy the user's last messages to the bot (before the one that asked for a person) and
    the bot's answers into the transcript; returns how many lines."""
    events = list(
        session.scalars(
            select(WebhookEvent)
            .where(
                WebhookEvent.user_key == line_user_id,
                WebhookEvent.occurred_at >= now - RECENT_WINDOW,
                WebhookEvent.event_type.in_(("message", "postback")),
            )
            .order_by(WebhookEvent.occurred_at.desc(), WebhookEvent.id.desc())
            .limit(RECENT_EVENTS + 1)
        )
    )
    events = [e for e in events if e.webhook_event_id != current_event][:RECENT_EVENTS]
    events.reverse()
    keys = [f"event:{e.webhook_event_id}" for e in events]
    answers = {
        row.dedupe_key: row
        for row in session.scalars(
            select(OutgoingMessage).where(OutgoingMessage.dedupe_key.in_(keys))
        )
    }
    count = 0
    for event, key in zip(events, keys, strict=True):
        line = event_line(event.payload)
        if line is None:
            continue
        add_line(session, handoff, SENDER_USER, line, event.occurred_at, before_handoff=True)
        count += 1
        answer = answers.get(key)
        for message in answer.messages if answer is not None else []:
            add_line(
                session,
                handoff,
                SENDER_BOT,
                message_line(message),
                answer.created_at,
                before_handoff=True,
            )
            count += 1
    return count
