"""Recorded webhook events (each once, by webhookEventId) and the outbox of LINE messages.

- `tables`: the tables (`WebhookEvent`, `OutgoingMessage`, `LineChat`), statuses and leases.
- `inbox`: received events recorded, claimed in per-user order, marked processed.
- `outbox`: LINE calls queued in the transaction of the change they report, claimed for a
  send attempt, recorded as sent.
- `batch`: one UPDATE over many rows by id, for both.

Callers import from `models.events`; the names below are its public surface.
"""

from models.events.inbox import (
    backlog_size,
    claim_next_events,
    finish_replying,
    has_due_events,
    has_stale_replying,
    mark_done,
    record_events,
    release_stale_replying,
)
from models.events.outbox import (
    claim_due_outbox,
    enqueue_messages,
    has_due_outbox,
    mark_sending,
    new_outbox_row,
    queue_claimed,
    record_sent,
)
from models.events.tables import (
    CLAIM_LEASE,
    OPEN_STATUSES,
    ORDER_STATUSES,
    REPLY_CLAIM_LEASE,
    REPLY_HOLD,
    EventStatus,
    LineChat,
    OutboxStatus,
    OutgoingMessage,
    WebhookEvent,
)

__all__ = [
    "CLAIM_LEASE",
    "OPEN_STATUSES",
    "ORDER_STATUSES",
    "REPLY_CLAIM_LEASE",
    "REPLY_HOLD",
    "EventStatus",
    "LineChat",
    "OutboxStatus",
    "OutgoingMessage",
    "WebhookEvent",
    "backlog_size",
    "claim_due_outbox",
    "claim_next_events",
    "enqueue_messages",
    "finish_replying",
    "has_due_events",
    "has_due_outbox",
    "has_stale_replying",
    "mark_done",
    "mark_sending",
    "new_outbox_row",
    "queue_claimed",
    "record_events",
    "record_sent",
    "release_stale_replying",
]
