"""Nothing lost, nothing twice: every event type, redelivery, LINE faults, crashing handlers."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from models.events import EventStatus, OutboxStatus, OutgoingMessage, WebhookEvent
from tests.e2e import event_settled, texts_of, wait_until
from tests.helpers import event_id, text_event

SAMPLE = json.loads((Path(__file__).parent / "data" / "sdk-webhook-events.json").read_text())

# Event types of LINE's webhook spec that the SDK sample body does not contain.
EXTRA_EVENTS = [
    {
        "type": "membership",
        "source": {"type": "user", "userId": "U" + "3" * 32},
        "replyToken": "r",
        "membership": {"type": "joined", "membershipId": 3189},
    },
    {"type": "module", "module": {"type": "attached", "botId": "U1", "scopes": ["message"]}},
    {"type": "activated", "chatControl": {"expireAt": 1}},
    {"type": "deactivated"},
    {"type": "botSuspended"},
    {"type": "botResumed"},
    {"type": "delivery", "delivery": {"data": "x"}},
    {"type": "thingsAreNew", "source": {"type": "user", "userId": "U" + "4" * 32}},
]


# The bot's LINE client waits 3 s for an answer; timeout tests make it wait LINE_PATIENCE s
# and have the emulator answer LATE s after it handled the call (the client has given up).
LINE_PATIENCE = 1.0
LATE = 2.0


@pytest.fixture
def impatient_line(services, monkeypatch):
    """The running bot's LINE client, waiting only LINE_PATIENCE seconds for each answer."""
    monkeypatch.setattr(services.line, "timeout", LINE_PATIENCE)
    return services.line


def all_event_types() -> list[dict]:
    events = []
    for event in copy.deepcopy(SAMPLE["events"]) + copy.deepcopy(EXTRA_EVENTS):
        event.setdefault("mode", "active")
        event.setdefault("timestamp", 1_775_000_000_000)
        event["deliveryContext"] = {"isRedelivery": False}
        event["webhookEventId"] = event_id()  # the sample shares one id across events
        events.append(event)
    return events


def deliver_and_settle(emulator, session_factory, events, **kwargs):
    result = emulator.deliver({"destination": "U" + "0" * 32, "events": events}, **kwargs)
    assert result["status"] == 200, result
    for event in events:
        wait_until(
            lambda e=event: event_settled(session_factory, e["webhookEventId"]), what=event["type"]
        )
    return result


def test_every_webhook_event_type_is_accepted_and_settled(
    emulator, services, dbview, session_factory
):
    events = all_event_types()
    deliver_and_settle(emulator, session_factory, events)
    rows = dbview.scalars(select(WebhookEvent)).all()
    assert len(rows) == len(events)
    assert {row.status for row in rows} == {EventStatus.DONE}
    assert {row.event_type for row in rows} >= {
        "message",
        "unsend",
        "follow",
        "unfollow",
        "join",
        "leave",
        "memberJoined",
        "memberLeft",
        "postback",
        "videoPlayComplete",
        "beacon",
        "accountLink",
        "membership",
        "module",
        "activated",
        "deactivated",
        "botSuspended",
        "botResumed",
        "delivery",
    }


def test_redelivered_event_is_processed_once(chat, emulator, session_factory):
    first = emulator.send_text(chat.user_id, "使い方")
    wait_until(lambda: event_settled(session_factory, first["webhookEventId"]))
    again = emulator.deliver({"destination": "U0", "events": [first["event"]]}, redelivery=True)
    assert again["status"] == 200
    assert len(chat.new_messages()) == 1
    assert len([c for c in emulator.calls("/v2/bot/message/") if c["status"] == 200]) == 1


@pytest.mark.parametrize("status", [429, 500, 503])
def test_reply_retried_on_429_and_5xx_and_delivered_once(chat, emulator, status):
    emulator.inject_fault("/v2/bot/message/reply", status, count=2)
    messages = chat.say("使い方")
    assert "使い方" in texts_of(messages)
    calls = emulator.calls("/v2/bot/message/reply")
    assert [c["status"] for c in calls] == [status, status, 200]


def say_with_dead_reply_token(chat, emulator, session_factory, text, settle=True):
    """A message whose reply token LINE no longer accepts (used or expired)."""
    event = text_event(text, chat.user_id, replyToken="expired-reply-token")
    assert emulator.deliver({"destination": "U0", "events": [event]})["status"] == 200
    if settle:
        wait_until(lambda: event_settled(session_factory, event["webhookEventId"]))
    return chat.new_messages()


def test_rejected_reply_token_falls_back_to_push(chat, emulator, session_factory):
    chat.follow()
    messages = say_with_dead_reply_token(chat, emulator, session_factory, "使い方")
    assert len(messages) == 1 and "使い方" in texts_of(messages)
    pushes = emulator.calls("/v2/bot/message/push")
    assert len(pushes) == 1 and pushes[0]["status"] == 200
    assert pushes[0]["headers"].get("X-Line-Retry-Key")


def faults_met(calls):
    """(status, when) of each recorded call: `when` of the injected fault it met, or None."""
    return [(c["status"], (c["fault"] or {}).get("when")) for c in calls]


def test_reply_timeout_after_line_took_it_is_not_sent_twice(chat, emulator, dbview, impatient_line):
    # LINE handles the reply but answers after the client gave up; the retry finds the token
    # used, which after a timeout means delivered: no push.
    emulator.inject_fault("/v2/bot/message/reply", None, delay=LATE, when="after")
    messages = chat.say("使い方")
    assert len(messages) == 1 and "使い方" in texts_of(messages)
    replies = emulator.calls("/v2/bot/message/reply")
    assert faults_met(replies) == [(200, "after"), (400, None)]
    assert replies[1]["body"] == replies[0]["body"]  # the same reply, retried
    assert not emulator.calls("/v2/bot/message/push")
    assert [m["via"] for m in emulator.inbox(chat.user_id)] == ["reply"]
    row = dbview.scalars(select(OutgoingMessage)).one()
    assert row.status == OutboxStatus.SENT and row.sent_via == "reply"


def test_reply_line_took_but_answered_5xx_is_not_sent_twice(chat, emulator, dbview):
    # "Even if you get a 5xx error, your message may have been delivered" (LINE's docs).
    emulator.inject_fault("/v2/bot/message/reply", 500, when="after")
    messages = chat.say("使い方")
    assert len(messages) == 1 and "使い方" in texts_of(messages)
    replies = emulator.calls("/v2/bot/message/reply")
    assert faults_met(replies) == [(500, "after"), (400, None)]
    assert replies[0]["fault"]["handled_status"] == 200
    assert not emulator.calls("/v2/bot/message/push")
    assert [m["via"] for m in emulator.inbox(chat.user_id)] == ["reply"]
    row = dbview.scalars(select(OutgoingMessage)).one()
    assert row.status == OutboxStatus.SENT and row.sent_via == "reply"


@pytest.mark.parametrize("status", [429, 500, 503])
def test_push_retried_on_429_and_5xx_with_one_retry_key_and_delivered_once(
    chat, emulator, dbview, session_factory, status
):
    emulator.inject_fault("/v2/bot/message/push", status, count=2)
    messages = say_with_dead_reply_token(chat, emulator, session_factory, "使い方")
    assert len(messages) == 1 and "使い方" in texts_of(messages)
    pushes = emulator.calls("/v2/bot/message/push")
    assert [c["status"] for c in pushes] == [status, status, 200]
    row = dbview.scalars(select(OutgoingMessage)).one()
    assert [c["headers"]["X-Line-Retry-Key"] for c in pushes] == [row.retry_key] * 3
    assert row.status == OutboxStatus.SENT and row.sent_via == "push"
    assert row.request_id == pushes[2]["request_id"]
    assert [m["via"] for m in emulator.inbox(chat.user_id)] == ["push"]


def test_push_timeout_after_line_took_it_counts_as_delivered(
    chat, emulator, dbview, session_factory, impatient_line
):
    # LINE delivers the push but answers after the client gave up; the retry carries the same
    # retry key and gets 409 naming the accepted request: delivered, once.
    emulator.inject_fault("/v2/bot/message/push", None, delay=LATE, when="after")
    messages = say_with_dead_reply_token(chat, emulator, session_factory, "使い方")
    assert len(messages) == 1 and "使い方" in texts_of(messages)
    assert [c["status"] for c in emulator.calls("/v2/bot/message/reply")] == [400]
    pushes = emulator.calls("/v2/bot/message/push")
    assert faults_met(pushes) == [(200, "after"), (409, None)]
    row = dbview.scalars(select(OutgoingMessage)).one()
    assert [c["headers"]["X-Line-Retry-Key"] for c in pushes] == [row.retry_key] * 2
    assert row.status == OutboxStatus.SENT and row.sent_via == "push"
    # The 409's x-line-accepted-request-id (the first push's request id) is what was recorded.
    assert row.request_id == pushes[0]["request_id"]
    assert [m["via"] for m in emulator.inbox(chat.user_id)] == ["push"]


def test_push_outage_is_retried_later_with_the_same_retry_key(
    chat, emulator, services, dbview, app_clock, session_factory
):
    emulator.inject_fault("/v2/bot/message/push", 500, count=4)  # outlasts the client's retries
    say_with_dead_reply_token(chat, emulator, session_factory, "使い方", settle=False)

    def failed_once():
        dbview.expire_all()
        row = dbview.scalars(select(OutgoingMessage)).one_or_none()
        return row is not None and row.status == OutboxStatus.PENDING and row.last_error

    wait_until(failed_once, what="a failed first delivery")
    assert chat.new_messages() == []
    app_clock.advance(minutes=1)  # the workers' outbox sweep now finds the row due

    def sent():
        dbview.expire_all()
        return dbview.scalars(select(OutgoingMessage)).one().status == OutboxStatus.SENT

    wait_until(sent, what="the retried push")
    assert len(chat.new_messages()) == 1
    keys = {c["headers"]["X-Line-Retry-Key"] for c in emulator.calls("/v2/bot/message/push")}
    assert len(keys) == 1


def test_push_409_for_an_accepted_retry_key_counts_as_delivered(
    emulator, services, dbview, session_factory, app_clock
):
    from models.db import transaction
    from models.events import enqueue_messages

    user = emulator.create_user(display_name="通知テスト")["user_id"]
    with transaction(session_factory) as session:
        row = enqueue_messages(
            session,
            dedupe_key="test:409",
            to=[user],
            messages=[{"type": "text", "text": "お知らせ"}],
            now=app_clock.now(),
        )
        retry_key = row.retry_key
    services.line.push(user, [{"type": "text", "text": "お知らせ"}], retry_key)  # first try
    services.deliverer.deliver_due()  # a retry of the same row: LINE answers 409

    def sent():
        dbview.expire_all()
        return dbview.scalars(select(OutgoingMessage)).one().status == OutboxStatus.SENT

    wait_until(sent, what="the outbox row marked sent")
    assert [c["status"] for c in emulator.calls("/v2/bot/message/push")] == [200, 409]
    assert len(emulator.inbox(user)) == 1


def test_other_4xx_is_not_retried(chat, emulator, dbview, session_factory):
    emulator.inject_fault("/v2/bot/message/push", 403, count=1)
    say_with_dead_reply_token(chat, emulator, session_factory, "使い方")
    assert len(emulator.calls("/v2/bot/message/push")) == 1
    row = dbview.scalars(select(OutgoingMessage)).one()
    assert row.status == OutboxStatus.FAILED and "403" in row.last_error


def test_a_crashing_handler_is_retried_then_failed_with_an_apology(
    chat, new_chat, services, emulator, dbview, app_clock
):
    calls = []

    def boom(ctx, user_input):
        calls.append(user_input.text)
        raise RuntimeError("kaboom")

    services.router.keyword("爆発テスト")(boom)
    try:
        result = emulator.send_text(chat.user_id, "爆発テスト")
        event_key = result["webhookEventId"]
        wait_until(lambda: calls)
        # Another user is not blocked by the bad event.
        other = new_chat("別ユーザー")
        assert "使い方" in texts_of(other.say("使い方"))
        for _ in range(services.processor.max_attempts):
            app_clock.advance(minutes=2)
            services.processor.run_until_idle()
        wait_until(lambda: event_settled(services.runtime.session_factory, event_key))
    finally:
        services.router.keywords.pop()
    event = dbview.scalars(
        select(WebhookEvent).where(WebhookEvent.webhook_event_id == event_key)
    ).one()
    assert event.status == EventStatus.FAILED
    assert "kaboom" in event.last_error
    assert len(calls) == services.processor.max_attempts
    assert "申し訳ありません" in texts_of(chat.new_messages())


def test_events_of_one_user_are_processed_in_timestamp_order(
    chat, services, emulator, session_factory
):
    seen = []

    def record(ctx, user_input):
        seen.append(user_input.text)
        return []

    services.router.intent(lambda ctx, i: i.text.startswith("順番"))(record)
    try:
        events = [
            text_event(f"順番{i}", chat.user_id, timestamp=1_775_000_000_000 + i) for i in range(6)
        ]
        deliver_and_settle(emulator, session_factory, list(reversed(events)))
    finally:
        services.router.intents.pop()
    assert seen == [f"順番{i}" for i in range(6)]
