"""Demo data for `make run`: one company with fixed codes and passwords, some points.

Idempotent: running it again changes nothing it need not and returns the same values. The
fixed passwords are for the local demo only (never seed them into a real database).

The demo is reconciled at every start, so that what the banner offers works: links to LINE
users the emulator no longer knows are removed (the emulator forgot its users), a spare
employee is added when every demo employee is retired or linked, and each login says whether
it can be used (`DemoLogin.state`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import audit
from models.companies import LinkChange, audience_of, find_company, find_member, unlink
from models.company import Company, CompanyStatus, Member, MemberKind, MemberStatus
from models.demo_texts import DEMO_COMPANY_NAME, DEMO_GRANT_REASON
from models.line_user import LineUser
from models.passwords import hash_password, verify_password
from models.points import PointsLedger
from models.richmenu import record_link_change
from models.timeutil import Clock

DEMO_COMPANY_CODE = "DEMA2345"
DEMO_CONTACT_EMAIL = "hr@demo.example.jp"
DEMO_SEAT_LIMIT = 10
DEMO_ACTOR = "make run"
# (member ID, password, kind, points granted)
DEMO_MEMBERS: list[tuple[str, str, MemberKind, int]] = [
    ("DEMAM2345A", "demo-pass-A", MemberKind.EMPLOYEE, 1200),
    ("DEMAM2345B", "demo-pass-B", MemberKind.EMPLOYEE, 500),
    ("DEMAM2345C", "demo-pass-C", MemberKind.EMPLOYEE, 0),
    ("DEMAH2345H", "demo-pass-H", MemberKind.HR_CONTACT, 0),
]
# Employees added, one at a time, when no demo employee can log in any more (within the seats).
SPARE_LETTERS = "DEFGJK"
SPARE_POINTS = 800

AVAILABLE = "available"  # active, not linked: log in with it from any LINE user
LINKED = "linked"  # linked to a LINE user the emulator knows (`line_user_id`)
RETIRED = "retired"  # not active (retired, or the company is not active)
PASSWORD_CHANGED = "password_changed"  # reset in the console: the demo password is not it


@dataclass(frozen=True)
class DemoLogin:
    member_id: str
    password: str
    kind: MemberKind
    state: str
    line_user_id: str | None = None

    @property
    def usable(self) -> bool:
        return self.state == AVAILABLE


def _spare(letter: str) -> tuple[str, str, MemberKind, int]:
    return (f"DEMAM2345{letter}", f"demo-pass-{letter}", MemberKind.EMPLOYEE, SPARE_POINTS)


def _demo_members(session: Session, company: Company) -> list[tuple[str, str, MemberKind, int]]:
    """The fixed members and every spare added in an earlier run."""
    spares = [_spare(x) for x in SPARE_LETTERS if find_member(session, _spare(x)[0]) is not None]
    return DEMO_MEMBERS + spares


def _ensure_member(
    session: Session,
    clock: Clock,
    company: Company,
    entry: tuple[str, str, MemberKind, int],
) -> Member:
    member_id, password, kind, points = entry
    member = find_member(session, member_id)
    if member is None:
        member = Member(
            member_id=member_id,
            company=company,
            kind=kind,
            status=MemberStatus.ACTIVE,
            password_hash=hash_password(password),
            created_at=clock.now(),
        )
        session.add(member)
        session.flush()
    if points and member.is_active:
        ref = f"demo-grant-{member_id}"
        PointsLedger(session, clock).grant(member, points, ref, DEMO_GRANT_REASON, key=ref)
    return member


def _login(session: Session, member: Member, password: str) -> DemoLogin:
    user = session.scalar(select(LineUser).where(LineUser.member_pk == member.id))
    if not member.is_active:
        state = RETIRED
    elif not verify_password(member.password_hash, password):
        state = PASSWORD_CHANGED
    elif user is not None:
        state = LINKED
    else:
        state = AVAILABLE
    return DemoLogin(
        member.member_id, password, member.kind, state, user.line_user_id if user else None
    )


def forget_unknown_links(
    session: Session, clock: Clock, company: Company, known: Collection[str]
) -> list[str]:
    """Unlink the demo company's members from LINE users the emulator does not know (their
    chats are gone: nobody could use or undo those links). The LINE user ids unlinked."""
    rows = session.scalars(
        select(LineUser)
        .join(Member, LineUser.member_pk == Member.id)
        .where(Member.company_id == company.id)
    ).all()
    gone = [row.line_user_id for row in rows if row.line_user_id not in known]
    for line_user_id in gone:
        unlink(session, clock, line_user_id, actor=DEMO_ACTOR)
    return gone


def link_ready_user(session: Session, clock: Clock, line_user_id: str, member_id: str) -> bool:
    """Link a LINE user of the emulator to a demo member directly (the ready-made HR contact
    of the chat page), unless either is linked already or the member cannot be used. True if
    the link is (now) there."""
    member = find_member(session, member_id)
    if member is None or not member.is_active:
        return False
    user = session.get(LineUser, line_user_id)
    if user is not None and user.member_pk is not None:
        return user.member_pk == member.id
    if session.scalar(select(LineUser).where(LineUser.member_pk == member.id)) is not None:
        return False
    now = clock.now()
    if user is None:
        user = LineUser(line_user_id=line_user_id, first_seen_at=now, blocked=False)
        session.add(user)
    user.member_pk = member.id
    user.linked_at = now
    session.flush()
    audit.record(
        session,
        DEMO_ACTOR,
        "member_linked",
        f"member:{member.member_id}",
        {"line_user_id": line_user_id, "demo": True},
        at=now,
    )
    record_link_change(session, LinkChange(line_user_id, "link", audience_of(member)))
    return True


def _company(session: Session, clock: Clock) -> Company:
    company = find_company(session, DEMO_COMPANY_CODE)
    if company is None:
        company = Company(
            code=DEMO_COMPANY_CODE,
            name=DEMO_COMPANY_NAME,
            seat_limit=DEMO_SEAT_LIMIT,
            status=CompanyStatus.ACTIVE,
            contact_email=DEMO_CONTACT_EMAIL,
            created_at=clock.now(),
        )
        session.add(company)
        session.flush()
    return company


def seed_demo(
    session: Session, clock: Clock, *, known_line_users: Collection[str] | None = None
) -> dict[str, Any]:
    """Create what is missing and reconcile (see the module); return the company code, the
    first usable employee's ID and password, the HR contact's, and every login (`logins`).

    `known_line_users`: the LINE users the emulator knows (None: do not reconcile links)."""
    company = _company(session, clock)
    entries = _demo_members(session, company)
    for entry in entries:
        _ensure_member(session, clock, company, entry)
    if known_line_users is not None:
        forget_unknown_links(session, clock, company, known_line_users)
    logins = [_login(session, member, password) for member, password in _members(session, entries)]
    employees = [x for x in logins if x.kind is MemberKind.EMPLOYEE]
    if not any(x.usable for x in employees):
        spare = _next_spare(session)
        if spare is not None:
            added = _ensure_member(session, clock, company, spare)
            logins.append(_login(session, added, spare[1]))
    usable = next((x for x in logins if x.kind is MemberKind.EMPLOYEE and x.usable), None)
    hr = next(x for x in logins if x.kind is MemberKind.HR_CONTACT)
    return {
        "company_code": DEMO_COMPANY_CODE,
        "company_name": DEMO_COMPANY_NAME,
        "member_id": usable.member_id if usable else None,
        "password": usable.password if usable else None,
        "hr_member_id": hr.member_id,
        "hr_password": hr.password,
        "logins": logins,
    }


def _members(
    session: Session, entries: list[tuple[str, str, MemberKind, int]]
) -> list[tuple[Member, str]]:
    found = []
    for member_id, password, _kind, _points in entries:
        member = find_member(session, member_id)
        assert member is not None
        found.append((member, password))
    return found


def _next_spare(session: Session) -> tuple[str, str, MemberKind, int] | None:
    for letter in SPARE_LETTERS:
        if find_member(session, _spare(letter)[0]) is None:
            return _spare(letter)
    return None
