"""Replies a dead or stalled worker left behind: which event each answers, whose claim it is."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.events import EventStatus, OutboxStatus, OutgoingMessage, WebhookEvent


def replying_events(session: Session, rows: Sequence[OutgoingMessage]) -> dict[int, int]:
    """{outbox row id: id of the webhook event it answers}, for rows whose event is still
    `replying` (held until its reply is recorded: see finish_replying)."""
    keys = {row.dedupe_key.removeprefix("event:"): row.id for row in rows}
    keys = {event_id: row_id for event_id, row_id in keys.items() if ":" not in event_id}
    if not keys:
        return {}
    found = session.execute(
        select(WebhookEvent.webhook_event_id, WebhookEvent.id).where(
            WebhookEvent.webhook_event_id.in_(keys),
            WebhookEvent.status == EventStatus.REPLYING.value,
        )
    ).all()
    return {keys[webhook_event_id]: event_id for webhook_event_id, event_id in found}


def claim_still_held(session: Session, row_id: int, attempts: int) -> bool:
    """The claim of attempt number `attempts` on the row is still the current one (nobody
    took it back since)."""
    return (
        session.scalar(
            select(OutgoingMessage.id).where(
                OutgoingMessage.id == row_id,
                OutgoingMessage.status == OutboxStatus.SENDING.value,
                OutgoingMessage.attempts == attempts,
            )
        )
        is not None
    )
