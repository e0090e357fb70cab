"""The link hook: whatever must follow a change of what a LINE user may do (the rich menu).

`fn(session, LinkChange)` runs inside the same transaction on link, unlink, retirement and
company suspension / resumption / termination.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from models.company import Member


@dataclass(frozen=True)
class LinkChange:
    """What a LINE user may do changed: `audience` is what they are now ("none" when not
    linked or not in good standing, "member", "hr_contact")."""

    line_user_id: str
    reason: str  # link | unlink | retire | company_suspended | company_resumed | company_terminated
    audience: str


LinkListener = Callable[[Session, LinkChange], None]
_link_listeners: list[LinkListener] = []


def add_link_listener(fn: LinkListener) -> LinkListener:
    if fn not in _link_listeners:
        _link_listeners.append(fn)
    return fn


def remove_link_listener(fn: LinkListener) -> None:
    if fn in _link_listeners:
        _link_listeners.remove(fn)


def notify(session: Session, change: LinkChange) -> None:
    for listener in list(_link_listeners):
        listener(session, change)


def audience_of(member: Member | None) -> str:
    if member is None or not member.is_active:
        return "none"
    return "hr_contact" if member.is_hr_contact else "member"
