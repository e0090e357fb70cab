"""Credentials never go into a chat (issue 16.11): only a linked HR contact (or the member for
their own ID) may ask; the console's password reset e-mails the new password to the company's
registered HR contact address (real SMTP), shows it nowhere, and leaves no password in the
ticket's history, the LINE outbox, the audit log or (once sent) the mail outbox; a status
message carrying a password is refused."""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from types import SimpleNamespace

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from adapters.mail import send_due_mail
from adapters.runtime import build_runtime
from bench._procs import free_port
from bot.app import create_app
from common.config import Settings
from models.audit import AuditEntry
from models.company import Member
from models.credentials import looks_like_password, may_request_credentials
from models.events import OutgoingMessage
from models.inquiries import (
    Inquiry,
    InquiryError,
    InquiryEvent,
    InquiryStatus,
    InquiryType,
    RequesterKind,
    create_inquiry,
)
from models.mail import (
    MAX_ATTEMPTS,
    REDACTED_BODY,
    MailSettings,
    MailStatus,
    OutgoingMail,
    requeue_failed,
)
from models.operators import create_operator
from models.passwords import generate_password, verify_password
from models.timeutil import FixedClock
from tests.helpers import ACCESS_TOKEN, CHANNEL_SECRET, SECRET_KEY
from tests.test_inquiries_support import make_company

pytestmark = pytest.mark.usefixtures("cheap_hashing")

EMAIL = "creds@example.jp"
PASSWORD = "correct-horse-battery"
HR_ADDRESS = "hr@example.co.jp"  # make_company's contact_email


@pytest.fixture(scope="module")
def creds_clock() -> FixedClock:
    return FixedClock()


@pytest.fixture(scope="module")
def creds_app(engine, creds_clock):
    settings = Settings(
        channel_secret=CHANNEL_SECRET,
        channel_access_token=ACCESS_TOKEN,
        database_url=str(engine.url),
        secret_key=SECRET_KEY,
    )
    runtime = build_runtime(settings, engine=engine, clock=creds_clock)
    return create_app(runtime=runtime, start_workers=False)


@pytest.fixture
def clock(creds_clock):
    creds_clock.set(FixedClock().now())
    return creds_clock


@pytest.fixture
def client(creds_app, db, clock):
    create_operator(db, clock, EMAIL, PASSWORD)
    db.commit()
    client = creds_app.test_client()
    token = _token(client.get("/admin/login").get_data(as_text=True))
    client.post("/admin/login", data={"email": EMAIL, "password": PASSWORD, "csrf_token": token})
    return client


@pytest.fixture
def smtp():
    envelopes: list = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's API
            envelopes.append(envelope)
            return "250 OK"

    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    settings = MailSettings(
        backend="smtp", host="127.0.0.1", port=port, starttls=False, timeout=2.0
    )
    yield SimpleNamespace(envelopes=envelopes, settings=settings)
    controller.stop()


def _token(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, page
    return match.group(1)


def _post(client, path: str, **data):
    token = _token(client.get("/admin/inquiries").get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **data})


def _member(db, member_id: str) -> Member:
    return db.scalars(select(Member).where(Member.member_id == member_id)).one()


def _stored_text(db) -> str:
    """Everything the tables that keep messages and history hold, as one string."""
    db.expire_all()
    parts: list[str] = []
    for event in db.scalars(select(InquiryEvent)):
        parts += [event.message or "", str(event.details)]
    for row in db.scalars(select(OutgoingMessage)):
        parts.append(str(row.messages))
    for entry in db.scalars(select(AuditEntry)):
        parts.append(str(entry.details))
    db.commit()
    return "\n".join(parts)


def _mail_rows(db) -> list[OutgoingMail]:
    db.expire_all()
    rows = list(db.scalars(select(OutgoingMail).where(OutgoingMail.sensitive)))
    db.commit()
    return rows


# -- who may ask --------------------------------------------------------------------------------


def test_only_a_linked_hr_contact_or_the_member_may_ask_for_credentials(db, clock):
    acme = make_company(db, clock, hr_contacts=1)
    other = make_company(db, clock, name="他社")
    hr = _member(db, acme.hr_contacts[0].member_id)
    employee = _member(db, acme.members[0].member_id)
    colleague = _member(db, acme.members[1].member_id)
    stranger = _member(db, other.members[0].member_id)
    assert may_request_credentials(hr, colleague) and may_request_credentials(hr, None)
    assert may_request_credentials(employee, employee)
    assert not may_request_credentials(employee, colleague)
    assert not may_request_credentials(hr, stranger)
    assert not may_request_credentials(None, employee) and not may_request_credentials(None, None)

    def file(member, **answers):
        return create_inquiry(
            db,
            clock,
            type=InquiryType.CREDENTIALS,
            line_user_id="U1",
            member=member,
            answers={"credential_what": "ID・パスワード", **answers},
            company_code=acme.company_code,
        )

    for member, target in (
        (None, employee.member_id),  # an unlinked user, for any member ID
        (employee, colleague.member_id),  # an employee, for someone else
        (hr, stranger.member_id),  # an HR contact, for another company's member
        (hr, "NOSUCHID99"),
    ):
        with pytest.raises(InquiryError) as refused:
            file(member, target_member_id=target)
        assert refused.value.code == "credentials_not_allowed"
    assert file(hr, target_member_id=colleague.member_id).requester_kind is RequesterKind.HR_CONTACT
    assert file(employee, target_member_id=employee.member_id).requester is employee
    db.commit()


def test_an_unlinked_user_cannot_request_credentials_in_the_chat(chat, dbview, db, app_clock):
    make_company(db, app_clock)
    menu = chat.say("問い合わせ")
    labels = [a["action"]["label"] for m in menu for a in m.get("quickReply", {}).get("items", [])]
    assert "コード・ID・PW再送" not in labels and "その他の質問" in labels
    answer = chat.tap("action=inquiry&type=credentials")  # e.g. the FAQ's button
    text = "\n".join(m.get("text", "") for m in answer)
    assert "ID・パスワードの再送は" in text and "ご担当者さま" in text
    dbview.expire_all()
    assert dbview.scalars(select(Inquiry)).all() == []
    assert "企業コード（英数字8桁）" not in text  # no form was started


# -- the console's reset ------------------------------------------------------------------------


def _credentials_ticket(db, clock, acme, requester_id: str, target_id: str) -> Inquiry:
    inquiry = create_inquiry(
        db,
        clock,
        type=InquiryType.CREDENTIALS,
        line_user_id="U" + "s" * 32,
        member=_member(db, requester_id),
        answers={"credential_what": "ID・パスワード", "target_member_id": target_id},
    )
    db.commit()
    return inquiry


def test_reset_password_mails_the_hr_address_and_stores_no_password(
    client, db, clock, smtp, session_factory
):
    acme = make_company(db, clock)
    target = acme.members[1].member_id
    inquiry = _credentials_ticket(db, clock, acme, acme.hr_contacts[0].member_id, target)
    number, inquiry_id = inquiry.number, inquiry.id  # (reading `inquiry` later would lock SQLite)
    response = _post(client, f"/admin/inquiries/{number}/actions/reset_password")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "企業のご登録担当者アドレス" in page and HR_ADDRESS in page and "メールで" in page
    assert 'id="new-password"' not in page
    [mail] = _mail_rows(db)
    assert mail.to == [HR_ADDRESS] and mail.status == MailStatus.PENDING
    password = re.search(r"新しい初期パスワード：(\S+)", mail.body).group(1)
    assert verify_password(_member(db, target).password_hash, password)
    assert not verify_password(_member(db, target).password_hash, acme.members[1].password)
    db.commit()
    assert password not in page
    assert password not in _stored_text(db)
    assert password not in client.get(f"/admin/inquiries/{number}").get_data(as_text=True)

    # The mail goes out to the HR address only; then its stored body is redacted.
    rt = SimpleNamespace(session_factory=session_factory, clock=clock)
    assert send_due_mail(rt, settings=smtp.settings)["sent"] == 2  # + the back office's
    carrying = [
        e
        for e in smtp.envelopes
        if password in e.original_content.decode("utf-8", "replace")
        or password in message_from_bytes(e.original_content, policy=policy.default).get_content()
    ]
    [envelope] = carrying
    assert envelope.rcpt_tos == [HR_ADDRESS]
    sent = message_from_bytes(envelope.original_content, policy=policy.default)
    assert target in sent.get_content()
    [mail] = _mail_rows(db)
    assert mail.status == MailStatus.SENT and mail.body == REDACTED_BODY

    # The operator cannot pass the password on in the status message (nor any generated one).
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in password)
    for message in (f"新しいパスワードは {password} です", f"ＰＷ：{full_width}"):
        refused = _post(client, f"/admin/inquiries/{number}/status", status="done", message=message)
        assert refused.status_code == 400 and "LINEでは送れません" in refused.get_data(as_text=True)
    db.expire_all()
    # Running the action took the ticket up (対応中, no push); the refusals changed nothing.
    assert db.get(Inquiry, inquiry_id).status is InquiryStatus.IN_PROGRESS
    assert db.scalars(select(OutgoingMessage)).all() == []
    db.commit()
    done = _post(
        client,
        f"/admin/inquiries/{number}/status",
        status="done",
        message="ご登録の担当者さまのメールアドレスへお送りしました。",
    )
    assert done.status_code == 302
    assert password not in _stored_text(db)


def test_no_reset_for_a_ticket_an_unlinked_user_filed(client, db, clock):
    """A ticket filed before the rule (by anyone, for any ID) cannot get a password reset."""
    acme = make_company(db, clock)
    target = acme.members[0].member_id
    legacy = Inquiry(
        type=InquiryType.CREDENTIALS,
        status=InquiryStatus.NEW,
        company_id=_member(db, target).company_id,
        company_code=acme.company_code,
        requester_kind=RequesterKind.UNLINKED,
        line_user_id="U" + "x" * 32,
        answers={"credential_what": "ID・パスワード", "member_id": target},
        created_at=clock.now(),
        updated_at=clock.now(),
    )
    db.add(legacy)
    db.commit()
    before = _member(db, target).password_hash
    db.commit()
    page = client.get(f"/admin/inquiries/{legacy.number}").get_data(as_text=True)
    assert "初期パスワードを再発行</button>" not in page
    response = _post(client, f"/admin/inquiries/{legacy.number}/actions/reset_password")
    assert response.status_code == 409
    assert "連携済みの企業担当者さま" in response.get_data(as_text=True)
    db.expire_all()
    assert _member(db, target).password_hash == before
    assert _mail_rows(db) == []


def test_add_seats_page_says_how_the_credentials_are_delivered(client, db, clock):
    acme = make_company(db, clock, seats=1, seat_limit=5)
    inquiry = create_inquiry(
        db,
        clock,
        type=InquiryType.ADD_SEATS,
        line_user_id="Uhr",
        member=_member(db, acme.hr_contacts[0].member_id),
        answers={"seat_count": 1},
    )
    db.commit()
    page = _post(client, f"/admin/inquiries/{inquiry.number}/actions/add_seats")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="delivery"' in text
    assert HR_ADDRESS in text and "初期ID・パスワード一覧（Excel）" in text
    assert "LINEのメッセージでは送れません" in text


# -- the mail outbox keeps no credentials --------------------------------------------------------


class Broken:
    def send(self, message) -> None:
        raise OSError("mail server down")


def test_a_credentials_mail_given_up_is_redacted_and_never_requeued(db, clock, session_factory):
    from models.mail import enqueue_mail

    secret = generate_password()
    row = enqueue_mail(
        db,
        dedupe_key="c1",
        to=[HR_ADDRESS],
        subject="s",
        body=f"PW {secret}",
        now=clock.now(),
        sensitive=True,
    )
    row.attempts = MAX_ATTEMPTS - 1
    db.commit()
    rt = SimpleNamespace(session_factory=session_factory, clock=clock)
    assert send_due_mail(rt, sender=Broken(), settings=MailSettings())["failed"] == 1
    db.expire_all()
    kept = db.get(OutgoingMail, row.id)
    assert kept.status == MailStatus.FAILED and secret not in kept.body
    assert requeue_failed(db, clock.now()) == 0
    db.commit()


def test_password_shaped_strings_are_found():
    for value in (generate_password() for _ in range(50)):
        assert looks_like_password(f"パスワードは{value}です")
    assert looks_like_password("ＡｂＣ２ｄｅＦｇｈ３")  # full width
    for harmless in ("INQ-000123", "会員ID M2345ABCDE", "2026年6月30日", "iPhone12Pro", ""):
        assert not looks_like_password(harmless), harmless
