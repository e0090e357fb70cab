"""The console a clerk lives in (Flask's test client): confirmation pages with the real
consequences, result pages saying what happened, an action takes the ticket up (対応中,
assigned) and 完了 is one click after; company and member pages and search; admin-only
company status changes; the stop-service action; list preview, filters and bounded paging;
`benesapo company show --json` and `benesapo member show --json`."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from bot.commands.company import company as company_cli
from bot.commands.company import member as member_cli
from models.company import Company, CompanyStatus, Member, MemberStatus
from models.events import OutgoingMessage
from models.inquiries import Inquiry, InquiryStatus, InquiryType
from models.operators import create_operator
from models.points import PointsLedger
from tests import test_admin_console as console
from tests.test_inquiries_support import make_company

pytestmark = pytest.mark.usefixtures("cheap_hashing")
# The console's app and logged-out client (fixtures of tests/test_admin_console.py).
console_clock, console_app = console.console_clock, console.console_app
clock, client = console.clock, console.client
EMAIL, PASSWORD = console.EMAIL, console.PASSWORD
csrf, fresh, linked_user, login, post, ticket = (
    console.csrf,
    console.fresh,
    console.linked_user,
    console.login,
    console.post,
    console.ticket,
)
CLERK = "clerk@example.jp"


def text(response) -> str:
    return response.get_data(as_text=True)


def grant(db, clock, member_id: str, points: int) -> None:
    PointsLedger(db, clock).grant(
        member_id, points, f"g-{member_id}", "お詫び", key=f"g-{member_id}"
    )
    db.commit()


@pytest.fixture
def clerk(console_app, db, clock):
    """A logged-in operator who is not an admin."""
    create_operator(db, clock, CLERK, PASSWORD, role="operator")
    db.commit()
    other = console_app.test_client()
    assert login(other, CLERK).status_code == 302
    return other


def retire_ticket(db, clock):
    acme = make_company(db, clock, name="アクメ株式会社")
    retiree = acme.members[0].member_id
    linked_user(db, clock, retiree, "U" + "r" * 32)
    linked_user(db, clock, acme.hr_contacts[0].member_id, "U" + "h" * 32)
    grant(db, clock, retiree, 1200)
    inquiry = ticket(
        db,
        clock,
        InquiryType.RETIRE,
        acme.hr_contacts[0].member_id,
        "U" + "h" * 32,
        retiree_name="山田 太郎",
        retiree_member_id=retiree,
    )
    return acme, retiree, inquiry


def test_retire_asks_first_with_the_real_balance_then_says_what_happened(client, db, clock):
    acme, retiree, inquiry = retire_ticket(db, clock)
    login(client)
    detail = text(client.get(f"/admin/inquiries/{inquiry.number}"))
    confirm_url = f"/admin/inquiries/{inquiry.number}/actions/retire"
    assert f'href="{confirm_url}"' in detail  # a link to the confirmation, not a POST button
    confirm = client.get(confirm_url)
    page = text(confirm)
    assert confirm.status_code == 200
    assert "1,200pt が失効し、LINE連携が解除されます" in page
    assert f"会員 {retiree}（山田 太郎さま）" in page and "元に戻せません" in page
    assert "確認して実行する" in page
    # Asking changed nothing.
    assert (
        fresh(db, Member, db.scalar(select(Member.id).where(Member.member_id == retiree))).status
        is MemberStatus.ACTIVE
    )

    result = post(client, confirm_url)
    shown = text(result)
    assert result.status_code == 200
    assert "失効したポイント：1,200pt" in shown and "LINE連携を解除しました" in shown
    assert "利用停止のお知らせを送りました" in shown
    assert f"担当を {EMAIL} にしました" in shown
    row = fresh(db, Inquiry, inquiry.id)
    assert row.status is InquiryStatus.IN_PROGRESS and row.assignee_id is not None
    # Taking the ticket up sends nothing to the requester (only the retiree's notice went).
    keys = [m.dedupe_key for m in db.scalars(select(OutgoingMessage))]
    db.commit()
    assert keys == [f"retire:{db.scalar(select(Member.id).where(Member.member_id == retiree))}"]
    db.commit()

    # 完了 is one click after: the result page's form, with a ready message.
    message = re.search(r'<textarea id="message" name="message"[^>]*>([^<]*)</textarea>', shown)
    assert message and "完了しました" in message.group(1)
    done = post(
        client, f"/admin/inquiries/{inquiry.number}/status", status="done", message=message.group(1)
    )
    assert done.status_code == 302
    assert fresh(db, Inquiry, inquiry.id).status is InquiryStatus.DONE
    pushes = db.scalars(
        select(OutgoingMessage).where(OutgoingMessage.dedupe_key.startswith("inquiry-status:"))
    ).all()
    db.commit()
    assert len(pushes) == 1 and "完了" in pushes[0].messages[0]["text"]

    # The history names people, never a LINE id; the confirmation now says it cannot run.
    detail = text(client.get(f"/admin/inquiries/{inquiry.number}"))
    assert "U" + "h" * 32 not in detail and "U" + "r" * 32 not in detail
    assert f"会員 {acme.hr_contacts[0].member_id}" in detail and EMAIL in detail
    assert "{# the ticket thread" not in detail  # the marker is a template comment
    again = client.get(confirm_url)
    assert "確認して実行する" not in text(again) and "すでに実行されています" in text(again)
    # Another ticket for the same, already retired, member says so before anything runs.
    second = ticket(
        db,
        clock,
        InquiryType.RETIRE,
        acme.hr_contacts[0].member_id,
        "U" + "h" * 32,
        retiree_name="山田 太郎",
        retiree_member_id=retiree,
    )
    page = text(client.get(f"/admin/inquiries/{second.number}/actions/retire"))
    assert "すでに利用停止済みです" in page and "確認して実行する" not in page


def test_add_seats_confirmation_gives_the_figures_and_refuses_over_the_limit(client, db, clock):
    acme = make_company(db, clock, seats=3, seat_limit=4)
    hr = acme.hr_contacts[0].member_id
    fits = ticket(db, clock, InquiryType.ADD_SEATS, hr, "Uhr", seat_count=1)
    over = ticket(db, clock, InquiryType.ADD_SEATS, hr, "Uhr", seat_count=2)
    login(client)
    page = text(client.get(f"/admin/inquiries/{fits.number}/actions/add_seats"))
    assert "IDを 1件 追加発行します" in page and "利用中 3件 → 4件（プランの上限 4件）" in page
    assert "hr@example.co.jp" in page and "一度だけ表示されます" in page
    refused = text(client.get(f"/admin/inquiries/{over.number}/actions/add_seats"))
    assert "上限を超えるため実行できません" in refused and "確認して実行する" not in refused
    result = text(post(client, f"/admin/inquiries/{fits.number}/actions/add_seats"))
    assert "この画面でのみ表示されます" in result and "再表示はできません" in result
    assert "初期ID・パスワード一覧（Excel）をダウンロード" in result


def test_stop_service_is_an_admin_action_that_terminates_the_company(client, clerk, db, clock):
    acme = make_company(db, clock)
    linked_user(db, clock, acme.members[0].member_id, "U" + "s" * 32)
    inquiry = ticket(
        db,
        clock,
        InquiryType.STOP_SERVICE,
        acme.hr_contacts[0].member_id,
        "Uhr",
        stop_date="2026年6月30日（火）",
        detail="経費削減のため",
    )
    url = f"/admin/inquiries/{inquiry.number}/actions/stop_service"
    # A clerk who is not an admin is neither offered it nor allowed it.
    assert url not in text(clerk.get(f"/admin/inquiries/{inquiry.number}"))
    assert clerk.get(url).status_code == 403
    token = csrf(clerk, "/admin/inquiries")
    assert clerk.post(url, data={"csrf_token": token}).status_code == 403
    assert fresh(db, Company, db.scalar(select(Company.id))).status is CompanyStatus.ACTIVE

    login(client)
    page = text(client.get(url))
    assert "サービスを停止（解約）します" in page and "2026年6月30日" in page
    assert "会員 4名の保有ポイントがすべて失効" in page and "LINE連携中の 1名" in page
    result = post(client, url)
    assert result.status_code == 200 and "サービスを停止しました" in text(result)
    assert fresh(db, Company, db.scalar(select(Company.id))).status is CompanyStatus.TERMINATED
    assert post(client, url).status_code == 409


def test_company_page_search_and_admin_only_status_changes(client, clerk, db, clock):
    acme = make_company(db, clock, name="アクメ株式会社", seats=2, seat_limit=10)
    code = acme.company_code
    linked_user(db, clock, acme.members[0].member_id, "U" + "a" * 32)
    inquiry = ticket(db, clock, InquiryType.OTHER, acme.hr_contacts[0].member_id, "Uhr", detail="q")
    login(client)
    page = text(client.get(f"/admin/companies/{code}"))
    assert "アクメ株式会社" in page and "プランの上限人数</th><td>10名" in page
    assert (
        '利用中のID</th><td id="seats-used">2件' in page and "LINE連携中の会員</th><td>1名" in page
    )
    assert acme.hr_contacts[0].member_id in page and inquiry.number in page
    assert "U" + "a" * 32 not in page
    # Search: by code (straight to the page), by name, by member ID.
    assert (
        client.get(f"/admin/search?q={code.lower()}")
        .headers["Location"]
        .endswith(f"/admin/companies/{code}")
    )
    member_id = acme.members[1].member_id
    assert (
        client.get(f"/admin/search?q={member_id}")
        .headers["Location"]
        .endswith(f"/admin/members/{member_id}")
    )
    assert code in text(client.get("/admin/companies?q=アクメ"))
    assert code in text(client.get("/admin/search?q=アクメ"))
    assert client.get("/admin/search?q=" + "x" * 5000).status_code == 200
    assert client.get("/admin/companies/NOPE0000").status_code == 404

    # Suspend / resume / stop service: admins only, asked first.
    suspend = f"/admin/companies/{code}/status/suspend"
    assert f'href="{suspend}"' in page
    assert "管理者のみ実行できます" in text(clerk.get(f"/admin/companies/{code}"))
    assert clerk.get(suspend).status_code == 403
    assert (
        clerk.post(suspend, data={"csrf_token": csrf(clerk, "/admin/inquiries")}).status_code == 403
    )
    confirm = text(client.get(suspend))
    assert "一時停止します" in confirm and "LINE連携中の 1名" in confirm
    done = post(client, suspend)
    assert done.status_code == 302
    assert "一時停止しました" in text(client.get(done.headers["Location"]))
    assert fresh(db, Company, db.scalar(select(Company.id))).status is CompanyStatus.SUSPENDED
    assert post(client, suspend).status_code == 409  # the second click
    assert client.get(f"/admin/companies/{code}/status/bogus").status_code == 404
    assert post(client, f"/admin/companies/{code}/status/resume").status_code == 302
    assert fresh(db, Company, db.scalar(select(Company.id))).status is CompanyStatus.ACTIVE


def test_member_page_shows_status_link_balance_history_and_tickets(client, db, clock):
    acme, retiree, inquiry = retire_ticket(db, clock)
    login(client)
    page = text(client.get(f"/admin/members/{retiree.lower()}"))
    assert "利用中" in page and "連携中" in page and "1,200pt" in page
    assert "ポイント付与" in page and "お詫び" in page and inquiry.number in page
    assert "U" + "r" * 32 not in page
    assert client.get("/admin/members/NOSUCHID00").status_code == 404
    # By the name given in the ticket.
    named = text(client.get("/admin/members?q=山田"))
    assert inquiry.number in named and retiree in named
    post(client, f"/admin/inquiries/{inquiry.number}/actions/retire")
    page = text(client.get(f"/admin/members/{retiree}"))
    assert "利用停止（退職）" in page and "連携していません" in page
    assert "会員資格喪失によるポイント失効" in page


def test_list_shows_a_preview_filters_by_assignee_and_bounds_paging(client, db, clock):
    acme = make_company(db, clock)
    hr = acme.hr_contacts[0].member_id
    mine = ticket(db, clock, InquiryType.OTHER, hr, "Uhr", detail="請求書の送付先を変更したい")
    other = ticket(db, clock, InquiryType.OTHER, hr, "Uhr", detail="別件です")
    login(client)
    post(client, f"/admin/inquiries/{mine.number}/assign")
    page = text(client.get("/admin/inquiries"))
    assert "請求書の送付先を変更したい" in page and "会員 " + hr in page
    assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2}", page)
    by_me = text(client.get("/admin/inquiries?assignee=me"))
    assert mine.number in by_me and other.number not in by_me
    unassigned = text(client.get("/admin/inquiries?assignee=none"))
    assert other.number in unassigned and mine.number not in unassigned
    assert client.get("/admin/inquiries?assignee=bogus&page=99999999999999").status_code == 200
    deep = text(client.get("/admin/inquiries?page=100000"))
    assert "（500 / 1 ページ）" in deep  # clamped to the bound


def test_show_commands_give_scripts_the_same_facts(cli_runtime, db, clock):
    acme, retiree, inquiry = retire_ticket(db, clock)
    runner = CliRunner()
    shown = runner.invoke(company_cli, ["show", acme.company_code, "--json"], obj=cli_runtime)
    assert shown.exit_code == 0, shown.output
    facts = json.loads(shown.output)
    assert facts["status"] == "active" and facts["seat_limit"] == 5 and facts["ids_issued"] == 3
    assert set(facts["linked_member_ids"]) == {retiree, acme.hr_contacts[0].member_id}
    assert facts["hr_contacts"] == [acme.hr_contacts[0].member_id]
    assert [t["number"] for t in facts["tickets"]] == [inquiry.number]
    member = json.loads(
        runner.invoke(member_cli, ["show", retiree, "--json"], obj=cli_runtime).output
    )
    assert member["status"] == "active" and member["link"]["linked"] is True
    assert member["balance"]["available"] == 1200 and member["history"][0]["kind"] == "grant"
    assert [t["number"] for t in member["tickets"]] == [inquiry.number]
    assert "U" + "r" * 32 not in json.dumps(member)
    runner.invoke(member_cli, ["retire", retiree], obj=cli_runtime)
    runner.invoke(company_cli, ["suspend", acme.company_code], obj=cli_runtime)
    member = json.loads(
        runner.invoke(member_cli, ["show", retiree, "--json"], obj=cli_runtime).output
    )
    assert member["status"] == "retired" and member["link"]["linked"] is False
    assert member["balance"]["available"] == 0
    other = acme.members[1].member_id
    other_facts = json.loads(
        runner.invoke(member_cli, ["show", other, "--json"], obj=cli_runtime).output
    )
    assert other_facts["status"] == "suspended"
    missing = runner.invoke(member_cli, ["show", "NOSUCHID00", "--json"], obj=cli_runtime)
    assert missing.exit_code != 0 and "unknown_member" in missing.output


def test_company_and_member_pages_bound_their_inputs_and_need_a_login(console_app, client):
    anonymous = console_app.test_client()
    for path in ("/admin/companies", "/admin/members?q=x", "/admin/search?q=x"):
        response = anonymous.get(path)
        assert response.status_code == 302 and "/admin/login" in response.headers["Location"]
    login(client)
    for path in (
        "/admin/companies/" + "A" * 5000,
        "/admin/members/" + "Z" * 5000,
        "/admin/companies/%00%ff/status/suspend",
        "/admin/inquiries/INQ-" + "9" * 40 + "/actions/retire",
        "/admin/inquiries/INQ-000001/actions/" + "x" * 300,
    ):
        assert client.get(path).status_code == 404, path
    for query in ("q=" + "あ" * 5000, "q=%00", "q=%25%5F"):
        assert client.get("/admin/members?" + query).status_code == 200
        assert client.get("/admin/companies?" + query).status_code == 200
        assert client.get("/admin/search?" + query).status_code == 200
    assert client.get("/admin/inquiries?company=%00").status_code == 200
    assert client.get("/admin/audit?target=%00").status_code == 200
