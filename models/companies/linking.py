"""Linking: LINE's accountLink event links the nonce's member (single-use nonces; one member
↔ at most one LINE user, Art. 1.3), and unlinking."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import audit, link_requests
from models.companies.errors import LinkError
from models.companies.hooks import LinkChange, audience_of, notify
from models.companies.login import refuse_if_linked_elsewhere
from models.company import Member, MemberStatus
from models.line_user import LineUser, LinkNonce
from models.timeutil import Clock


def expire_nonces(session: Session, member: Member, now: datetime) -> None:
    for row in session.scalars(
        select(LinkNonce).where(
            LinkNonce.member_pk == member.id,
            or_(LinkNonce.used_at.is_(None), LinkNonce.expires_at > now),
        )
    ):
        if row.used_at is None:
            row.used_at = now


def complete_link(
    session: Session, clock: Clock, *, line_user_id: str, nonce: str, ok: bool = True
) -> Member:
    """LINE's accountLink event: link the LINE user to the nonce's member.

    Raises LinkError: `link_failed` (LINE said failed), `unknown_nonce`, `nonce_used`,
    `nonce_expired`, `nonce_other_user`, `company_inactive`, `member_retired`,
    `member_linked_elsewhere`, `line_user_linked_elsewhere`. A nonce is used at most once.
    """
    now = clock.now()
    row = link_requests.find_nonce(session, nonce)
    if row is not None and row.line_user_id != line_user_id:
        audit.record(
            session,
            f"line:{line_user_id}",
            "link_refused_nonce_other_user",
            f"member_pk:{row.member_pk}",
            {"nonce_for": row.line_user_id},
            at=now,
        )
        raise LinkError("nonce_other_user", "the nonce was issued for another LINE user")
    if not ok:
        if row is not None and row.used_at is None:
            row.used_at = now
        raise LinkError("link_failed", "LINE reported that linking failed")
    if row is None:
        raise LinkError("unknown_nonce", "no such nonce")
    if row.used_at is not None:
        raise LinkError("nonce_used", "the nonce was already used")
    row.used_at = now
    if row.expires_at <= now:
        raise LinkError("nonce_expired", "the nonce expired")
    member = session.get(Member, row.member_pk)
    assert member is not None
    if not member.company.is_active:
        raise LinkError("company_inactive", "the company is not active")
    if member.status is not MemberStatus.ACTIVE:
        raise LinkError("member_retired", "the member is retired")
    refuse_if_linked_elsewhere(session, member, line_user_id, now, LinkError)
    user = session.get(LineUser, line_user_id)
    if user is None:
        raise LinkError("unknown_line_user", "the LINE user has never talked to the bot")
    if user.member_pk == member.id:
        return member
    link_requests.close_open_requests(session, now, line_user_id)
    try:
        with session.begin_nested():
            user.member_pk = member.id
            user.linked_at = now
            session.flush()
    except IntegrityError as exc:  # a concurrent link of the same member won
        raise LinkError(
            "member_linked_elsewhere", "the member is linked to another LINE account"
        ) from exc
    audit.record(
        session,
        f"line:{line_user_id}",
        "member_linked",
        f"member:{member.member_id}",
        {"line_user_id": line_user_id},
        at=now,
    )
    notify(session, LinkChange(line_user_id, "link", audience_of(member)))
    return member


def unlink(
    session: Session, clock: Clock, line_user_id: str, *, actor: str | None = None
) -> Member | None:
    """Remove the LINE user's link; the member it was linked to (None if there was none)."""
    user = session.get(LineUser, line_user_id)
    if user is None or user.member is None:
        return None
    member = user.member
    now = clock.now()
    user.member_pk = None
    user.linked_at = None
    link_requests.close_open_requests(session, now, line_user_id)
    audit.record(
        session,
        actor or f"line:{line_user_id}",
        "member_unlinked",
        f"member:{member.member_id}",
        {"line_user_id": line_user_id},
        at=now,
    )
    notify(session, LinkChange(line_user_id, "unlink", "none"))
    return member
