"""Turns one recorded LINE webhook event into router calls and returns the reply messages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session, selectinload

from chat.messages import Message, text
from chat.router import Context, Input, Router
from common.config import Settings
from handlers import texts
from models.conversation import Conversation
from models.db import add_row, get_prefetched, prefetch_rows
from models.events import LineChat, WebhookEvent
from models.line_user import LineUser
from models.retention import is_beyond_retention
from models.timeutil import Clock


def get_or_create_line_user(session: Session, line_user_id: str, clock: Clock) -> LineUser:
    user = get_prefetched(session, LineUser, line_user_id)
    if user is None:
        user = LineUser(
            line_user_id=line_user_id,
            first_seen_at=clock.now(),
            blocked=False,
            language="ja",
            reminders_opt_out=False,
        )
        add_row(session, user)
        session.flush()
    return user


def prefetch(session: Session, events: Sequence[WebhookEvent]) -> None:
    """Load what routing a batch of events reads per user (LINE users with their linked
    members, open conversations) in three queries instead of three per event."""
    user_ids = {event.line_user_id for event in events if event.line_user_id}
    if user_ids:
        prefetch_rows(session, LineUser, user_ids, selectinload(LineUser.member))
        prefetch_rows(session, Conversation, user_ids)


def _group_notice(session: Session, event: WebhookEvent, clock: Clock) -> list[Message]:
    """In a group or room: say once that the bot works one-to-one, and nothing else."""
    if session.get(LineChat, event.user_key) is not None:
        return []
    session.add(
        LineChat(chat_id=event.user_key, chat_type=event.source_type, noticed_at=clock.now())
    )
    session.flush()
    return [text(texts.GROUP_NOTICE)]


def route_event(
    session: Session, event: WebhookEvent, router: Router, settings: Settings, clock: Clock
) -> tuple[list[Message], str]:
    """(messages to reply, name of what handled it)."""
    payload: dict[str, Any] = event.payload
    if payload.get("mode") == "standby":
        return [], "ignored:standby"
    if is_beyond_retention(event.occurred_at, event.received_at, settings.retention_days):
        # Its first delivery's record may be deleted by now, so it may have been applied
        # already; LINE does not always mark a redelivery (isRedelivery), so age alone decides.
        return [], "ignored:beyond_retention"
    if event.source_type in {"group", "room"}:
        if event.event_type in {"leave", "memberLeft", "unsend"}:
            return [], "ignored:group"
        return _group_notice(session, event, clock), "group_notice"
    if not event.line_user_id:
        return [], "ignored:no_user"

    line_user = get_or_create_line_user(session, event.line_user_id, clock)
    ctx = Context(
        line_user_id=event.line_user_id,
        session=session,
        clock=clock,
        settings=settings,
        line_user=line_user,
        event=payload,
        language=line_user.language,
    )
    kind = event.event_type
    if kind == "message":
        message = payload.get("message") or {}
        if message.get("type") == "text":
            return router.dispatch(ctx, Input.from_text(str(message.get("text", "")))), _by(ctx)
        user_input = Input.from_other(str(message.get("type") or "other"))
        return router.dispatch(ctx, user_input), _by(ctx)
    if kind == "postback":
        postback = payload.get("postback") or {}
        user_input = Input.from_postback(str(postback.get("data", "")), postback.get("params"))
        return router.dispatch(ctx, user_input), _by(ctx)
    if kind == "follow":
        line_user.blocked = False
        line_user.followed_at = clock.now()
    elif kind == "unfollow":
        line_user.blocked = True
        line_user.unfollowed_at = clock.now()
    result = router.dispatch_event(ctx, kind)
    if kind == "unfollow":
        result = None  # nobody to reply to
    return result or [], _by(ctx) if result is not None else f"ignored:{kind}"


def _by(ctx: Context) -> str:
    return ctx.handled_by or "none"
