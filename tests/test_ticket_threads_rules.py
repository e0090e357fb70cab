"""Ticket threads' own rules (models.inquiry_thread) and `benesapo inquiries show`."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from bot.cli import cli
from models.events import EventStatus, OutgoingMessage, WebhookEvent
from models.inquiries import InquiryStatus, InquiryType, change_status, create_inquiry
from models.inquiry_thread import (
    InquiryMessage,
    ThreadError,
    attach_from_requester,
    post_from_operator,
    usable_reply_token,
)
from models.line_user import LineUser
from models.mail import DEFAULT_BACKOFFICE_EMAIL, OutgoingMail
from models.operators import create_operator

pytestmark = pytest.mark.usefixtures("cheap_hashing")

USER = "U" + "t" * 32


def _ticket(db, clock, user: str = USER, blocked: bool = False):
    db.add(LineUser(line_user_id=user, first_seen_at=clock.now(), blocked=blocked))
    inquiry = create_inquiry(
        db,
        clock,
        type=InquiryType.OTHER,
        line_user_id=user,
        member=None,
        answers={"detail": "領収書の出し方を知りたいです"},
    )
    db.commit()
    return inquiry


def _event(clock, *, status: str = EventStatus.DONE.value, token: str | None = "rt-1", age=0):
    payload = {"replyToken": token} if token else {}
    return WebhookEvent(
        status=status, payload=payload, received_at=clock.now() - timedelta(seconds=age)
    )


def test_a_reply_token_is_usable_once_within_the_minute_of_a_processed_event(clock) -> None:
    now = clock.now()
    assert usable_reply_token(_event(clock), False, now) == ("rt-1", now + timedelta(seconds=50))
    assert usable_reply_token(_event(clock), True, now) is None  # used already
    assert usable_reply_token(_event(clock, age=51), False, now) is None  # too old
    assert usable_reply_token(_event(clock, token=None), False, now) is None  # none given
    pending = _event(clock, status=EventStatus.PENDING.value)  # its own answer still to come
    assert usable_reply_token(pending, False, now) is None
    assert usable_reply_token(None, False, now) is None


def test_the_requester_writes_once_per_source_to_their_own_open_ticket(db, clock) -> None:
    inquiry = _ticket(db, clock)
    change_status(db, clock, inquiry, InquiryStatus.WAITING, actor="operator:x@example.jp")
    first = attach_from_requester(
        db, clock, inquiry, " 追記です ", line_user_id=USER, source_key="line:1"
    )
    assert first.message is not None and first.message.text == "追記です" and first.reopened
    assert inquiry.status is InquiryStatus.IN_PROGRESS
    again = attach_from_requester(
        db, clock, inquiry, "追記です", line_user_id=USER, source_key="line:1"
    )
    assert again.message is None and not again.reopened
    assert len(db.scalars(select(InquiryMessage)).all()) == 1
    mail = db.scalars(select(OutgoingMail).where(OutgoingMail.dedupe_key.like("inquiry-message:%")))
    assert [m.to for m in mail] == [[DEFAULT_BACKOFFICE_EMAIL]]  # nobody assigned yet

    with pytest.raises(ThreadError) as refused:
        attach_from_requester(db, clock, inquiry, "x", line_user_id="U" + "z" * 32, source_key="a")
    assert refused.value.code == "not_yours"
    for bad, code in (
        ("", "empty"),
        ("あ" * 1001, "too_long"),
        ("pw Abcd2345Efgh", "has_password"),
    ):
        with pytest.raises(ThreadError) as refused:
            attach_from_requester(db, clock, inquiry, bad, line_user_id=USER, source_key="line:9")
        assert refused.value.code == code
    change_status(db, clock, inquiry, InquiryStatus.DONE, actor="operator:x@example.jp")
    with pytest.raises(ThreadError) as refused:
        attach_from_requester(db, clock, inquiry, "まだ", line_user_id=USER, source_key="line:2")
    assert refused.value.code == "closed"


def test_no_push_to_a_requester_who_blocked_the_account(db, clock) -> None:
    inquiry = _ticket(db, clock, blocked=True)
    operator, _ = create_operator(db, clock, "ops@example.jp", "correct-horse-battery")
    message = post_from_operator(
        db, clock, inquiry, operator_id=operator.id, text="ご連絡です", client_key="k1", messages=[]
    )
    assert message.via == "blocked"
    assert (
        db.scalars(
            select(OutgoingMessage).where(OutgoingMessage.dedupe_key.like("inquiry-message:%"))
        ).all()
        == []
    )


def test_show_prints_the_whole_thread_in_jst(db, clock, cli_runtime) -> None:
    inquiry = _ticket(db, clock)
    operator, _ = create_operator(db, clock, "ops@example.jp", "correct-horse-battery")
    change_status(
        db,
        clock,
        inquiry,
        InquiryStatus.WAITING,
        actor="operator:ops@example.jp",
        message="ご確認を",
    )
    clock.advance(minutes=5)
    attach_from_requester(
        db, clock, inquiry, "確認しました", line_user_id=USER, source_key="line:5"
    )
    clock.advance(minutes=5)
    post_from_operator(
        db, clock, inquiry, operator_id=operator.id, text="ありがとうございます", client_key="k",
        messages=[{"type": "text", "text": "x"}],
    )  # fmt: skip
    db.commit()
    runner = CliRunner()
    shown = runner.invoke(cli, ["inquiries", "show", inquiry.number], obj=cli_runtime)
    assert shown.exit_code == 0, shown.output
    assert inquiry.number in shown.output and "領収書の出し方" in shown.output
    assert "確認しました" in shown.output and "operator:ops@example.jp" in shown.output
    as_json = runner.invoke(cli, ["inquiries", "show", inquiry.number, "--json"], obj=cli_runtime)
    data = json.loads(as_json.output)
    thread = data["thread"]
    assert [e["kind"] for e in thread] == ["form", "status", "status", "message", "message"]
    assert [e["who"] for e in thread][2:] == ["requester", "requester", "operator:ops@example.jp"]
    assert thread[2]["text"] == "[お客さまの回答待ち → 対応中]"  # the requester's message did it
    assert thread[1]["text"].endswith("ご確認を") and "お客さまの回答待ち" in thread[1]["text"]
    assert thread[3]["at"] == "2026-04-01 10:05"  # 01:05 UTC in JST
    missing = runner.invoke(cli, ["inquiries", "show", "INQ-999999"], obj=cli_runtime)
    assert missing.exit_code != 0 and "no inquiry" in missing.output


@pytest.mark.parametrize(
    ("status", "next_step", "button"),
    [
        (InquiryStatus.IN_PROGRESS, "事務局で対応しています", False),
        (InquiryStatus.WAITING, "このトークにそのまま入力するか", True),
        (InquiryStatus.DONE, "対応が完了しました", False),
        (InquiryStatus.REJECTED, "ご不明な点がございましたら", False),
    ],
)
def test_every_status_push_says_what_happens_next(db, clock, status, next_step, button) -> None:
    inquiry = _ticket(db, clock)
    assert change_status(db, clock, inquiry, status, actor="operator:x@example.jp")
    push = db.scalars(
        select(OutgoingMessage).where(OutgoingMessage.dedupe_key.like("inquiry-status:%"))
    ).one()
    message = push.messages[0]
    assert next_step in message["text"] and len(message["text"]) < 300
    items = (message.get("quickReply") or {}).get("items", [])
    assert bool(items) is button
    if button:
        assert items[0]["action"]["data"] == f"action=ticket_reply&number={inquiry.number}"


def test_the_waiting_push_never_takes_over_another_open_conversation(db, clock) -> None:
    from models.conversation import Conversation, ConversationStore

    inquiry = _ticket(db, clock)
    ConversationStore(db, USER, clock).start("inquiry", "detail", {"type": "other"})
    change_status(db, clock, inquiry, InquiryStatus.WAITING, actor="operator:x@example.jp")
    assert db.get(Conversation, USER).name == "inquiry"  # the form goes on; the button opens it
    ConversationStore(db, USER, clock).clear()
    change_status(db, clock, inquiry, InquiryStatus.IN_PROGRESS, actor="operator:x@example.jp")
    change_status(db, clock, inquiry, InquiryStatus.WAITING, actor="operator:x@example.jp")
    opened = db.get(Conversation, USER)
    assert opened.name == "ticket_reply" and opened.data == {"number": inquiry.number}
    assert opened.expires_at == clock.now() + timedelta(days=7)
