"""The mail outbox: real SMTP (aiosmtpd on localhost), outage with backoff and nothing lost,
give-up and re-queue, crash recovery, the console backend, settings from the environment."""

from __future__ import annotations

import io
from email import message_from_bytes, policy
from email.message import EmailMessage
from types import SimpleNamespace

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from adapters.mail import ConsoleSender, SmtpSender, send_due_mail
from bench._procs import free_port
from models.inquiries import InquiryType, create_inquiry
from models.mail import (
    MAX_ATTEMPTS,
    MailSettings,
    MailStatus,
    OutgoingMail,
    claim_due_mail,
    enqueue_mail,
    mail_backoff,
    requeue_failed,
)


class Recorder:
    def __init__(self) -> None:
        self.envelopes: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's API
        self.envelopes.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp_port():
    return free_port()


@pytest.fixture
def smtp_server(smtp_port):
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    yield recorder
    controller.stop()


def smtp_settings(port: int) -> MailSettings:
    return MailSettings(
        backend="smtp",
        host="127.0.0.1",
        port=port,
        starttls=False,
        timeout=2.0,
        mail_from="benesapo@example.jp",
        backoffice_email="backoffice@example.jp",
    )


def runtime(session_factory, clock):
    return SimpleNamespace(session_factory=session_factory, clock=clock)


def queue(db, clock, key: str = "k1", subject: str = "件名です") -> OutgoingMail:
    row = enqueue_mail(
        db,
        dedupe_key=key,
        to=["backoffice@example.jp"],
        subject=subject,
        body="本文です。\n受付番号：INQ-000001",
        now=clock.now(),
    )
    db.commit()
    return row


def status_of(dbview, row_id: int) -> OutgoingMail:
    """Read through the autocommit view (never hold SQLite's write lock while sending)."""
    dbview.expire_all()
    return dbview.get(OutgoingMail, row_id)


def test_sends_through_smtp(db, dbview, clock, session_factory, smtp_server, smtp_port):
    row = queue(db, clock)
    counts = send_due_mail(runtime(session_factory, clock), settings=smtp_settings(smtp_port))
    assert counts == {"sent": 1, "retry": 0, "failed": 0}
    [envelope] = smtp_server.envelopes
    assert envelope.mail_from == "benesapo@example.jp"
    assert envelope.rcpt_tos == ["backoffice@example.jp"]
    message = message_from_bytes(envelope.original_content, policy=policy.default)
    assert message["Subject"] == "件名です"
    assert "INQ-000001" in message.get_content()
    sent = status_of(dbview, row.id)
    assert sent.status == MailStatus.SENT and sent.sent_at == clock.now() and sent.attempts == 1
    # Nothing left: a second run sends nothing again.
    assert send_due_mail(runtime(session_factory, clock), settings=smtp_settings(smtp_port)) == {
        "sent": 0,
        "retry": 0,
        "failed": 0,
    }
    assert len(smtp_server.envelopes) == 1


def test_outage_delays_with_backoff_and_loses_nothing(
    db, dbview, clock, session_factory, smtp_port
):
    row = queue(db, clock)
    rt = runtime(session_factory, clock)
    settings = smtp_settings(smtp_port)  # nothing listens there yet
    assert send_due_mail(rt, settings=settings) == {"sent": 0, "retry": 1, "failed": 0}
    failed = status_of(dbview, row.id)
    assert failed.status == MailStatus.PENDING and failed.attempts == 1
    assert failed.next_attempt_at == clock.now() + mail_backoff(1)
    assert "ConnectionRefusedError" in failed.last_error
    # Not due yet: nothing is tried.
    assert send_due_mail(rt, settings=settings) == {"sent": 0, "retry": 0, "failed": 0}
    clock.advance(minutes=1)
    assert send_due_mail(rt, settings=settings)["retry"] == 1
    assert status_of(dbview, row.id).next_attempt_at == clock.now() + mail_backoff(2)
    assert mail_backoff(2) == 2 * mail_backoff(1) and mail_backoff(30).total_seconds() == 3600
    # The server comes back: the mail goes out once.
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    try:
        clock.advance(minutes=2)
        assert send_due_mail(rt, settings=settings)["sent"] == 1
    finally:
        controller.stop()
    assert len(recorder.envelopes) == 1
    assert status_of(dbview, row.id).status == MailStatus.SENT


class Broken:
    def __init__(self) -> None:
        self.calls = 0

    def send(self, message: EmailMessage) -> None:
        self.calls += 1
        raise OSError("mail server down")


def test_gives_up_after_max_attempts_and_can_be_requeued(db, dbview, clock, session_factory):
    row = queue(db, clock)
    rt = runtime(session_factory, clock)
    broken = Broken()
    settings = smtp_settings(1)
    for _ in range(MAX_ATTEMPTS):
        send_due_mail(rt, sender=broken, settings=settings)
        clock.advance(hours=1)
    assert broken.calls == MAX_ATTEMPTS
    kept = status_of(dbview, row.id)
    assert kept.status == MailStatus.FAILED and "mail server down" in kept.last_error
    assert send_due_mail(rt, sender=broken, settings=settings)["failed"] == 0
    assert requeue_failed(db, clock.now()) == 1
    db.commit()
    out = io.StringIO()
    assert send_due_mail(rt, sender=ConsoleSender(out), settings=settings)["sent"] == 1
    assert "件名です" in out.getvalue()


def test_a_send_interrupted_by_a_crash_is_retried_after_the_lease(
    db, dbview, clock, session_factory
):
    row = queue(db, clock)
    claimed = claim_due_mail(db, clock.now())  # a process claims it, then dies
    db.commit()
    assert [r.id for r in claimed] == [row.id]
    out = io.StringIO()
    rt = runtime(session_factory, clock)
    assert send_due_mail(rt, sender=ConsoleSender(out), settings=smtp_settings(1))["sent"] == 0
    clock.advance(minutes=11)
    assert send_due_mail(rt, sender=ConsoleSender(out), settings=smtp_settings(1))["sent"] == 1
    assert status_of(dbview, row.id).attempts == 2


def test_enqueue_is_idempotent_per_key(db, clock):
    first = queue(db, clock, key="same")
    second = queue(db, clock, key="same", subject="別の件名")
    assert first.id == second.id
    assert db.scalars(select(OutgoingMail)).one().subject == "件名です"


def test_the_ticket_and_its_mail_commit_or_roll_back_together(db, clock, monkeypatch):
    monkeypatch.setenv("BACKOFFICE_EMAIL", "desk@example.jp")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://bot.example.jp")
    inquiry = create_inquiry(
        db,
        clock,
        type=InquiryType.OTHER,
        line_user_id="U" + "1" * 32,
        member=None,
        answers={"detail": "アプリの使い方"},
        console_url="https://bot.example.jp",
    )
    mail = db.scalars(select(OutgoingMail)).one()
    assert mail.to == ["desk@example.jp"]
    assert f"https://bot.example.jp/admin/inquiries/{inquiry.number}" in mail.body
    assert "内容：アプリの使い方" in mail.body and "未連携" in mail.body
    db.rollback()
    assert db.scalars(select(OutgoingMail)).all() == []


def test_console_backend_prints_the_mail(db, clock, session_factory, capsys):
    queue(db, clock)
    settings = MailSettings.from_env({"MAIL_BACKEND": "console"})
    assert send_due_mail(runtime(session_factory, clock), settings=settings)["sent"] == 1
    printed = capsys.readouterr().out
    assert "Subject: 件名です" in printed and "INQ-000001" in printed


def test_settings_from_the_environment():
    default = MailSettings.from_env({})
    assert default.backend == "smtp" and default.port == 587 and default.starttls is True
    assert default.backoffice_email == "joyo-be@joyobank.co.jp"
    custom = MailSettings.from_env(
        {
            "SMTP_HOST": "smtp.example.jp",
            "SMTP_PORT": "1025",
            "SMTP_USER": "u",
            "SMTP_PASSWORD": "p",
            "MAIL_FROM": "noreply@example.jp",
            "BACKOFFICE_EMAIL": "desk@example.jp",
        }
    )
    assert (custom.host, custom.port, custom.starttls) == ("smtp.example.jp", 1025, False)
    assert custom.user == "u" and custom.mail_from == "noreply@example.jp"
    assert MailSettings.from_env({"SMTP_PORT": "25", "SMTP_STARTTLS": "yes"}).starttls is True
    with pytest.raises(RuntimeError, match="SMTP_HOST"):
        SmtpSender(MailSettings()).send(EmailMessage())
