"""The guard member features call first: linked, active member of an active company.

def balance(ctx, user_input):
    refused = require_active_member(ctx)
    if refused is not None:
        return refused
    ...
"""

from __future__ import annotations

from chat.messages import Message, message_action, text
from chat.router import Context
from handlers import linking_texts as t
from models.company import CompanyStatus, Member, MemberStatus


def _not_linked() -> list[Message]:
    return [text(t.NOT_LINKED, quick=[message_action(t.LINK_LABEL, "連携")])]


def refusal_for(member: Member | None) -> list[Message] | None:
    """None if `member` may use member features; otherwise the polite answer."""
    if member is None or member.status is not MemberStatus.ACTIVE:
        return _not_linked()  # a retired member is treated as not linked
    if member.company.status is CompanyStatus.SUSPENDED:
        return [text(t.SUSPENDED)]
    if member.company.status is CompanyStatus.TERMINATED:
        return [text(t.TERMINATED)]
    return None


def require_active_member(ctx: Context) -> list[Message] | None:
    """None if the LINE user may use member features now; otherwise the messages to reply."""
    return refusal_for(ctx.member)


def require_hr_contact(ctx: Context) -> list[Message] | None:
    """As `require_active_member`, and the member must be an HR contact."""
    refused = require_active_member(ctx)
    if refused is not None:
        return refused
    assert ctx.member is not None
    if not ctx.member.is_hr_contact:
        return [text(t.HR_ONLY)]
    return None
