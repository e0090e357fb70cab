"""Lists of live chats for the console and scripts, and their retention."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from models import handoff_texts as t
from models.handoff import SENDER_USER, Handoff, HandoffMessage, HandoffStatus
from models.timeutil import to_jst

# -- lists (console, CLI) ---------------------------------------------------------------------


def search(session: Session, status: str | None, limit: int = 200) -> list[Handoff]:
    stmt = select(Handoff).order_by(Handoff.last_activity_at.desc(), Handoff.id.desc())
    if status:
        stmt = stmt.where(Handoff.status == status)
    return list(session.scalars(stmt.limit(limit)))


def counts(session: Session) -> dict[str, int]:
    rows = session.execute(select(Handoff.status, func.count()).group_by(Handoff.status)).all()
    found = {status: int(n) for status, n in rows}
    return {s.value: found.get(s.value, 0) for s in HandoffStatus}


def unread_counts(session: Session, ids: list[int]) -> dict[int, int]:
    """Per handoff: the user's messages no operator has opened yet (one query)."""
    if not ids:
        return {}
    rows = session.execute(
        select(HandoffMessage.handoff_id, func.count())
        .where(
            HandoffMessage.handoff_id.in_(ids),
            HandoffMessage.sender == SENDER_USER,
            HandoffMessage.read_at.is_(None),
            HandoffMessage.before_handoff.is_(False),
        )
        .group_by(HandoffMessage.handoff_id)
    ).all()
    return {handoff_id: int(n) for handoff_id, n in rows}


def closed_by_label(handoff: Handoff) -> str:
    """Who ended the chat, for people: an operator's e-mail, 「会員 …」, never a LINE id."""
    actor = handoff.closed_by or ""
    kind, _, who = actor.partition(":")
    if kind == "operator":
        return who
    if kind == "member":
        return t.MEMBER.format(member_id=who)
    if kind == "system":
        return t.CLOSED_BY_SYSTEM
    return t.CLOSED_BY_USER if actor else "-"


def user_label(handoff: Handoff) -> str:
    """Who the user is, for people: never a raw LINE id."""
    if handoff.member is not None:
        return t.MEMBER.format(member_id=handoff.member.member_id)
    return t.UNLINKED_USER.format(id=handoff.id)


# -- retention -------------------------------------------------------------------------------


def prune_transcripts(session: Session, now: datetime, days: int) -> int:
    """Delete transcript lines written more than `days` ago, and closed handoffs (with their
    notes) closed that long ago; returns how many lines went."""
    cutoff = now - timedelta(days=days)
    old = select(Handoff.id).where(
        Handoff.status == HandoffStatus.CLOSED.value, Handoff.closed_at < cutoff
    )
    result = session.execute(
        delete(HandoffMessage).where(
            (HandoffMessage.at < cutoff) | HandoffMessage.handoff_id.in_(old)
        )
    )
    session.execute(delete(Handoff).where(Handoff.id.in_(old)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def to_dict(handoff: Handoff, assignee_email: str | None) -> dict[str, Any]:
    """A handoff for scripts (`benesapo handoffs list --json`): who and when, never the
    transcript or a LINE id; times in JST."""

    def jst(moment: datetime | None) -> str | None:
        return to_jst(moment).isoformat() if moment else None

    member = handoff.member
    return {
        "id": handoff.id,
        "status": handoff.status,
        "status_label": handoff.status_label,
        "live": handoff.live,
        "user": user_label(handoff),
        "member_id": member.member_id if member else None,
        "company_code": member.company.code if member else None,
        "assignee": assignee_email,
        "opened_at": jst(handoff.opened_at),
        "out_of_hours": handoff.out_of_hours,
        "last_activity_at": jst(handoff.last_activity_at),
        "closed_at": jst(handoff.closed_at),
        "close_reason": handoff.close_reason,
        "messages": len(handoff.messages),
        "unread": sum(1 for m in handoff.messages if m.sender == SENDER_USER and m.read_at is None),
    }
