"""`benesapo inquiries list` and `benesapo operator create`; the ticket model's own rules."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from bot.cli import cli
from models.company import Member
from models.inquiries import (
    InquiryError,
    InquiryEvent,
    InquiryStatus,
    InquiryType,
    change_status,
    create_inquiry,
    format_number,
    get_by_number,
    parse_number,
)
from models.operators import OperatorError, authenticate
from tests.test_inquiries_support import make_company

pytestmark = pytest.mark.usefixtures("cheap_hashing")


@pytest.fixture
def run(cli_runtime):
    lazy = cli_runtime
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):
        return runner.invoke(cli, list(args), obj=lazy, input=input, catch_exceptions=False)

    return invoke


def filed(db, clock):
    issued = make_company(db, clock, name="アクメ")
    hr = db.scalars(select(Member).where(Member.member_id == issued.hr_contacts[0].member_id)).one()
    first = create_inquiry(
        db,
        clock,
        type=InquiryType.ADD_SEATS,
        line_user_id="Uhr",
        member=hr,
        answers={"seat_count": 2},
    )
    second = create_inquiry(
        db,
        clock,
        type=InquiryType.OTHER,
        line_user_id="Uanon",
        member=None,
        answers={"detail": "質問です"},
    )
    change_status(db, clock, second, InquiryStatus.DONE, actor="test", message="回答しました")
    db.commit()
    return issued, first, second


def test_inquiries_list_json_has_every_field(run, db, clock):
    issued, first, second = filed(db, clock)
    result = run("inquiries", "list", "--json")
    rows = json.loads(result.output)
    assert [r["number"] for r in rows] == [second.number, first.number]  # newest first
    seats = rows[1]
    assert seats["type"] == "add_seats" and seats["status"] == "new"
    assert seats["company"] == issued.company_code and seats["company_name"] == "アクメ"
    assert seats["requester"] == {
        "kind": "hr_contact",
        "member_id": issued.hr_contacts[0].member_id,
        "line_user_id": "Uhr",
    }
    assert seats["answers"] == {"seat_count": 2}
    assert rows[0]["requester"]["kind"] == "unlinked" and rows[0]["company"] is None


def test_inquiries_list_filters_by_status_and_prints_text(run, db, clock):
    _, first, second = filed(db, clock)
    rows = json.loads(run("inquiries", "list", "--status", "open", "--json").output)
    assert [r["number"] for r in rows] == [first.number]
    rows = json.loads(run("inquiries", "list", "--status", "done", "--json").output)
    assert [r["number"] for r in rows] == [second.number]
    text = run("inquiries", "list").output
    assert first.number in text and "追加するID数: 2" in text and "内容: 質問です" in text
    assert run("inquiries", "list", "--status", "nope").exit_code == 2


def test_inquiries_list_when_empty(run):
    assert run("inquiries", "list").output.strip() == "no inquiries"
    assert json.loads(run("inquiries", "list", "--json").output) == []


def test_operator_create_generates_or_prompts_and_stores_only_a_hash(run, db, clock):
    result = run("operator", "create", "Ops@Example.jp", "--generate")
    assert result.exit_code == 0 and "operator created: ops@example.jp" in result.output
    password = result.output.split("password (shown once): ")[1].strip()
    assert len(password) >= 10
    assert authenticate(db, clock, "ops@example.jp", password).email == "ops@example.jp"
    db.commit()
    prompted = run("operator", "create", "two@example.jp", input="a-long-password\n" * 2)
    assert prompted.exit_code == 0 and "shown once" not in prompted.output
    assert authenticate(db, clock, "two@example.jp", "a-long-password") is not None
    db.commit()
    duplicate = run("operator", "create", "ops@example.jp", "--generate")
    assert duplicate.exit_code != 0 and "already exists" in duplicate.output
    weak = run("operator", "create", "three@example.jp", input="short\nshort\n")
    assert weak.exit_code != 0 and "at least 10" in weak.output


def test_operator_lockout_and_unknown_address(db, clock):
    from models.operators import create_operator

    create_operator(db, clock, "a@example.jp", "a-long-password")
    for _ in range(5):
        with pytest.raises(OperatorError) as failed:
            authenticate(db, clock, "a@example.jp", "wrong")
        assert failed.value.code == "invalid"
    with pytest.raises(OperatorError) as locked:
        authenticate(db, clock, "a@example.jp", "a-long-password")
    assert locked.value.code == "locked" and locked.value.until is not None
    clock.advance(minutes=15)
    assert authenticate(db, clock, "A@example.jp", "a-long-password").email == "a@example.jp"
    with pytest.raises(OperatorError):
        authenticate(db, clock, "nobody@example.jp", "a-long-password")


def test_ticket_numbers_and_status_history(db, clock):
    assert format_number(123) == "INQ-000123"
    assert parse_number("inq-000123") == 123 and parse_number("INQ123") == 123
    assert parse_number("123") is None and parse_number("INQ-abc") is None
    _, first, second = filed(db, clock)
    assert get_by_number(db, first.number).id == first.id
    assert get_by_number(db, "INQ-999999") is None
    events = db.scalars(select(InquiryEvent).where(InquiryEvent.inquiry_id == second.id)).all()
    assert [(e.kind, e.from_status, e.to_status) for e in events] == [
        ("created", None, "new"),
        ("status", "new", "done"),
    ]
    assert events[1].message == "回答しました" and second.closed_at == clock.now()
    with pytest.raises(InquiryError) as same:
        change_status(db, clock, second, InquiryStatus.DONE, actor="test")
    assert same.value.code == "nothing_to_do"
    change_status(db, clock, second, InquiryStatus.IN_PROGRESS, actor="test")
    assert second.closed_at is None
