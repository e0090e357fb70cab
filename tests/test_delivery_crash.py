"""A worker that dies (kill -9) around a reply: answered once, by reply, never reply + push."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import pytest
from sqlalchemy import select

from bot.delivery import Deliverer, Outgoing
from bot.processing import EventProcessor
from models.events import (
    REPLY_CLAIM_LEASE,
    EventStatus,
    OutboxStatus,
    OutgoingMessage,
    WebhookEvent,
)
from tests.e2e import texts_of

REPLY = "/v2/bot/message/reply"
PUSH = "/v2/bot/message/push"


class WorkerKilled(BaseException):
    """Stands for SIGKILL: nothing after it runs in that worker."""


class DiesAfterSending(Deliverer):
    """Sends as a worker does, then dies before recording the outcome."""

    def _record(self, outcomes):  # type: ignore[no-untyped-def]
        raise WorkerKilled


class DiesBeforeSending(Deliverer):
    def send_many(self, items: Sequence[Outgoing]) -> list[str]:
        raise WorkerKilled


class Stalls(Deliverer):
    """Holds its claimed replies (a worker stuck before its send), to send them later."""

    held: list[Outgoing]

    def send_many(self, items: Sequence[Outgoing]) -> list[str]:
        self.held = list(items)
        return []


def process_with(services, deliverer: Deliverer) -> None:
    processor = EventProcessor(services.runtime, services.router, deliverer)
    with contextlib.suppress(WorkerKilled):
        processor.run_once()


@pytest.fixture
def stopped(services):
    """The bot's own worker threads stopped: this test plays the workers."""
    services.stop_workers()
    return services


def the_row(dbview) -> OutgoingMessage:
    dbview.expire_all()
    return dbview.scalars(select(OutgoingMessage)).one()


def the_event(dbview) -> WebhookEvent:
    dbview.expire_all()
    return dbview.scalars(select(WebhookEvent)).one()


def test_reply_sent_by_a_worker_that_died_before_recording_it_is_not_pushed_again(
    stopped, chat, emulator, dbview, app_clock
):
    assert emulator.send_text(chat.user_id, "使い方")["status"] == 200
    process_with(stopped, DiesAfterSending(stopped.runtime, stopped.line))
    assert "使い方" in texts_of(chat.new_messages())  # the user has the reply
    assert the_row(dbview).status == OutboxStatus.SENDING  # nobody recorded it

    app_clock.advance(seconds=REPLY_CLAIM_LEASE.total_seconds() + 1)  # token still good
    stopped.deliverer.deliver_due()
    app_clock.advance(minutes=10)  # long after the token: nothing may be pushed now
    stopped.deliverer.deliver_due()

    assert [c["status"] for c in emulator.calls(REPLY)] == [200, 400]  # used: delivered
    assert emulator.calls(PUSH) == []
    assert [m["via"] for m in emulator.inbox(chat.user_id)] == ["reply"]
    row = the_row(dbview)
    assert row.status == OutboxStatus.SENT and row.sent_via == "reply" and row.reply_ambiguous
    assert the_event(dbview).status == EventStatus.DONE  # its user's next event may go ahead


def test_reply_a_worker_died_before_sending_goes_out_by_reply_while_the_token_is_good(
    stopped, chat, emulator, dbview, app_clock
):
    assert emulator.send_text(chat.user_id, "使い方")["status"] == 200
    process_with(stopped, DiesBeforeSending(stopped.runtime, stopped.line))
    assert chat.new_messages() == []

    app_clock.advance(seconds=REPLY_CLAIM_LEASE.total_seconds() + 1)
    stopped.deliverer.deliver_due()

    assert [c["status"] for c in emulator.calls(REPLY)] == [200]
    assert emulator.calls(PUSH) == []
    assert "使い方" in texts_of(chat.new_messages())
    assert the_row(dbview).status == OutboxStatus.SENT
    assert the_event(dbview).status == EventStatus.DONE


def test_a_stalled_worker_whose_reply_was_taken_back_does_not_push_it(
    stopped, chat, emulator, dbview, app_clock
):
    assert emulator.send_text(chat.user_id, "使い方")["status"] == 200
    stalled = Stalls(stopped.runtime, stopped.line)
    process_with(stopped, stalled)

    app_clock.advance(seconds=REPLY_CLAIM_LEASE.total_seconds() + 1)
    stopped.deliverer.deliver_due()  # another worker takes the claim back and replies
    assert [c["status"] for c in emulator.calls(REPLY)] == [200]

    # The stalled worker wakes up: the token is used, and the claim is no longer its own.
    Deliverer.send_many(stalled, stalled.held)

    assert [c["status"] for c in emulator.calls(REPLY)] == [200, 400]
    assert emulator.calls(PUSH) == []
    assert [m["via"] for m in emulator.inbox(chat.user_id)] == ["reply"]
    assert the_row(dbview).status == OutboxStatus.SENT


def test_a_stalled_worker_failing_late_does_not_set_a_taken_back_reply_back_to_pending(
    stopped, chat, emulator, dbview, app_clock
):
    assert emulator.send_text(chat.user_id, "使い方")["status"] == 200
    stalled = Stalls(stopped.runtime, stopped.line)
    process_with(stopped, stalled)
    app_clock.advance(seconds=REPLY_CLAIM_LEASE.total_seconds() + 1)
    stopped.deliverer.deliver_due()  # taken back and sent
    assert the_row(dbview).status == OutboxStatus.SENT

    emulator.inject_fault(REPLY, 500, count=stopped.line.retry.max_retries + 1)
    Deliverer.send_many(stalled, stalled.held)  # its own try fails for good, late

    assert the_row(dbview).status == OutboxStatus.SENT  # not pending again: no second send
    app_clock.advance(minutes=10)
    stopped.deliverer.deliver_due()
    assert emulator.calls(PUSH) == []
    assert len(emulator.inbox(chat.user_id)) == 1
