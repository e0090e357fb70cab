"""Deploying rich menus against the emulator, and switching users' menus through the real
linking flow (webhook, workers, SDK, emulator)."""

from __future__ import annotations

import copy
import logging
import secrets
import threading
from datetime import UTC, datetime

import pytest
import requests
import yaml
from sqlalchemy import select, update

from adapters.line_client import LineApiError
from models.companies import create_company, retire_member, set_company_status
from models.company import CompanyStatus
from models.db import transaction
from models.line_user import LineUser
from models.richmenu import RichMenuAssignment
from richmenu import definitions as d
from richmenu.deploy import deploy, plan_pages
from richmenu.switching import sync_rich_menus
from tests.e2e import wait_until
from tests.test_linking_e2e import link_fully

pytestmark = pytest.mark.usefixtures("cheap_hashing")  # members' passwords are hashed

CHANGING_CALLS = ("POST", "DELETE")


def changing_calls(emulator) -> list[tuple[str, str]]:
    return [
        (c["method"], c["path"])
        for c in emulator.calls("/v2/bot/")
        if c["method"] in CHANGING_CALLS
    ]


def menus_state(emulator) -> dict:
    return requests.get(emulator.base_url + "/_emulator/richmenus", timeout=10).json()


def current(emulator, user_id: str) -> dict:
    response = requests.get(f"{emulator.base_url}/_emulator/users/{user_id}/richmenu", timeout=10)
    assert response.status_code == 200
    return response.json()


def current_key(emulator, user_id: str) -> str | None:
    menu = current(emulator, user_id)["menu"]
    return d.parse_name(menu["name"])[0] if menu else None


def definitions_data() -> dict:
    with d.DEFINITIONS_FILE.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def test_dry_run_plans_and_changes_nothing(services, emulator):
    report = deploy(services.runtime, services.line, dry_run=True)
    kinds = [s.kind for s in report.steps]
    assert kinds.count("create") == 3 and kinds.count("alias_create") == 3
    assert "default" in kinds
    assert changing_calls(emulator) == []
    assert menus_state(emulator)["richmenus"] == []


def test_deploy_then_again_changes_nothing(services, emulator, db):
    first = deploy(services.runtime, services.line)
    assert len(first.of("create")) == 3
    state = menus_state(emulator)
    assert len(state["richmenus"]) == 3
    assert state["aliases"] == {
        "benesapo-guest": first.menu_ids["guest"],
        "benesapo-member": first.menu_ids["member"],
        "benesapo-hr": first.menu_ids["hr"],
    }
    assert state["default"] == first.menu_ids["guest"]
    uploads = [c for c in emulator.calls("/v2/bot/richmenu/") if c["path"].endswith("/content")]
    assert {c["headers"]["Content-Type"] for c in uploads if c["method"] == "POST"} == {"image/png"}
    before = len(emulator.calls())

    second = deploy(services.runtime, services.line)
    assert second.steps == [] and second.menu_ids == first.menu_ids
    assert [c for c in emulator.calls()[before:] if c["method"] in CHANGING_CALLS] == []
    dry = deploy(services.runtime, services.line, dry_run=True)
    assert dry.steps == []


def test_a_changed_definition_replaces_only_its_menu(services, emulator, tmp_path):
    first = deploy(services.runtime, services.line)
    data = definitions_data()
    data["menus"]["hr"]["pages"][0]["buttons"][2]["label"] = "会社の情報"
    changed = d.parse(copy.deepcopy(data))
    report = deploy(services.runtime, services.line, changed)
    assert [s.target for s in report.of("create")] == ["hr"]
    assert report.menu_ids["guest"] == first.menu_ids["guest"]
    assert report.menu_ids["hr"] != first.menu_ids["hr"]
    assert [s.detail for s in report.of("alias_update")] == [report.menu_ids["hr"]]
    assert [s.detail for s in report.of("delete")] == [first.menu_ids["hr"]]
    state = menus_state(emulator)
    assert sorted(m["richMenuId"] for m in state["richmenus"]) == sorted(report.menu_ids.values())
    assert state["aliases"]["benesapo-hr"] == report.menu_ids["hr"]
    assert deploy(services.runtime, services.line, changed).steps == []


def test_no_default_menu_and_no_image_yet_are_answers_not_warnings(
    emulator_line_client, emulator, caplog
):
    """Every start asks LINE for the default menu; "none yet" (404) is logged at INFO. A 404
    where one was not expected (deleting an unknown menu) stays a warning."""
    client = emulator_line_client
    with caplog.at_level(logging.INFO, logger="benesapo.line"):
        assert client.default_rich_menu_id() is None
        menu_id = client.create_rich_menu(plan_pages(d.load())[0].body)
        assert not client.has_rich_menu_image(menu_id)
        with pytest.raises(LineApiError):
            client.delete_rich_menu("richmenu-" + "0" * 32)
    logged = {
        r.fields["endpoint"]: (r.levelname, r.fields["status"])
        for r in caplog.records
        if r.name == "benesapo.line"
    }
    assert logged == {
        "richmenu.default.get": ("INFO", 404),
        "richmenu.create": ("INFO", 200),
        "richmenu.image.get": ("INFO", 404),
        "richmenu.delete": ("WARNING", 404),
    }


def test_a_menu_left_without_an_image_gets_it_on_the_next_run(services, emulator):
    # A run that stopped between create and upload left the guest menu without its image,
    # and an older menu of ours nobody uses any more.
    planned = {p.page.key: p for p in plan_pages(d.load())}
    half_done = services.line.create_rich_menu(planned["guest"].body)
    old = dict(planned["hr"].body, name="benesapo:hr:0000")
    stale = services.line.create_rich_menu(old)
    report = deploy(services.runtime, services.line)
    assert [(s.target, s.detail) for s in report.of("upload")] == [("guest", half_done)]
    assert report.menu_ids["guest"] == half_done
    assert [s.detail for s in report.of("delete")] == [stale]
    assert services.line.has_rich_menu_image(half_done)
    assert menus_state(emulator)["default"] == half_done


def test_existing_users_are_relinked_in_bulk(services, emulator, db, app_clock, cheap_hashing):
    issued = create_company(
        db, app_clock, name="大量商事", seats=520, contact_email="hr@example.jp", hr_contacts=2
    )
    db.flush()
    now = datetime.now(UTC)
    members = {m.member_id: m for m in _members(db, issued)}
    user_ids: dict[str, str] = {}
    for credential in [*issued.members, *issued.hr_contacts]:
        user_id = "U" + secrets.token_hex(16)
        user_ids[credential.member_id] = user_id
        db.add(
            LineUser(
                line_user_id=user_id,
                member_pk=members[credential.member_id].id,
                first_seen_at=now,
                linked_at=now,
            )
        )
    guest_user = "U" + secrets.token_hex(16)
    db.add(LineUser(line_user_id=guest_user, first_seen_at=now))
    db.commit()

    dry = deploy(services.runtime, services.line, dry_run=True)
    assert [s.detail for s in dry.of("backfill")] == ["522 users"]
    report = deploy(services.runtime, services.line)
    links = [c for c in emulator.calls("/v2/bot/richmenu/bulk/link") if c["method"] == "POST"]
    assert all(len(c["body"]["userIds"]) <= 500 for c in links)
    by_menu: dict[str, int] = {}
    for call in links:
        by_menu[call["body"]["richMenuId"]] = by_menu.get(call["body"]["richMenuId"], 0) + len(
            call["body"]["userIds"]
        )
    assert by_menu == {report.menu_ids["member"]: 520, report.menu_ids["hr"]: 2}
    assert len(links) == 3  # 500 + 20 members, 2 HR contacts
    assert current_key(emulator, user_ids[issued.members[0].member_id]) == "member"
    assert current_key(emulator, user_ids[issued.hr_contacts[0].member_id]) == "hr"
    assert current(emulator, guest_user)["source"] == "default"
    assert deploy(services.runtime, services.line).steps == []

    # A new member menu: everyone of that audience is re-linked to it, in bulk again.
    data = definitions_data()
    data["menus"]["member"]["chat_bar"] = "ポイント"
    again = deploy(services.runtime, services.line, d.parse(data))
    relinked = [s.detail for s in again.of("relink")]
    assert relinked == [f"520 users to {again.menu_ids['member']}"]
    assert current(emulator, user_ids[issued.members[7].member_id])["menu"]["chatBarText"] == (
        "ポイント"
    )


def _members(db, issued):
    from models.company import Member

    ids = [c.member_id for c in [*issued.members, *issued.hr_contacts]]
    return db.scalars(select(Member).where(Member.member_id.in_(ids))).all()


@pytest.fixture
def deployed(services, emulator):
    return deploy(services.runtime, services.line)


@pytest.fixture
def company(db, app_clock):
    issued = create_company(
        db, app_clock, name="切替商事", seats=2, contact_email="hr@example.jp", hr_contacts=1
    )
    db.commit()
    return issued


def sync(services):
    """What the event workers do after an event that changed someone's audience."""
    report = sync_rich_menus(services.runtime, services.line)
    assert report.error is None
    return report


def test_linking_and_unlinking_switch_the_menu(
    chat, company, services, bot_server, emulator, deployed
):
    assert current(emulator, chat.user_id)["source"] == "default"
    assert current_key(emulator, chat.user_id) == "guest"
    link_fully(chat, company, company.members[0], services, bot_server, emulator)
    # The worker that processed the accountLink event switched the menu at once.
    wait_until(lambda: current_key(emulator, chat.user_id) == "member", what="member menu")
    shown = current(emulator, chat.user_id)
    assert shown["source"] == "linked" and shown["richMenuId"] == deployed.menu_ids["member"]
    wait_until(lambda: sync(services).linked == {}, what="nothing left to sync")

    chat.say("連携解除")
    chat.say("はい")
    wait_until(lambda: current_key(emulator, chat.user_id) == "guest", what="guest menu")
    assert current(emulator, chat.user_id)["source"] == "default"


def test_hr_contact_gets_the_hr_menu_and_suspension_switches_back(
    chat, company, services, bot_server, emulator, deployed, db, app_clock
):
    link_fully(chat, company, company.hr_contacts[0], services, bot_server, emulator)
    wait_until(lambda: current_key(emulator, chat.user_id) == "hr", what="HR menu")
    with db.begin():
        set_company_status(db, app_clock, company.company_code, CompanyStatus.SUSPENDED)
    sync(services)
    assert current_key(emulator, chat.user_id) == "guest"
    with db.begin():
        set_company_status(db, app_clock, company.company_code, CompanyStatus.ACTIVE)
    sync(services)
    assert current_key(emulator, chat.user_id) == "hr"


def test_retirement_switches_back_to_the_guest_menu(
    chat, company, services, bot_server, emulator, deployed, session_factory, app_clock
):
    link_fully(chat, company, company.members[1], services, bot_server, emulator)
    wait_until(lambda: current_key(emulator, chat.user_id) == "member", what="member menu")
    with transaction(session_factory) as session:  # the back office retires the member
        retire_member(session, app_clock, company.members[1].member_id)
    sync(services)  # what the scheduler's richmenu_sync job does every minute
    assert current(emulator, chat.user_id)["source"] == "default"
    assert current_key(emulator, chat.user_id) == "guest"


def test_tapping_the_menu_sends_its_action_to_the_bot(
    chat, company, services, bot_server, emulator, deployed
):
    tapped = requests.post(
        f"{emulator.base_url}/_emulator/users/{chat.user_id}/richmenu/tap",
        json={"area": 1},  # よくある質問
        timeout=10,
    ).json()
    assert tapped["action"]["data"] == "action=faq_menu" and tapped["status"] == 200
    from tests.e2e import texts_of, wait_until

    answer = wait_until(chat.new_messages, what="the FAQ menu")
    assert "よくある質問" in texts_of(answer) or "カテゴリ" in texts_of(answer)


def test_a_change_during_the_line_call_is_synced_again(services, emulator, deployed, db):
    """Compare-and-set: a row changed while its bulk call was in flight is not marked synced
    with the stale audience; a second round links it to the right menu."""
    user_id = "U" + secrets.token_hex(16)
    now = datetime.now(UTC)
    db.add(RichMenuAssignment(line_user_id=user_id, audience="member", changed_at=now))
    db.commit()
    line = services.line
    original = line.link_rich_menu_to_users
    changed = threading.Event()

    def link_and_change(menu_id, ids):
        original(menu_id, ids)
        if not changed.is_set():
            changed.set()
            with transaction(services.runtime.session_factory) as session:
                session.execute(
                    update(RichMenuAssignment)
                    .where(RichMenuAssignment.line_user_id == user_id)
                    .values(audience="hr_contact", version=RichMenuAssignment.version + 1)
                )

    line.link_rich_menu_to_users = link_and_change  # type: ignore[method-assign]
    try:
        report = sync_rich_menus(services.runtime, line)
    finally:
        del line.link_rich_menu_to_users
    assert report.retried == 1
    assert report.linked == {"member": 1, "hr_contact": 1}
    assert current(emulator, user_id)["richMenuId"] == deployed.menu_ids["hr"]
    row = db.get(RichMenuAssignment, user_id)
    db.refresh(row)
    assert row.synced_version == row.version and row.linked_menu_id == deployed.menu_ids["hr"]


def test_sync_before_any_deploy_does_nothing(services, emulator, db):
    db.add(
        RichMenuAssignment(
            line_user_id="U" + "b" * 32, audience="member", changed_at=datetime.now(UTC)
        )
    )
    db.commit()
    report = sync_rich_menus(services.runtime, services.line)
    assert report.deployed is False and report.calls == 0
    assert changing_calls(emulator) == []
