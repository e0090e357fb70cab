"""The demo data reconciled at `make run`'s start: the banner offers only logins that work."""

from __future__ import annotations

import pytest

from bot.dev_banner import demo_lines
from models.companies import get_member, reset_password, retire_member
from models.demo import AVAILABLE, LINKED, PASSWORD_CHANGED, RETIRED, link_ready_user, seed_demo
from models.line_user import LineUser
from models.passwords import verify_password
from tests.test_inquiries_support import link

pytestmark = pytest.mark.usefixtures("cheap_hashing")

TARO = "U" + "1" * 32
READY = "U" + "2" * 32
GONE = "U" + "3" * 32


def states(demo) -> dict[str, str]:
    return {x.member_id: x.state for x in demo["logins"]}


def test_retired_linked_and_reset_members_are_not_offered(db, clock):
    seed_demo(db, clock)
    db.commit()
    retire_member(db, clock, "DEMAM2345A", actor="test")
    reset_password(db, clock, "DEMAM2345B", actor="test")
    db.commit()
    link(db, clock, TARO, "DEMAM2345C")
    demo = seed_demo(db, clock, known_line_users={TARO})
    db.commit()
    assert states(demo)["DEMAM2345A"] == RETIRED
    assert states(demo)["DEMAM2345B"] == PASSWORD_CHANGED
    assert states(demo)["DEMAM2345C"] == LINKED
    # None of the three can log in from a new LINE user: a spare is added, and offered.
    assert demo["member_id"] == "DEMAM2345D" and states(demo)["DEMAM2345D"] == AVAILABLE
    spare = get_member(db, "DEMAM2345D")
    assert spare.is_active and verify_password(spare.password_hash, demo["password"])
    lines = "\n".join(demo_lines(demo, {TARO: "太郎"}, None))
    assert "DEMAM2345D / demo-pass-D" in lines
    assert "DEMAM2345C to 「太郎」" in lines
    assert "DEMAM2345A (retired)" in lines and "DEMAM2345B (password changed" in lines
    assert "demo-pass-A" not in lines and "demo-pass-B" not in lines
    # Seeding again adds nothing more: the spare is still there to use.
    again = seed_demo(db, clock, known_line_users={TARO})
    assert again["member_id"] == "DEMAM2345D"
    assert [x.member_id for x in again["logins"]].count("DEMAM2345D") == 1
    assert "DEMAM2345E" not in states(again)


def test_links_to_users_the_emulator_forgot_are_removed(db, clock):
    seed_demo(db, clock)
    db.commit()
    link(db, clock, GONE, "DEMAM2345A")
    link(db, clock, TARO, "DEMAM2345B")
    demo = seed_demo(db, clock, known_line_users={TARO})
    db.commit()
    assert states(demo)["DEMAM2345A"] == AVAILABLE and demo["member_id"] == "DEMAM2345A"
    assert states(demo)["DEMAM2345B"] == LINKED
    assert db.get(LineUser, GONE).member_pk is None


def test_the_ready_hr_user_is_linked_once_and_never_over_another_link(db, clock):
    demo = seed_demo(db, clock)
    assert link_ready_user(db, clock, READY, demo["hr_member_id"]) is True
    assert link_ready_user(db, clock, READY, demo["hr_member_id"]) is True  # already
    db.commit()
    assert states(seed_demo(db, clock, known_line_users={READY}))["DEMAH2345H"] == LINKED
    # Linked to somebody else (logged in from another user): the ready user is left unlinked.
    db.get(LineUser, READY).member_pk = None
    db.commit()
    link(db, clock, TARO, "DEMAH2345H")
    assert link_ready_user(db, clock, READY, demo["hr_member_id"]) is False
    assert db.get(LineUser, READY).member_pk is None
    lines = "\n".join(demo_lines(seed_demo(db, clock), {TARO: "太郎"}, None))
    assert "DEMAH2345H, linked to 「太郎」" in lines
