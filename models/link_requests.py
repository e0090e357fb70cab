"""The short-lived records of LINE's account-link flow: link requests and nonces.

A link request is made when the user types a valid company code in chat; the login page finds
it by the LINE user it was made for, once LINE has vouched for the browser's user (the LIFF ID
token), so nothing secret travels in the chat. A LINE user has at most one open request: a
newer one, a cancel, an unlink or a completed link closes the older ones, and with them any
nonce not yet used (a login page left open, or a login that has not reached LINE yet, links
nothing afterwards).

Keys, link tokens and nonces are stored as SHA-256 digests only.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from common.textnorm import normalize_code
from models.company import Member
from models.line_user import LinkNonce, LinkRequest
from models.timeutil import Clock

LINK_REQUEST_TTL = timedelta(minutes=10)  # LINE's link tokens are valid for 10 minutes
NONCE_TTL = timedelta(minutes=10)


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def register_link_request(
    session: Session, clock: Clock, *, line_user_id: str, company_code: str
) -> None:
    """A new link request for the LINE user, closing the user's older ones."""
    now = clock.now()
    close_open_requests(session, now, line_user_id)
    session.add(
        LinkRequest(
            key_hash=digest(secrets.token_urlsafe(32)),  # a random row id, never shown
            line_user_id=line_user_id,
            company_code=normalize_code(company_code),
            created_at=now,
            expires_at=now + LINK_REQUEST_TTL,
        )
    )
    session.flush()


def open_link_request(session: Session, clock: Clock, line_user_id: str) -> LinkRequest | None:
    """The LINE user's unused, unexpired link request (the newest, should there be two)."""
    return session.scalar(
        select(LinkRequest)
        .where(
            LinkRequest.line_user_id == line_user_id,
            LinkRequest.used_at.is_(None),
            LinkRequest.expires_at > clock.now(),
        )
        .order_by(LinkRequest.created_at.desc())
        .limit(1)
    )


def close_open_requests(session: Session, now: datetime, line_user_id: str) -> int:
    """Close the LINE user's open link requests and unused nonces; how many were open."""
    closed = 0
    for request in session.scalars(
        select(LinkRequest).where(
            LinkRequest.line_user_id == line_user_id, LinkRequest.used_at.is_(None)
        )
    ):
        request.used_at = now
        closed += 1
    for nonce in session.scalars(
        select(LinkNonce).where(LinkNonce.line_user_id == line_user_id, LinkNonce.used_at.is_(None))
    ):
        nonce.used_at = now
        closed += 1
    session.flush()
    return closed


def attach_link_token(request: LinkRequest, link_token: str) -> None:
    """LINE issued this link token for the request's user: the one the page accepts back."""
    request.link_token_hash = digest(link_token)


def link_token_matches(request: LinkRequest, link_token: str) -> bool:
    expected = request.link_token_hash
    return bool(expected and link_token) and hmac.compare_digest(expected, digest(link_token))


def issue_nonce(session: Session, clock: Clock, request: LinkRequest, member: Member) -> str:
    """A fresh nonce for LINE's account-link URL, bound to the member and the LINE user; the
    link request is used up."""
    now = clock.now()
    nonce = secrets.token_urlsafe(32)
    session.add(
        LinkNonce(
            nonce_hash=digest(nonce),
            member_pk=member.id,
            line_user_id=request.line_user_id,
            created_at=now,
            expires_at=now + NONCE_TTL,
        )
    )
    request.used_at = now
    session.flush()
    return nonce


def find_nonce(session: Session, nonce: str) -> LinkNonce | None:
    return session.get(LinkNonce, digest(nonce)) if nonce else None
