"""Companies, members and LINE links: the one place for their rules.

- Issuing: companies with an 8-character code, member IDs and random initial passwords (the
  plain passwords exist only in the returned `IssuedIds`, for the CLI output and the Excel list).
- Lifecycle: add seats (within the plan's limit), suspend / resume / terminate a company,
  retire a member (points forfeited, Art. 11; link removed; the member told by a push).
- Login on the linking page with a lockout, single-use nonces, linking and unlinking
  (one member ↔ at most one LINE user, Art. 1.3).

Every change is written to the audit log. Functions flush; the caller commits (a refused login
raises `LoginError` after recording the attempt, so commit in that case too).

`add_link_listener(fn)` is the hook for whatever must follow a change of what a LINE user may
do (the rich menu): `fn(session, LinkChange)` runs inside the same transaction on link, unlink,
retirement and company suspension / resumption / termination.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from common.textnorm import normalize_code
from models import audit, link_requests, login_guard
from models.company import (
    Company,
    CompanyStatus,
    EmploymentType,
    LoginAttempt,
    LoginOutcome,
    Member,
    MemberKind,
    MemberStatus,
)
from models.events import enqueue_messages
from models.line_user import LineUser, LinkNonce
from models.passwords import (
    CODE_ALPHABET,
    generate_password,
    hash_password,
    needs_rehash,
    random_string,
    verify_password,
)
from models.points import PointsError, PointsLedger
from models.timeutil import Clock

COMPANY_CODE_LENGTH = 8
MEMBER_ID_LENGTH = 10
LINK_REQUEST_TTL = timedelta(minutes=10)  # LINE's link tokens are valid for 10 minutes
NONCE_TTL = timedelta(minutes=10)
# Login limits of the login page (`models.login_guard`, claimed before the password is
# checked): five failures lock a member ID, or a LINE user, for 15 minutes; one client address
# may try 20 logins per 15 minutes whatever it types.
ADDRESS_RULE = login_guard.Rule(
    "link_address", 20, timedelta(minutes=15), timedelta(minutes=15), reset_on_success=False
)
MEMBER_RULE = login_guard.Rule("link_member", 5, timedelta(minutes=15), timedelta(minutes=15))
LINE_USER_RULE = login_guard.Rule("link_line_user", 5, timedelta(minutes=15), timedelta(minutes=15))

# The push a member receives when retired (user-facing; polite and short).
RETIREMENT_NOTICE = (
    "ご所属企業からのご連絡により、会員資格が終了しました。\n"
    "LINEアカウントとの連携を解除し、保有ポイントはポイント利用規約第11条により失効しました。\n"
    "これまでご利用いただき、ありがとうございました。"
)


class CompanyError(Exception):
    """A refused operation, with a stable `code`."""

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details


class LoginError(CompanyError):
    """Login on the linking page refused (`invalid` never says which field was wrong)."""


class LinkError(CompanyError):
    """An accountLink event that links nothing."""


# -- results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Credential:
    member_id: str
    password: str

    def to_json(self) -> dict[str, str]:
        return {"member_id": self.member_id, "password": self.password}


@dataclass(frozen=True)
class IssuedIds:
    """IDs with their plain initial passwords: shown once (CLI, Excel), never stored."""

    company_code: str
    company_name: str
    members: list[Credential] = field(default_factory=list)
    hr_contacts: list[Credential] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "company_code": self.company_code,
            "members": [c.to_json() for c in self.members],
            "hr_contacts": [c.to_json() for c in self.hr_contacts],
        }


@dataclass(frozen=True)
class CompanySummary:
    code: str
    name: str
    status: CompanyStatus
    seat_limit: int
    seats_used: int  # active employee IDs issued
    hr_contacts: int
    linked_member_ids: list[str]


@dataclass(frozen=True)
class LinkChange:
    """What a LINE user may do changed: `audience` is what they are now ("none" when not
    linked or not in good standing, "member", "hr_contact")."""

    line_user_id: str
    reason: str  # link | unlink | retire | company_suspended | company_resumed | company_terminated
    audience: str


# -- the link hook ---------------------------------------------------------------------------

LinkListener = Callable[[Session, LinkChange], None]
_link_listeners: list[LinkListener] = []


def add_link_listener(fn: LinkListener) -> LinkListener:
    if fn not in _link_listeners:
        _link_listeners.append(fn)
    return fn


def remove_link_listener(fn: LinkListener) -> None:
    if fn in _link_listeners:
        _link_listeners.remove(fn)


def _notify(session: Session, change: LinkChange) -> None:
    for listener in list(_link_listeners):
        listener(session, change)


def audience_of(member: Member | None) -> str:
    if member is None or not member.is_active:
        return "none"
    return "hr_contact" if member.is_hr_contact else "member"


# -- lookups ---------------------------------------------------------------------------------


def normalize_company_code(value: str) -> str:
    return normalize_code(value)


def is_code_shaped(code: str) -> bool:
    return len(code) == COMPANY_CODE_LENGTH and all(c in CODE_ALPHABET for c in code)


def find_company(session: Session, code: str) -> Company | None:
    code = normalize_code(code)
    if not code:
        return None
    return session.scalar(select(Company).where(Company.code == code))


def get_company(session: Session, code: str) -> Company:
    company = find_company(session, code)
    if company is None:
        raise CompanyError("unknown_company", f"no company with code {normalize_code(code)!r}")
    return company


def find_member(session: Session, member_id: str) -> Member | None:
    key = normalize_code(member_id)
    if not key:
        return None
    return session.scalar(select(Member).where(Member.member_id == key))


def get_member(session: Session, member_id: str) -> Member:
    member = find_member(session, member_id)
    if member is None:
        raise CompanyError("unknown_member", f"no member with ID {normalize_code(member_id)!r}")
    return member


def linked_line_user(session: Session, member: Member) -> LineUser | None:
    return session.scalar(select(LineUser).where(LineUser.member_pk == member.id))


def company_for_linking(session: Session, typed: str) -> Company:
    """The company whose code the user typed in chat, if members may link to it now."""
    code = normalize_code(typed)
    if not is_code_shaped(code):
        raise CompanyError("invalid_code_format", "a company code is 8 letters and digits")
    company = find_company(session, code)
    if company is None:
        raise CompanyError("unknown_company", "no such company")
    if not company.is_active:
        raise CompanyError("company_inactive", "the company is not active", status=company.status)
    return company


# -- issuing ---------------------------------------------------------------------------------


def _new_company_code(session: Session) -> str:
    while True:
        code = random_string(CODE_ALPHABET, COMPANY_CODE_LENGTH)
        if find_company(session, code) is None:
            return code


def _new_member_id(session: Session, taken: set[str]) -> str:
    while True:
        member_id = random_string(CODE_ALPHABET, MEMBER_ID_LENGTH)
        if member_id not in taken and find_member(session, member_id) is None:
            taken.add(member_id)
            return member_id


def _issue_members(
    session: Session,
    company: Company,
    count: int,
    kind: MemberKind,
    now: datetime,
    employment_type: EmploymentType = EmploymentType.FULL_TIME,
) -> list[Credential]:
    taken: set[str] = set()
    issued: list[Credential] = []
    for _ in range(count):
        member_id = _new_member_id(session, taken)
        password = generate_password()
        session.add(
            Member(
                member_id=member_id,
                company=company,
                kind=kind,
                employment_type=employment_type,
                status=MemberStatus.ACTIVE,
                password_hash=hash_password(password),
                created_at=now,
            )
        )
        issued.append(Credential(member_id, password))
    session.flush()
    return issued


def seats_used(session: Session, company: Company) -> int:
    """Active employee IDs issued (a retired member's seat is free again)."""
    return int(
        session.scalar(
            select(func.count(Member.id)).where(
                Member.company_id == company.id,
                Member.kind == MemberKind.EMPLOYEE,
                Member.status == MemberStatus.ACTIVE,
            )
        )
        or 0
    )


def create_company(
    session: Session,
    clock: Clock,
    *,
    name: str,
    seats: int,
    contact_email: str,
    hr_contacts: int = 1,
    seat_limit: int | None = None,
    actor: str = "cli",
    code: str | None = None,
) -> IssuedIds:
    """A company with `seats` employee IDs and `hr_contacts` HR contact IDs. The plan's seat
    limit defaults to `seats`. `code` fixes the company code (demo data only)."""
    name = (name or "").strip()
    contact_email = (contact_email or "").strip()
    limit = seats if seat_limit is None else seat_limit
    if not name:
        raise CompanyError("invalid_request", "a company name is required")
    if "@" not in contact_email or len(contact_email) > 254:
        raise CompanyError("invalid_request", "a valid contact e-mail is required")
    if seats < 0 or hr_contacts < 0:
        raise CompanyError("invalid_request", "seat and HR contact counts cannot be negative")
    if limit < seats:
        raise CompanyError(
            "seat_limit", f"{seats} seats exceed the plan's limit of {limit}", limit=limit
        )
    if code is not None:
        code = normalize_code(code)
        if not is_code_shaped(code):
            raise CompanyError("invalid_request", "a company code is 8 letters and digits")
        if find_company(session, code) is not None:
            raise CompanyError("duplicate_company_code", f"company code {code} is taken")
    now = clock.now()
    company = Company(
        code=code or _new_company_code(session),
        name=name,
        seat_limit=limit,
        status=CompanyStatus.ACTIVE,
        contact_email=contact_email,
        created_at=now,
    )
    session.add(company)
    session.flush()
    members = _issue_members(session, company, seats, MemberKind.EMPLOYEE, now)
    contacts = _issue_members(session, company, hr_contacts, MemberKind.HR_CONTACT, now)
    audit.record(
        session,
        actor,
        "company_created",
        f"company:{company.code}",
        {
            "name": name,
            "seat_limit": limit,
            "member_ids": [c.member_id for c in members],
            "hr_contact_ids": [c.member_id for c in contacts],
        },
        at=now,
    )
    return IssuedIds(company.code, company.name, members, contacts)


def add_seats(
    session: Session,
    clock: Clock,
    code: str,
    count: int,
    *,
    actor: str = "cli",
    employment_type: EmploymentType = EmploymentType.FULL_TIME,
) -> IssuedIds:
    company = get_company(session, code)
    if count <= 0:
        raise CompanyError("invalid_request", "the number of seats to add must be positive")
    if company.status is CompanyStatus.TERMINATED:
        raise CompanyError("company_terminated", f"company {company.code} is terminated")
    used = seats_used(session, company)
    if used + count > company.seat_limit:
        raise CompanyError(
            "seat_limit",
            f"refused: {used} of the plan's {company.seat_limit} seats are in use; adding "
            f"{count} would exceed the limit of {company.seat_limit} "
            f"(at most {max(company.seat_limit - used, 0)} more)",
            limit=company.seat_limit,
            used=used,
        )
    now = clock.now()
    members = _issue_members(session, company, count, MemberKind.EMPLOYEE, now, employment_type)
    audit.record(
        session,
        actor,
        "seats_added",
        f"company:{company.code}",
        {"count": count, "member_ids": [c.member_id for c in members]},
        at=now,
    )
    return IssuedIds(company.code, company.name, members, [])


def set_seat_limit(
    session: Session, clock: Clock, code: str, limit: int, *, actor: str = "cli"
) -> Company:
    """A plan change: the limit cannot go below the seats in use."""
    company = get_company(session, code)
    used = seats_used(session, company)
    if limit < used:
        raise CompanyError(
            "seat_limit", f"{used} seats are in use; the limit cannot be lower", used=used
        )
    before = company.seat_limit
    company.seat_limit = limit
    audit.record(
        session,
        actor,
        "seat_limit_changed",
        f"company:{company.code}",
        {"from": before, "to": limit},
        at=clock.now(),
    )
    session.flush()
    return company


def _company_line_users(session: Session, company: Company) -> list[LineUser]:
    return list(
        session.scalars(
            select(LineUser)
            .join(Member, LineUser.member_pk == Member.id)
            .where(Member.company_id == company.id)
            .order_by(LineUser.line_user_id)
        )
    )


_STATUS_ACTIONS = {
    CompanyStatus.ACTIVE: "company_resumed",
    CompanyStatus.SUSPENDED: "company_suspended",
    CompanyStatus.TERMINATED: "company_terminated",
}


def set_company_status(
    session: Session, clock: Clock, code: str, status: CompanyStatus, *, actor: str = "cli"
) -> Company:
    """Suspend, resume or terminate. Termination is final and ends every membership (points
    forfeited, Art. 11); links are kept so members get a polite answer instead of features."""
    company = get_company(session, code)
    status = CompanyStatus(status)
    if company.status is status:
        return company
    if company.status is CompanyStatus.TERMINATED:
        raise CompanyError("company_terminated", f"company {company.code} is terminated (final)")
    now = clock.now()
    before = company.status
    company.status = status
    company.status_changed_at = now
    session.flush()
    forfeited: list[str] = []
    if status is CompanyStatus.TERMINATED:
        for member in session.scalars(
            select(Member)
            .where(Member.company_id == company.id, Member.status == MemberStatus.ACTIVE)
            .order_by(Member.id)
        ):
            if _forfeit_points(session, clock, member, "company_terminated"):
                forfeited.append(member.member_id)
    audit.record(
        session,
        actor,
        _STATUS_ACTIONS[status],
        f"company:{company.code}",
        {"from": before.value, "to": status.value, "points_forfeited": forfeited},
        at=now,
    )
    reason = _STATUS_ACTIONS[status]
    for line_user in _company_line_users(session, company):
        _notify(session, LinkChange(line_user.line_user_id, reason, audience_of(line_user.member)))
    return company


def _forfeit_points(session: Session, clock: Clock, member: Member, why: str) -> bool:
    """Art. 11 through the points ledger; False if they were already forfeited."""
    try:
        PointsLedger(session, clock).forfeit(
            member, reason=f"会員資格の喪失（{why}）", key=f"forfeit:{member.member_id}"
        )
    except PointsError as exc:
        if exc.code == "already_forfeited":
            return False
        raise
    return True


# -- member lifecycle ------------------------------------------------------------------------


@dataclass(frozen=True)
class Retirement:
    member_id: str
    unlinked_line_user_id: str | None
    points_forfeited: bool
    notified: bool


def retire_member(
    session: Session,
    clock: Clock,
    member_id: str,
    *,
    actor: str = "cli",
    notice: Sequence[dict[str, Any]] | None = None,
) -> Retirement:
    """End a membership: status retired, points forfeited (Art. 11), LINE link removed, and
    the member told by a push (queued in the outbox, in this transaction)."""
    member = get_member(session, member_id)
    if member.status is MemberStatus.RETIRED:
        raise CompanyError("already_retired", f"member {member.member_id} is already retired")
    now = clock.now()
    member.status = MemberStatus.RETIRED
    member.retired_at = now
    session.flush()
    forfeited = _forfeit_points(session, clock, member, "retired")
    _expire_nonces(session, member, now)
    line_user = linked_line_user(session, member)
    notified = False
    unlinked: str | None = None
    if line_user is not None:
        unlinked = line_user.line_user_id
        line_user.member_pk = None
        line_user.linked_at = None
        session.flush()
        if not line_user.blocked:
            enqueue_messages(
                session,
                dedupe_key=f"retire:{member.id}",
                to=[line_user.line_user_id],
                messages=list(notice or [{"type": "text", "text": RETIREMENT_NOTICE}]),
                now=now,
            )
            notified = True
        _notify(session, LinkChange(line_user.line_user_id, "retire", "none"))
    audit.record(
        session,
        actor,
        "member_retired",
        f"member:{member.member_id}",
        {
            "company": member.company.code,
            "unlinked_line_user": unlinked,
            "points_forfeited": forfeited,
        },
        at=now,
    )
    return Retirement(member.member_id, unlinked, forfeited, notified)


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


# -- login and lockout -----------------------------------------------------------------------


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
    _refuse_if_linked_elsewhere(session, member, line_user_id, now, LoginError)
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


def _refuse_if_linked_elsewhere(
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


# -- linking ---------------------------------------------------------------------------------


def _expire_nonces(session: Session, member: Member, now: datetime) -> None:
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
    _refuse_if_linked_elsewhere(session, member, line_user_id, now, LinkError)
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
    _notify(session, LinkChange(line_user_id, "link", audience_of(member)))
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
    _notify(session, LinkChange(line_user_id, "unlink", "none"))
    return member


# -- HR contacts -----------------------------------------------------------------------------


def company_summary(session: Session, company: Company) -> CompanySummary:
    linked = list(
        session.scalars(
            select(Member.member_id)
            .join(LineUser, LineUser.member_pk == Member.id)
            .where(Member.company_id == company.id, Member.kind == MemberKind.EMPLOYEE)
            .order_by(Member.member_id)
        )
    )
    hr = int(
        session.scalar(
            select(func.count(Member.id)).where(
                Member.company_id == company.id,
                Member.kind == MemberKind.HR_CONTACT,
                Member.status == MemberStatus.ACTIVE,
            )
        )
        or 0
    )
    return CompanySummary(
        code=company.code,
        name=company.name,
        status=company.status,
        seat_limit=company.seat_limit,
        seats_used=seats_used(session, company),
        hr_contacts=hr,
        linked_member_ids=linked,
    )
