"""Login on the linking page with a lockout (`models.login_guard`, claimed before the password
is checked), and a password reset that clears the member's lockout.

A refused login raises `LoginError` after recording the attempt: commit in that case too."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from common.textnorm import normalize_code
from models import audit, login_guard
from models.companies.errors import CompanyError, LoginError
from models.companies.lookups import find_company, find_member, get_member, linked_line_user
from models.company import LoginAttempt, LoginOutcome, Member, MemberStatus
from models.line_user import LineUser
from models.passwords import generate_password, hash_password, needs_rehash, verify_password
from models.timeutil import Clock

# Login limits of the login page (the lockout rule of `models.login_guard`, claimed before the
# password is checked): five failures lock a member ID, or a LINE user, for 15 minutes; one
# client address may try 20 logins per 15 minutes whatever it types.
ADDRESS_RULE = login_guard.address_limit("link_address")
MEMBER_RULE = login_guard.lockout("link_member")
LINE_USER_RULE = login_guard.lockout("link_line_user")


def reset_password(session: Session, clock: Clock, member_id: str, *, actor: str = "cli") -> str:
    """A new random password (returned once) and the member's lockout cleared."""
    member = get_member(session, member_id)
    if member.status is MemberStatus.RETIRED:
        raise CompanyError("already_retired", f"member {member.member_id} is retired")
    now = clock.now()
    password = generate_password()
    member.password_hash = hash_password(password)
    member.password_changed_at = now
    session.add(
        LoginAttempt(member_key=member.member_id, outcome=LoginOutcome.RESET, counts=False, at=now)
    )
    login_guard.clear(session, MEMBER_RULE, member.member_id, now)
    audit.record(session, actor, "password_reset", f"member:{member.member_id}", {}, at=now)
    session.flush()
    return password


def _guards(
    member_key: str, line_user_id: str | None, remote_addr: str | None
) -> list[tuple[login_guard.Rule, str | None]]:
    return [
        (ADDRESS_RULE, remote_addr),
        (MEMBER_RULE, member_key),
        (LINE_USER_RULE, line_user_id),
    ]


def check_login(
    session: Session,
    clock: Clock,
    *,
    company_code: str,
    member_id: str,
    password: str,
    line_user_id: str | None,
    remote_addr: str | None = None,
) -> Member:
    """The member whose credentials these are, if they may link now.

    Raises LoginError: `locked` (with `until`), `invalid` (whatever was wrong), then — only
    once the password was right — `company_inactive`, `member_retired`,
    `member_linked_elsewhere` (logged for the back office), `line_user_linked_elsewhere`.
    The attempt is flushed before raising: commit it.
    """
    now = clock.now()
    member_key = normalize_code(member_id)[:64]
    checks = _guards(member_key, line_user_id, remote_addr)
    until = login_guard.claim(session, now, checks)  # before any password is checked
    if until is not None:
        _attempt(session, member_key, line_user_id, LoginOutcome.LOCKED, now)
        raise LoginError("locked", "too many failed logins", until=until)
    company = find_company(session, company_code)
    member = find_member(session, member_id)
    valid = company is not None and member is not None and member.company_id == company.id
    password_ok = verify_password(member.password_hash if (valid and member) else None, password)
    if not (valid and password_ok and member is not None):
        _attempt(session, member_key, line_user_id, LoginOutcome.FAILURE, now)
        raise LoginError("invalid", "the company code, member ID or password is wrong")
    _attempt(session, member_key, line_user_id, LoginOutcome.SUCCESS, now)
    login_guard.succeeded(session, now, checks)
    if needs_rehash(member.password_hash):
        member.password_hash = hash_password(password)
    if not member.company.is_active:
        raise LoginError("company_inactive", "the company is not active")
    if member.status is not MemberStatus.ACTIVE:
        raise LoginError("member_retired", "the member is retired")
    refuse_if_linked_elsewhere(session, member, line_user_id, now, LoginError)
    return member


def _attempt(
    session: Session,
    member_key: str,
    line_user_id: str | None,
    outcome: LoginOutcome,
    now: datetime,
) -> None:
    session.add(
        LoginAttempt(
            member_key=member_key,
            line_user_id=line_user_id,
            outcome=outcome,
            counts=outcome is LoginOutcome.FAILURE,
            at=now,
        )
    )
    session.flush()


def refuse_if_linked_elsewhere(
    session: Session,
    member: Member,
    line_user_id: str | None,
    now: datetime,
    error: type[CompanyError],
) -> None:
    holder = linked_line_user(session, member)
    if holder is not None and holder.line_user_id != line_user_id:
        audit.record(
            session,
            f"line:{line_user_id}" if line_user_id else "anonymous",
            "link_refused_member_linked_elsewhere",
            f"member:{member.member_id}",
            {"attempted_by": line_user_id, "linked_to": holder.line_user_id},
            at=now,
        )
        raise error("member_linked_elsewhere", "the member is linked to another LINE account")
    if line_user_id:
        user = session.get(LineUser, line_user_id)
        if user is not None and user.member_pk not in (None, member.id):
            raise error("line_user_linked_elsewhere", "this LINE user is linked to another member")
