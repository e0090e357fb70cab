"""The live chat's scheduled work: chats idle for the configured time return to the bot (and
the user is told), and transcripts older than RETENTION_DAYS are deleted."""

from __future__ import annotations

from adapters.runtime import Runtime
from handlers.handoff import CONVERSATION, idle_message
from models import handoff as handoffs
from models import handoff_lists
from models.conversation import ConversationStore
from models.db import transaction
from models.events import enqueue_messages
from models.handoff_hours import HandoffPolicy


def end_idle_chats(runtime: Runtime) -> dict[str, int]:
    policy = HandoffPolicy.from_settings(runtime.settings)
    now = runtime.clock.now()
    ended = closed = 0
    with transaction(runtime.session_factory) as session:
        for handoff_id in handoffs.idle_handoffs(session, now, policy.idle):
            handoff = session.get(handoffs.Handoff, handoff_id, with_for_update=True)
            if handoff is None or not handoffs.is_idle(handoff, now, policy.idle):
                continue  # a message arrived meanwhile
            was_closed = handoffs.end_live(handoff, now, reason="idle", actor="system:idle")
            store = ConversationStore(session, handoff.line_user_id, runtime.clock)
            current = store.current()
            if current is not None and current.name == CONVERSATION:
                store.clear()
            messages = idle_message(was_closed, policy.idle)
            handoffs.add_line(session, handoff, handoffs.SENDER_BOT, messages[0]["text"], now)
            enqueue_messages(
                session,
                dedupe_key=f"handoff-idle:{handoff.id}:{int(now.timestamp())}",
                to=[handoff.line_user_id],
                messages=messages,
                now=now,
            )
            ended += 1
            closed += int(was_closed)
    return {"ended": ended, "closed": closed}


def prune_transcripts(runtime: Runtime) -> int:
    with transaction(runtime.session_factory) as session:
        return handoff_lists.prune_transcripts(
            session, runtime.clock.now(), runtime.settings.retention_days
        )
