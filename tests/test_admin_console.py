"""The back-office console through Flask's test client: login, lockout, CSRF, cookie flags,
list filters and paging, detail, assign, status change with the LINE push queued, one-click
actions (retire, add seats with the ID list workbook) and the audit log. The password reset and
its delivery: tests/test_credentials_delivery.py."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from adapters.runtime import build_runtime
from bot.app import create_app
from common.config import Settings
from models import audit
from models.company import Member, MemberStatus
from models.events import OutgoingMessage
from models.inquiries import Inquiry, InquiryEvent, InquiryStatus, InquiryType, create_inquiry
from models.line_user import LineUser
from models.operators import create_operator
from models.passwords import verify_password
from models.timeutil import FixedClock
from tests.helpers import ACCESS_TOKEN, CHANNEL_SECRET, SECRET_KEY
from tests.test_inquiries_support import make_company

PASSWORD = "correct-horse-battery"
EMAIL = "ops@example.jp"


pytestmark = pytest.mark.usefixtures("cheap_hashing")


@pytest.fixture(scope="module")
def console_clock() -> FixedClock:
    return FixedClock()


@pytest.fixture(scope="module")
def console_app(engine, console_clock):
    settings = Settings(
        channel_secret=CHANNEL_SECRET,
        channel_access_token=ACCESS_TOKEN,
        database_url=str(engine.url),
        public_base_url="https://bot.example.jp",
        secret_key=SECRET_KEY,
    )
    runtime = build_runtime(settings, engine=engine, clock=console_clock)
    return create_app(runtime=runtime, start_workers=False)


@pytest.fixture
def clock(console_clock):
    console_clock.set(FixedClock().now())
    return console_clock


@pytest.fixture
def client(console_app, db, clock):
    create_operator(db, clock, EMAIL, PASSWORD, role="admin")
    db.commit()
    return console_app.test_client()


def csrf(client, path: str = "/admin/login") -> str:
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, page
    return match.group(1)


def login(client, email: str = EMAIL, password: str = PASSWORD):
    token = csrf(client)
    return client.post(
        "/admin/login", data={"email": email, "password": password, "csrf_token": token}
    )


def post(client, path: str, **data):
    return client.post(path, data={"csrf_token": csrf(client, "/admin/inquiries"), **data})


def linked_user(db, clock, member_id: str, user_id: str, blocked: bool = False) -> LineUser:
    member = db.scalars(select(Member).where(Member.member_id == member_id)).one()
    user = LineUser(
        line_user_id=user_id,
        first_seen_at=clock.now(),
        blocked=blocked,
        member_pk=member.id,
        linked_at=clock.now(),
    )
    db.add(user)
    db.commit()
    return user


def ticket(db, clock, kind: InquiryType, member_id: str, user_id: str, **answers) -> Inquiry:
    member = db.scalars(select(Member).where(Member.member_id == member_id)).one()
    inquiry = create_inquiry(
        db, clock, type=kind, line_user_id=user_id, member=member, answers=answers
    )
    db.commit()
    return inquiry


def fresh(db, cls, key):
    db.expire_all()
    value = db.get(cls, key)
    db.commit()  # never keep SQLite's write lock while the app works
    return value


# -- login, cookie, CSRF, lockout --------------------------------------------------------------


def test_pages_need_a_login_and_the_session_cookie_is_protected(client):
    response = client.get("/admin/inquiries")
    assert response.status_code == 302 and "/admin/login" in response.headers["Location"]
    page = client.get("/admin/login")
    assert "事務局コンソール ログイン" in page.get_data(as_text=True)
    assert page.headers["X-Frame-Options"] == "DENY" and page.headers["Cache-Control"] == "no-store"
    response = login(client)
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    assert "お問い合わせ一覧" in client.get("/admin/inquiries").get_data(as_text=True)


def test_every_form_needs_the_csrf_token(client, db, clock):
    bad = client.post("/admin/login", data={"email": EMAIL, "password": PASSWORD})
    assert bad.status_code == 400 and "不正な送信" in bad.get_data(as_text=True)
    forged = client.post(
        "/admin/login", data={"email": EMAIL, "password": PASSWORD, "csrf_token": "forged"}
    )
    assert forged.status_code == 400
    login(client)
    issued = make_company(db, clock)
    inquiry = ticket(
        db, clock, InquiryType.OTHER, issued.hr_contacts[0].member_id, "U1", detail="q"
    )
    response = client.post(f"/admin/inquiries/{inquiry.number}/status", data={"status": "done"})
    assert response.status_code == 400
    assert fresh(db, Inquiry, inquiry.id).status is InquiryStatus.NEW
    assert client.post("/admin/logout", data={}).status_code == 400  # logout too


def test_wrong_password_never_says_which_field_and_five_failures_lock(client, db, clock):
    for _ in range(5):
        response = login(client, password="wrong-password")
        assert response.status_code == 401
        assert "メールアドレスとパスワードをご確認ください" in response.get_data(as_text=True)
    assert login(client, email="nobody@example.jp").status_code == 401
    locked = login(client)  # the right password, but locked
    assert locked.status_code == 429 and "ロック" in locked.get_data(as_text=True)
    assert client.get("/admin/inquiries").status_code == 302
    clock.advance(minutes=15, seconds=1)
    assert login(client).status_code == 302
    actions = [e.action for e in audit.entries(db, target=f"operator:{EMAIL}")]
    db.commit()
    assert actions.count("operator_login_failed") == 5 and actions[-1] == "operator_login"


# -- list, filters, paging ----------------------------------------------------------------------


def test_list_filters_by_status_type_and_company_and_pages(client, db, clock):
    acme = make_company(db, clock, name="アクメ株式会社")
    beta = make_company(db, clock, name="ベータ物産")
    acme_hr = acme.hr_contacts[0].member_id
    for n in range(22):
        ticket(db, clock, InquiryType.OTHER, acme_hr, "Uacme", detail=f"質問{n}")
    seats = ticket(
        db, clock, InquiryType.ADD_SEATS, beta.hr_contacts[0].member_id, "Ub", seat_count=1
    )
    done = ticket(db, clock, InquiryType.RETIRE, acme_hr, "Uacme", retiree_name="x")
    row = db.get(Inquiry, done.id)
    row.status = InquiryStatus.DONE
    db.commit()
    login(client)

    first = client.get("/admin/inquiries").get_data(as_text=True)  # default: open tickets
    assert "23件" in first and first.count("/admin/inquiries/INQ-") == 20
    assert done.number not in first and 'rel="next"' in first
    second = client.get("/admin/inquiries?status=open&type=&company=&page=2").get_data(as_text=True)
    assert second.count("/admin/inquiries/INQ-") == 3 and 'rel="prev"' in second

    by_type = client.get("/admin/inquiries?type=add_seats").get_data(as_text=True)
    assert "1件" in by_type and seats.number in by_type
    by_status = client.get("/admin/inquiries?status=done").get_data(as_text=True)
    assert done.number in by_status and "1件" in by_status
    by_code = client.get(f"/admin/inquiries?status=&company={beta.company_code}")
    assert seats.number in by_code.get_data(as_text=True)
    by_name = client.get("/admin/inquiries?status=&company=アクメ").get_data(as_text=True)
    assert "23件" in by_name and seats.number not in by_name
    junk = client.get("/admin/inquiries?status=bogus&type=bogus&page=x")
    assert junk.status_code == 200


# -- detail, assign, status ---------------------------------------------------------------------


def test_assign_and_change_status_queue_the_push_to_the_requester(client, db, clock):
    acme = make_company(db, clock)
    hr_id = acme.hr_contacts[0].member_id
    linked_user(db, clock, hr_id, "U" + "h" * 32)
    inquiry = ticket(
        db,
        clock,
        InquiryType.RETIRE,
        hr_id,
        "U" + "h" * 32,
        retiree_name="山田 太郎",
        retiree_member_id=acme.members[0].member_id,
    )
    login(client)
    page = client.get(f"/admin/inquiries/{inquiry.number}").get_data(as_text=True)
    assert "山田 太郎" in page and "退職者のお名前" in page and "未割り当て" in page
    assert client.get("/admin/inquiries/INQ-999999").status_code == 404

    response = post(client, f"/admin/inquiries/{inquiry.number}/assign")
    assert response.status_code == 302
    assert EMAIL in client.get(response.headers["Location"]).get_data(as_text=True)

    response = post(
        client,
        f"/admin/inquiries/{inquiry.number}/status",
        status="in_progress",
        message="ご依頼を確認しました。本日中に対応いたします。",
    )
    assert response.status_code == 302
    row = fresh(db, Inquiry, inquiry.id)
    assert row.status is InquiryStatus.IN_PROGRESS and row.assignee_id is not None
    push = db.scalars(
        select(OutgoingMessage).where(OutgoingMessage.dedupe_key.startswith("inquiry-status:"))
    ).one()
    db.commit()
    assert push.to == ["U" + "h" * 32]
    body = push.messages[0]["text"]
    assert inquiry.number in body and "対応中" in body and "本日中に対応いたします" in body

    same = post(client, f"/admin/inquiries/{inquiry.number}/status", status="in_progress")
    assert same.status_code == 400 and "ステータスが同じです" in same.get_data(as_text=True)
    long = post(
        client, f"/admin/inquiries/{inquiry.number}/status", status="done", message="あ" * 1001
    )
    assert long.status_code == 400
    page = client.get(f"/admin/inquiries/{inquiry.number}").get_data(as_text=True)
    assert "受付済み → 対応中" in page

    kinds = [e.action for e in audit.entries(db, target=f"inquiry:{inquiry.number}")]
    db.commit()
    assert kinds == ["inquiry_assigned", "inquiry_status_changed"]
    audit_page = client.get(f"/admin/audit?target=inquiry:{inquiry.number}").get_data(as_text=True)
    # Operation names in Japanese, the operator by e-mail (never the raw actor string).
    assert "ステータスの変更" in audit_page and "担当の割り当て" in audit_page
    assert f"<td>{EMAIL}</td>" in audit_page and f"operator:{EMAIL}" not in audit_page


def test_no_push_to_a_user_who_blocked_the_account(client, db, clock):
    acme = make_company(db, clock)
    hr_id = acme.hr_contacts[0].member_id
    linked_user(db, clock, hr_id, "Ublocked", blocked=True)
    inquiry = ticket(db, clock, InquiryType.OTHER, hr_id, "Ublocked", detail="質問")
    login(client)
    page = client.get(f"/admin/inquiries/{inquiry.number}").get_data(as_text=True)
    assert "ブロック中" in page
    post(client, f"/admin/inquiries/{inquiry.number}/status", status="done", message="回答です")
    assert fresh(db, Inquiry, inquiry.id).status is InquiryStatus.DONE
    assert db.scalars(select(OutgoingMessage)).all() == []
    db.commit()


# -- one-click actions --------------------------------------------------------------------------


def test_retire_action_retires_the_named_member_once(client, db, clock):
    acme = make_company(db, clock)
    hr_id = acme.hr_contacts[0].member_id
    retiree = acme.members[0].member_id
    linked_user(db, clock, retiree, "U" + "r" * 32)
    inquiry = ticket(
        db,
        clock,
        InquiryType.RETIRE,
        hr_id,
        "Uhr",
        retiree_name="退職 太郎",
        retiree_member_id=retiree,
    )
    login(client)
    page = client.get(f"/admin/inquiries/{inquiry.number}").get_data(as_text=True)
    assert "退職者の利用停止を実行" in page
    response = post(client, f"/admin/inquiries/{inquiry.number}/actions/retire")
    assert response.status_code == 200 and retiree in response.get_data(as_text=True)
    member = db.scalars(select(Member).where(Member.member_id == retiree)).one()
    assert member.status is MemberStatus.RETIRED
    assert db.get(LineUser, "U" + "r" * 32).member_pk is None
    assert db.scalars(
        select(OutgoingMessage).where(OutgoingMessage.dedupe_key.startswith("retire:"))
    ).one()
    db.commit()
    page = client.get(f"/admin/inquiries/{inquiry.number}").get_data(as_text=True)
    assert "退職者の利用停止を実行</button>" not in page and "定型処理" in page
    again = post(client, f"/admin/inquiries/{inquiry.number}/actions/retire")
    assert again.status_code == 409 and "すでに実行されています" in again.get_data(as_text=True)
    actions = [e.action for e in audit.entries(db, target=f"inquiry:{inquiry.number}")]
    assert "inquiry_action_retire" in actions
    assert [e.action for e in audit.entries(db, target=f"member:{retiree}")] == ["member_retired"]
    db.commit()


def test_retire_action_refuses_a_member_of_another_company(client, db, clock):
    acme = make_company(db, clock)
    other = make_company(db, clock, name="他社")
    inquiry = ticket(
        db,
        clock,
        InquiryType.RETIRE,
        acme.hr_contacts[0].member_id,
        "Uhr",
        retiree_name="x",
        retiree_member_id=other.members[0].member_id,
    )
    login(client)
    response = post(client, f"/admin/inquiries/{inquiry.number}/actions/retire")
    assert response.status_code == 409 and "所属していません" in response.get_data(as_text=True)
    member = db.scalars(select(Member).where(Member.member_id == other.members[0].member_id)).one()
    assert member.status is MemberStatus.ACTIVE
    assert db.scalars(select(InquiryEvent).where(InquiryEvent.kind == "action")).all() == []
    db.commit()
    wrong_type = post(client, f"/admin/inquiries/{inquiry.number}/actions/add_seats")
    assert wrong_type.status_code == 409


def test_add_seats_action_shows_the_ids_once_and_offers_the_workbook(client, db, clock):
    acme = make_company(db, clock, seats=3, seat_limit=5)
    inquiry = ticket(
        db, clock, InquiryType.ADD_SEATS, acme.hr_contacts[0].member_id, "Uhr", seat_count=2
    )
    login(client)
    response = post(client, f"/admin/inquiries/{inquiry.number}/actions/add_seats")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "2件のIDを追加発行しました" in page
    ids = re.findall(r'name="member_id" value="([^"]+)"', page)
    passwords = re.findall(r'name="password" value="([^"]+)"', page)
    assert len(ids) == 2 and len(passwords) == 2
    for member_id, password in zip(ids, passwords, strict=True):
        member = db.scalars(select(Member).where(Member.member_id == member_id)).one()
        assert verify_password(member.password_hash, password)
    db.commit()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    download = client.post(
        "/admin/idlist.xlsx",
        data={
            "csrf_token": token,
            "company_code": acme.company_code,
            "company_name": "テスト商事",
            "member_id": ids,
            "password": passwords,
        },
    )
    assert download.status_code == 200
    assert "attachment" in download.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(download.data))
    cells = {str(c.value) for row in book.worksheets[0].iter_rows() for c in row}
    assert set(ids) <= cells and set(passwords) <= cells and acme.company_code in cells
    # Another request above the plan's limit is refused with the figures, and changes nothing.
    more = ticket(
        db, clock, InquiryType.ADD_SEATS, acme.hr_contacts[0].member_id, "Uhr", seat_count=1
    )
    refused = post(client, f"/admin/inquiries/{more.number}/actions/add_seats")
    assert refused.status_code == 409 and "上限 5件" in refused.get_data(as_text=True)
    assert (
        db.scalars(
            select(InquiryEvent).where(
                InquiryEvent.inquiry_id == more.id, InquiryEvent.kind == "action"
            )
        ).all()
        == []
    )
    db.commit()
