"""Companies, members, lockout, nonces and links: the service rules (models.companies)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models import audit, passwords
from models.companies import (
    CompanyError,
    LinkChange,
    LinkError,
    LoginError,
    add_link_listener,
    add_seats,
    check_login,
    company_for_linking,
    company_summary,
    complete_link,
    create_company,
    get_member,
    remove_link_listener,
    reset_password,
    retire_member,
    set_company_status,
    set_seat_limit,
    unlink,
)
from models.company import CompanyStatus, Member, MemberKind, MemberStatus
from models.events import OutgoingMessage
from models.line_user import LineUser, LinkNonce
from models.link_requests import (
    attach_link_token,
    close_open_requests,
    issue_nonce,
    link_token_matches,
    open_link_request,
    register_link_request,
)
from models.passwords import CODE_ALPHABET
from models.points import PointsLedger

pytestmark = pytest.mark.usefixtures("cheap_hashing")


def line_user(db, clock, user_id: str = "U" + "a" * 32) -> LineUser:
    user = LineUser(line_user_id=user_id, first_seen_at=clock.now(), blocked=False)
    db.add(user)
    db.flush()
    return user


def login(db, clock, issued, credential, user_id, password=None):
    return check_login(
        db,
        clock,
        company_code=issued.company_code,
        member_id=credential.member_id,
        password=credential.password if password is None else password,
        line_user_id=user_id,
    )


def link_request(db, clock, user_id, company_code):
    """A new link request, as the chat makes it; the row the login page finds for the user."""
    register_link_request(db, clock, line_user_id=user_id, company_code=company_code)
    return open_link_request(db, clock, user_id)


def link(db, clock, issued, credential, user_id):
    """The whole linking flow at the service level; returns the nonce used."""
    request = link_request(db, clock, user_id, issued.company_code)
    member = login(db, clock, issued, credential, user_id)
    nonce = issue_nonce(db, clock, request, member)
    complete_link(db, clock, line_user_id=user_id, nonce=nonce)
    return nonce


def test_create_company_issues_codes_ids_and_hashed_passwords(db, clock):
    issued = create_company(
        db, clock, name="テスト株式会社", seats=3, contact_email="hr@example.jp", hr_contacts=2
    )
    assert len(issued.company_code) == 8
    assert set(issued.company_code) <= set(CODE_ALPHABET)
    assert not set(issued.company_code) & set("O0I1L")
    assert len(issued.members) == 3 and len(issued.hr_contacts) == 2
    ids = [c.member_id for c in issued.members + issued.hr_contacts]
    assert len(set(ids)) == 5
    for credential in issued.members:
        member = get_member(db, credential.member_id)
        assert member.kind is MemberKind.EMPLOYEE
        assert credential.password not in member.password_hash
        assert member.password_hash.startswith("$argon2id$")
        assert passwords.verify_password(member.password_hash, credential.password)
    assert get_member(db, issued.hr_contacts[0].member_id).kind is MemberKind.HR_CONTACT
    assert issued.to_json()["company_code"] == issued.company_code
    (entry,) = audit.entries(db, action="company_created")
    assert entry.target == f"company:{issued.company_code}"
    assert "password" not in str(entry.details).lower()


def test_generated_passwords_are_random_and_mixed():
    values = {passwords.generate_password() for _ in range(50)}
    assert len(values) == 50
    for value in values:
        assert len(value) == 10
        assert any(c.isdigit() for c in value) and any(c.islower() for c in value)
        assert not set(value) & set("O0I1lL")


def test_add_seats_refused_above_the_plan_limit_with_the_limit_in_the_message(db, clock):
    issued = create_company(
        db, clock, name="A社", seats=2, seat_limit=3, contact_email="a@example.jp"
    )
    more = add_seats(db, clock, issued.company_code, 1)
    assert len(more.members) == 1
    with pytest.raises(CompanyError) as refused:
        add_seats(db, clock, issued.company_code, 1)
    assert refused.value.code == "seat_limit" and "3" in refused.value.message
    # A retired member's seat is free again; a plan change raises the limit.
    retire_member(db, clock, issued.members[0].member_id)
    assert len(add_seats(db, clock, issued.company_code.lower(), 1).members) == 1
    set_seat_limit(db, clock, issued.company_code, 5)
    assert len(add_seats(db, clock, issued.company_code, 2).members) == 2
    with pytest.raises(CompanyError):
        set_seat_limit(db, clock, issued.company_code, 1)


def test_company_code_typed_on_a_phone_is_found_and_checked(db, clock):
    issued = create_company(db, clock, name="B社", seats=1, contact_email="b@example.jp")
    code = issued.company_code
    typed = (
        " "
        + code[:4].lower()
        + "－"
        + code[4:].translate({ord(c): ord(c) + 0xFEE0 for c in code[4:]})
    )
    assert company_for_linking(db, typed).code == code
    with pytest.raises(CompanyError) as bad:
        company_for_linking(db, "ABC")
    assert bad.value.code == "invalid_code_format"
    with pytest.raises(CompanyError) as unknown:
        company_for_linking(db, "ZZZZZZZZ" if code != "ZZZZZZZZ" else "YYYYYYYY")
    assert unknown.value.code == "unknown_company"
    set_company_status(db, clock, code, CompanyStatus.SUSPENDED)
    with pytest.raises(CompanyError) as inactive:
        company_for_linking(db, code)
    assert inactive.value.code == "company_inactive"


def test_login_never_says_which_field_was_wrong(db, clock):
    a = create_company(db, clock, name="A社", seats=1, contact_email="a@example.jp")
    b = create_company(db, clock, name="B社", seats=1, contact_email="b@example.jp")
    user = line_user(db, clock).line_user_id
    cases = [
        dict(company_code=a.company_code, member_id=a.members[0].member_id, password="wrong"),
        dict(company_code=a.company_code, member_id="NOSUCHID22", password="x"),
        dict(
            company_code=b.company_code,
            member_id=a.members[0].member_id,
            password=a.members[0].password,
        ),
        dict(company_code="ZZZZZZZZ", member_id=a.members[0].member_id, password="x"),
    ]
    for case in cases:
        with pytest.raises(LoginError) as refused:
            check_login(db, clock, line_user_id=user, **case)
        assert refused.value.code == "invalid"
    member = check_login(
        db,
        clock,
        company_code=a.company_code.lower(),
        member_id=a.members[0].member_id.lower(),
        password=a.members[0].password,
        line_user_id=user,
    )
    assert member.member_id == a.members[0].member_id


def test_five_failures_lock_the_member_id_for_15_minutes(db, clock):
    issued = create_company(db, clock, name="C社", seats=1, contact_email="c@example.jp")
    credential = issued.members[0]
    users = [line_user(db, clock, f"U{i:032d}").line_user_id for i in range(6)]
    for i in range(5):  # from five different LINE users: the member ID is what is locked
        with pytest.raises(LoginError):
            login(db, clock, issued, credential, users[i], password="bad")
        clock.advance(minutes=2)
    with pytest.raises(LoginError) as locked:
        login(db, clock, issued, credential, users[5])  # right password, still refused
    assert locked.value.code == "locked"
    clock.advance(minutes=12)  # 14 minutes after the fifth failure
    with pytest.raises(LoginError) as still:
        login(db, clock, issued, credential, users[5])
    assert still.value.code == "locked"
    clock.advance(minutes=1, seconds=1)
    assert login(db, clock, issued, credential, users[5]).member_id == credential.member_id


def test_failures_spread_over_more_than_15_minutes_do_not_lock(db, clock):
    issued = create_company(db, clock, name="D社", seats=1, contact_email="d@example.jp")
    user = line_user(db, clock).line_user_id
    for _ in range(8):
        with pytest.raises(LoginError) as refused:
            login(db, clock, issued, issued.members[0], user, password="bad")
        assert refused.value.code == "invalid"
        clock.advance(minutes=4)
    assert login(db, clock, issued, issued.members[0], user).id is not None


def test_five_failures_lock_the_line_user_across_member_ids(db, clock):
    issued = create_company(db, clock, name="E社", seats=6, contact_email="e@example.jp")
    user = line_user(db, clock).line_user_id
    for credential in issued.members[:5]:
        with pytest.raises(LoginError):
            login(db, clock, issued, credential, user, password="bad")
    with pytest.raises(LoginError) as locked:
        login(db, clock, issued, issued.members[5], user)
    assert locked.value.code == "locked"
    # Another LINE user with that member's own credentials is not affected.
    other = line_user(db, clock, "U" + "b" * 32).line_user_id
    assert login(db, clock, issued, issued.members[5], other).id is not None


def test_password_reset_clears_the_lock_and_replaces_the_password(db, clock):
    issued = create_company(db, clock, name="F社", seats=1, contact_email="f@example.jp")
    credential = issued.members[0]
    for i in range(5):
        with pytest.raises(LoginError):
            login(db, clock, issued, credential, f"U{i:032d}", password="bad")
    new_password = reset_password(db, clock, credential.member_id)
    assert new_password != credential.password
    with pytest.raises(LoginError):
        login(db, clock, issued, credential, None)  # the old password no longer works
    assert login(db, clock, issued, credential, None, password=new_password).id
    assert audit.entries(db, action="password_reset")


def test_link_with_a_single_use_nonce_bound_to_the_line_user(db, clock):
    issued = create_company(db, clock, name="G社", seats=1, contact_email="g@example.jp")
    user = line_user(db, clock)
    changes: list[LinkChange] = []
    listener = add_link_listener(lambda _s, change: changes.append(change))
    try:
        nonce = link(db, clock, issued, issued.members[0], user.line_user_id)
    finally:
        remove_link_listener(listener)
    db.refresh(user)
    assert user.member is not None and user.member.member_id == issued.members[0].member_id
    assert changes == [LinkChange(user.line_user_id, "link", "member")]
    with pytest.raises(LinkError) as replay:
        complete_link(db, clock, line_user_id=user.line_user_id, nonce=nonce)
    assert replay.value.code == "nonce_used"
    with pytest.raises(LinkError) as unknown:
        complete_link(db, clock, line_user_id=user.line_user_id, nonce="made-up-nonce-123")
    assert unknown.value.code == "unknown_nonce"
    assert len(nonce) >= 40
    assert db.scalar(select(LinkNonce.nonce_hash)) != nonce  # only a digest is stored


def test_nonce_expires_and_is_bound_to_its_line_user(db, clock):
    issued = create_company(db, clock, name="H社", seats=1, contact_email="h@example.jp")
    owner = line_user(db, clock).line_user_id
    thief = line_user(db, clock, "U" + "c" * 32).line_user_id
    request = link_request(db, clock, owner, issued.company_code)
    assert request is not None and request.line_user_id == owner
    assert open_link_request(db, clock, thief) is None  # found only for its own LINE user
    attach_link_token(request, "line-link-token")
    assert link_token_matches(request, "line-link-token")
    assert not link_token_matches(request, "another-token") and not link_token_matches(request, "")
    member = login(db, clock, issued, issued.members[0], owner)
    nonce = issue_nonce(db, clock, request, member)
    assert open_link_request(db, clock, owner) is None  # the link request is used up
    with pytest.raises(LinkError) as stolen:
        complete_link(db, clock, line_user_id=thief, nonce=nonce)
    assert stolen.value.code == "nonce_other_user"
    clock.advance(minutes=11)
    with pytest.raises(LinkError) as expired:
        complete_link(db, clock, line_user_id=owner, nonce=nonce)
    assert expired.value.code == "nonce_expired"
    assert db.get(LineUser, owner).member_pk is None


def test_failed_account_link_links_nothing_and_burns_the_nonce(db, clock):
    issued = create_company(db, clock, name="I社", seats=1, contact_email="i@example.jp")
    user = line_user(db, clock).line_user_id
    request = link_request(db, clock, user, issued.company_code)
    nonce = issue_nonce(db, clock, request, login(db, clock, issued, issued.members[0], user))
    with pytest.raises(LinkError) as failed:
        complete_link(db, clock, line_user_id=user, nonce=nonce, ok=False)
    assert failed.value.code == "link_failed"
    with pytest.raises(LinkError) as replay:
        complete_link(db, clock, line_user_id=user, nonce=nonce)
    assert replay.value.code == "nonce_used"
    assert db.get(LineUser, user).member_pk is None


def test_art1_3_second_line_user_on_a_linked_member_is_refused_and_logged(db, clock):
    issued = create_company(db, clock, name="J社", seats=2, contact_email="j@example.jp")
    first = line_user(db, clock).line_user_id
    second = line_user(db, clock, "U" + "d" * 32).line_user_id
    link(db, clock, issued, issued.members[0], first)
    with pytest.raises(LoginError) as refused:
        login(db, clock, issued, issued.members[0], second)
    assert refused.value.code == "member_linked_elsewhere"
    (entry,) = audit.entries(db, action="link_refused_member_linked_elsewhere")
    assert entry.details == {"attempted_by": second, "linked_to": first}
    assert entry.target == f"member:{issued.members[0].member_id}"
    # A LINE user is linked to one member at a time.
    with pytest.raises(LoginError) as one_at_a_time:
        login(db, clock, issued, issued.members[1], first)
    assert one_at_a_time.value.code == "line_user_linked_elsewhere"


def test_a_nonce_cannot_link_once_the_member_is_linked_elsewhere(db, clock):
    issued = create_company(db, clock, name="K社", seats=1, contact_email="k@example.jp")
    first = line_user(db, clock).line_user_id
    second = line_user(db, clock, "U" + "e" * 32).line_user_id
    request = link_request(db, clock, second, issued.company_code)
    nonce = issue_nonce(db, clock, request, login(db, clock, issued, issued.members[0], second))
    link(db, clock, issued, issued.members[0], first)  # the first user links in between
    with pytest.raises(LinkError) as refused:
        complete_link(db, clock, line_user_id=second, nonce=nonce)
    assert refused.value.code == "member_linked_elsewhere"
    assert db.get(LineUser, second).member_pk is None


def test_unlink_and_relink(db, clock):
    issued = create_company(db, clock, name="L社", seats=1, contact_email="l@example.jp")
    user = line_user(db, clock).line_user_id
    link(db, clock, issued, issued.members[0], user)
    assert unlink(db, clock, user).member_id == issued.members[0].member_id
    assert db.get(LineUser, user).member_pk is None
    assert unlink(db, clock, user) is None
    clock.advance(seconds=1)
    link(db, clock, issued, issued.members[0], user)
    assert db.get(LineUser, user).member_pk is not None
    assert [
        e.action for e in audit.entries(db, target=f"member:{issued.members[0].member_id}")
    ] == [
        "member_linked",
        "member_unlinked",
        "member_linked",
    ]


def test_retire_forfeits_points_unlinks_and_queues_a_push(db, clock):
    issued = create_company(db, clock, name="M社", seats=1, contact_email="m@example.jp")
    credential = issued.members[0]
    user = line_user(db, clock).line_user_id
    link(db, clock, issued, credential, user)
    ledger = PointsLedger(db, clock)
    ledger.grant(credential.member_id, 300, "g-1", "付与", key="g-1")
    assert ledger.balance(credential.member_id).available == 300
    result = retire_member(db, clock, credential.member_id, actor="cli")
    assert result.unlinked_line_user_id == user and result.points_forfeited and result.notified
    member = get_member(db, credential.member_id)
    assert member.status is MemberStatus.RETIRED and member.retired_at == clock.now()
    assert ledger.balance(credential.member_id).available == 0
    assert db.get(LineUser, user).member_pk is None
    push = db.scalars(select(OutgoingMessage)).one()
    assert push.to == [user]
    assert "会員資格" in push.messages[0]["text"] and push.reply_token is None
    with pytest.raises(CompanyError) as again:
        retire_member(db, clock, credential.member_id)
    assert again.value.code == "already_retired"
    with pytest.raises(LoginError) as retired:
        login(db, clock, issued, credential, user)
    assert retired.value.code == "member_retired"


def test_suspend_resume_terminate(db, clock):
    issued = create_company(db, clock, name="N社", seats=2, contact_email="n@example.jp")
    user = line_user(db, clock).line_user_id
    link(db, clock, issued, issued.members[0], user)
    PointsLedger(db, clock).grant(issued.members[0].member_id, 100, "g-2", "付与", key="g-2")
    changes: list[LinkChange] = []
    listener = add_link_listener(lambda _s, change: changes.append(change))
    try:
        set_company_status(db, clock, issued.company_code, CompanyStatus.SUSPENDED)
        with pytest.raises(LoginError) as suspended:
            login(db, clock, issued, issued.members[1], "U" + "f" * 32)
        assert suspended.value.code == "company_inactive"
        set_company_status(db, clock, issued.company_code, CompanyStatus.ACTIVE)
        set_company_status(db, clock, issued.company_code, CompanyStatus.TERMINATED)
    finally:
        remove_link_listener(listener)
    assert [(c.reason, c.audience) for c in changes] == [
        ("company_suspended", "none"),
        ("company_resumed", "member"),
        ("company_terminated", "none"),
    ]
    assert PointsLedger(db, clock).balance(issued.members[0].member_id).available == 0
    with pytest.raises(CompanyError) as final:
        set_company_status(db, clock, issued.company_code, CompanyStatus.ACTIVE)
    assert final.value.code == "company_terminated"
    assert [e.action for e in audit.entries(db, target=f"company:{issued.company_code}")] == [
        "company_created",
        "company_suspended",
        "company_resumed",
        "company_terminated",
    ]


def test_company_summary_for_hr_contacts(db, clock):
    issued = create_company(db, clock, name="O社", seats=3, contact_email="o@example.jp")
    user = line_user(db, clock).line_user_id
    link(db, clock, issued, issued.members[1], user)
    member = db.scalar(select(Member).where(Member.member_id == issued.members[1].member_id))
    summary = company_summary(db, member.company)
    assert (summary.seats_used, summary.seat_limit, summary.hr_contacts) == (3, 3, 1)
    assert summary.linked_member_ids == [issued.members[1].member_id]


def test_demo_seed_is_idempotent(db, clock):
    from models.demo import seed_demo

    first = seed_demo(db, clock)
    db.commit()
    second = seed_demo(db, clock)
    db.commit()
    assert first == second
    member = get_member(db, first["member_id"])
    assert passwords.verify_password(member.password_hash, first["password"])
    assert member.company.code == first["company_code"] == "DEMA2345"
    assert PointsLedger(db, clock).balance(member).available > 0
    hr = get_member(db, first["hr_member_id"])
    assert hr.kind is MemberKind.HR_CONTACT


def test_lock_is_refused_after_reset_for_other_keys_only(db, clock):
    """A reset clears the member ID's count, not the LINE user's."""
    issued = create_company(db, clock, name="P社", seats=2, contact_email="p@example.jp")
    user = line_user(db, clock).line_user_id
    for _ in range(5):
        with pytest.raises(LoginError):
            login(db, clock, issued, issued.members[0], user, password="bad")
    password = reset_password(db, clock, issued.members[0].member_id)
    with pytest.raises(LoginError) as locked:
        login(db, clock, issued, issued.members[0], user, password=password)
    assert locked.value.code == "locked"
    clock.advance(minutes=15, seconds=1)
    assert login(db, clock, issued, issued.members[0], user, password=password)


def test_a_newer_request_an_unlink_or_a_link_closes_older_requests_and_nonces(db, clock):
    issued = create_company(db, clock, name="M社", seats=2, contact_email="m@example.jp")
    user = line_user(db, clock).line_user_id
    other = line_user(db, clock, "U" + "f" * 32).line_user_id
    first = link_request(db, clock, user, issued.company_code)
    theirs = link_request(db, clock, other, issued.company_code)
    clock.advance(minutes=1)
    second = link_request(db, clock, user, issued.company_code)
    assert first.used_at is not None and second.used_at is None  # the newer one replaces it
    assert theirs.used_at is None  # another user's request is not touched
    nonce = issue_nonce(db, clock, second, login(db, clock, issued, issued.members[0], user))
    assert close_open_requests(db, clock.now(), user) == 1  # the unused nonce (a cancel)
    with pytest.raises(LinkError) as closed:
        complete_link(db, clock, line_user_id=user, nonce=nonce)
    assert closed.value.code == "nonce_used"
    link(db, clock, issued, issued.members[0], user)
    pending = link_request(db, clock, user, issued.company_code)
    unlink(db, clock, user)
    assert pending.used_at is not None and open_link_request(db, clock, user) is None
    assert db.get(LineUser, user).member_pk is None
