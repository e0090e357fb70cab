"""`benesapo company …` / `benesapo member …` against a real database."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from bot.commands.company import company, member
from models import audit, passwords
from models.companies import find_company, find_member
from models.company import CompanyStatus, MemberKind, MemberStatus
from models.events import OutgoingMessage
from models.line_user import LineUser

pytestmark = pytest.mark.usefixtures("cheap_hashing")


@pytest.fixture
def run(cli_runtime):
    lazy = cli_runtime
    runner = CliRunner()

    def invoke(group, *args: str):
        return runner.invoke(group, list(args), obj=lazy, catch_exceptions=False)

    return invoke


def create(run, *extra: str) -> dict:
    result = run(
        company,
        "create",
        "--name",
        "テスト株式会社",
        "--seats",
        "3",
        "--contact-email",
        "hr@example.jp",
        "--json",
        *extra,
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_create_prints_json_with_every_credential(run, dbview):
    data = create(run, "--hr-contacts", "2")
    assert set(data) == {"company_code", "members", "hr_contacts"}
    assert len(data["members"]) == 3 and len(data["hr_contacts"]) == 2
    found = find_company(dbview, data["company_code"])
    assert found is not None and found.seat_limit == 3
    for entry in data["members"]:
        stored = find_member(dbview, entry["member_id"])
        assert stored.kind is MemberKind.EMPLOYEE
        assert passwords.verify_password(stored.password_hash, entry["password"])
    hr = find_member(dbview, data["hr_contacts"][0]["member_id"])
    assert hr.kind is MemberKind.HR_CONTACT
    assert audit.entries(dbview, action="company_created")[0].actor.startswith("cli")


def test_add_seats_is_refused_above_the_limit_with_the_limit_in_the_message(run):
    data = create(run, "--seat-limit", "4")
    ok = run(company, "add-seats", data["company_code"], "1", "--json")
    assert ok.exit_code == 0 and len(json.loads(ok.output)["members"]) == 1
    refused = run(company, "add-seats", data["company_code"], "1")
    assert refused.exit_code != 0
    assert "limit of 4" in refused.output
    raised = run(company, "set-limit", data["company_code"], "6")
    assert raised.exit_code == 0
    assert run(company, "add-seats", data["company_code"], "2").exit_code == 0


def test_suspend_resume_terminate_and_show(run, dbview):
    code = create(run)["company_code"]
    assert "suspended" in run(company, "suspend", code).output
    dbview.expire_all()
    assert find_company(dbview, code).status is CompanyStatus.SUSPENDED
    assert "active" in run(company, "resume", code.lower()).output
    assert "terminated" in run(company, "terminate", code).output
    refused = run(company, "resume", code)
    assert refused.exit_code != 0 and "terminated" in refused.output
    shown = json.loads(run(company, "show", code, "--json").output)
    assert shown["status"] == "terminated" and shown["seats_used"] == 3


def test_member_retire_and_reset_password(run, db, dbview, clock):
    data = create(run)
    member_id = data["members"][0]["member_id"]
    user = LineUser(line_user_id="U" + "9" * 32, first_seen_at=clock.now(), blocked=False)
    db.add(user)
    user.member_pk = find_member(db, member_id).id
    db.commit()
    reset = run(member, "reset-password", member_id, "--json")
    new_password = json.loads(reset.output)["password"]
    assert passwords.verify_password(find_member(dbview, member_id).password_hash, new_password)
    retired = run(member, "retire", member_id)
    assert retired.exit_code == 0 and "retired" in retired.output
    dbview.expire_all()
    assert find_member(dbview, member_id).status is MemberStatus.RETIRED
    assert dbview.get(LineUser, user.line_user_id).member_pk is None
    assert dbview.query(OutgoingMessage).count() == 1
    again = run(member, "retire", member_id)
    assert again.exit_code != 0 and "already" in again.output
    unknown = run(member, "retire", "NOSUCHID22")
    assert unknown.exit_code != 0
