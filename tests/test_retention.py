"""Retention: finished webhook events and outbox rows are deleted after RETENTION_DAYS, open
ones never; an event redelivered after its record was deleted is still not applied twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text

from bot.scheduler import prune_records
from common.config import load_settings
from models.db import is_postgres, transaction
from models.events import (
    EventStatus,
    OutboxStatus,
    OutgoingMessage,
    WebhookEvent,
    new_outbox_row,
    queue_claimed,
    record_events,
)
from models.retention import prune_finished
from tests.e2e import event_settled, wait_until
from tests.helpers import text_event


def add_events(factory, received_at: datetime, statuses: list[str]) -> list[str]:
    events = [text_event(f"e{n}") for n in range(len(statuses))]
    with transaction(factory) as session:
        record_events(session, events, received_at)
        for event, status in zip(events, statuses, strict=True):
            row = session.scalar(
                select(WebhookEvent).where(WebhookEvent.webhook_event_id == event["webhookEventId"])
            )
            row.status = status
    return [event["webhookEventId"] for event in events]


def add_messages(factory, created_at: datetime, statuses: list[str]) -> list[str]:
    keys = [f"msg:{created_at.isoformat()}:{n}" for n in range(len(statuses))]
    rows = [
        {
            **new_outbox_row(
                dedupe_key=key, to=["U1"], messages=[{"type": "text", "text": "x"}], now=created_at
            ),
            "status": status,
        }
        for key, status in zip(keys, statuses, strict=True)
    ]
    with transaction(factory) as session:
        queue_claimed(session, rows)
    return keys


def remaining(dbview, column) -> set[str]:
    return set(dbview.scalars(select(column)))


def test_only_finished_rows_older_than_the_window_are_deleted(session_factory, dbview, clock):
    now = clock.now()
    old = now - timedelta(days=31)
    recent = now - timedelta(days=29)
    # Old rows interleaved with open ones, in several of the walk's batches.
    old_done = add_events(session_factory, old, ["done", "failed", "pending", "done"])
    old_done += add_events(session_factory, old, ["replying", "done", "processing", "done"])
    recent_events = add_events(session_factory, recent, ["done", "failed"])
    old_messages = add_messages(session_factory, old, ["sent", "failed", "pending", "sending"])
    recent_messages = add_messages(session_factory, recent, ["sent"])

    report = prune_finished(session_factory, now, days=30, batch=3)

    assert (report.events, report.messages) == (5, 2)
    kept_events = remaining(dbview, WebhookEvent.webhook_event_id)
    open_old = {old_done[2], old_done[4], old_done[6]}  # pending, replying, processing
    assert kept_events == open_old | set(recent_events)
    kept_messages = remaining(dbview, OutgoingMessage.dedupe_key)
    assert kept_messages == {old_messages[2], old_messages[3], *recent_messages}
    statuses = set(dbview.scalars(select(OutgoingMessage.status)))
    assert statuses == {OutboxStatus.PENDING, OutboxStatus.SENDING, OutboxStatus.SENT}

    again = prune_finished(session_factory, now, days=30, batch=3)
    assert (again.events, again.messages) == (0, 0)


def test_the_walk_stops_at_the_window_and_deletes_nothing_inside_it(session_factory, dbview, clock):
    now = clock.now()
    inside = add_events(session_factory, now - timedelta(days=30) + timedelta(seconds=1), ["done"])
    report = prune_finished(session_factory, now, days=30)
    assert report.events == 0
    assert remaining(dbview, WebhookEvent.webhook_event_id) == set(inside)


def test_retention_days_come_from_the_environment():
    base = {"LINE_CHANNEL_SECRET": "s", "LINE_CHANNEL_ACCESS_TOKEN": "t"}
    assert load_settings(base).retention_days == 30
    assert load_settings({**base, "RETENTION_DAYS": "90"}).retention_days == 90
    assert load_settings({**base, "RETENTION_DAYS": "0"}).retention_days == 1


def test_db_prune_command_reports_what_it_deleted(cli_runtime, session_factory, clock, db):
    from bot.cli import cli

    add_events(session_factory, clock.now() - timedelta(days=40), ["done", "done"])
    result = CliRunner().invoke(cli, ["db", "prune"], obj=cli_runtime)
    assert result.exit_code == 0, result.output
    assert "deleted 2 webhook events and 0 outbox messages" in result.output
    assert "30 days" in result.output


@pytest.mark.postgres_only
def test_queue_tables_are_vacuumed_early_on_postgresql(engine, dbview):
    assert is_postgres(engine)
    options = dict(
        dbview.execute(
            text(
                "SELECT relname, reloptions FROM pg_class "
                "WHERE relname IN ('webhook_events', 'outgoing_messages')"
            )
        ).all()
    )
    for table in ("webhook_events", "outgoing_messages"):
        assert "autovacuum_vacuum_scale_factor=0" in options[table]
        assert "autovacuum_vacuum_threshold=10000" in options[table]


def test_an_event_redelivered_after_its_record_was_pruned_is_not_applied_again(
    chat, emulator, services, session_factory, dbview, app_clock
):
    app_clock.set(datetime.now(UTC))  # LINE's timestamps and our clock agree
    first = emulator.send_text(chat.user_id, "使い方")
    event_id = first["webhookEventId"]
    wait_until(lambda: event_settled(session_factory, event_id))
    assert len(chat.new_messages()) == 1

    app_clock.advance(days=31)
    assert prune_records(services.runtime) == {
        "events": 1,
        "messages": 1,
        "questions": 0,
        "transcripts": 0,
    }
    assert dbview.scalar(select(WebhookEvent.id)) is None

    again = emulator.deliver({"destination": "U0", "events": [first["event"]]}, redelivery=True)
    assert again["status"] == 200
    wait_until(lambda: event_settled(session_factory, event_id))
    row = dbview.scalar(select(WebhookEvent).where(WebhookEvent.webhook_event_id == event_id))
    assert row.status == EventStatus.DONE
    assert row.handler == "ignored:beyond_retention"
    assert chat.new_messages() == []
    assert dbview.scalar(select(OutgoingMessage.id)) is None


def test_an_event_older_than_the_window_is_ignored_without_is_redelivery(
    chat, emulator, services, session_factory, dbview, app_clock
):
    # LINE does not always flag a redelivery: the pruned event comes back as a plain one.
    app_clock.set(datetime.now(UTC))
    first = emulator.send_text(chat.user_id, "使い方")
    wait_until(lambda: event_settled(session_factory, first["webhookEventId"]))
    assert len(chat.new_messages()) == 1

    app_clock.advance(days=31)
    assert prune_records(services.runtime) == {
        "events": 1,
        "messages": 1,
        "questions": 0,
        "transcripts": 0,
    }
    again = emulator.deliver({"destination": "U0", "events": [first["event"]]})
    assert again["status"] == 200
    assert first["event"]["deliveryContext"] == {"isRedelivery": False}
    wait_until(lambda: event_settled(session_factory, first["webhookEventId"]))
    row = dbview.scalar(select(WebhookEvent))
    assert row.handler == "ignored:beyond_retention"
    assert chat.new_messages() == []
    assert dbview.scalar(select(OutgoingMessage.id)) is None

    # An event inside the window is answered as usual.
    recent = text_event(
        "使い方",
        chat.user_id,
        timestamp=int((app_clock.now() - timedelta(days=29)).timestamp() * 1000),
    )
    assert emulator.deliver({"destination": "U0", "events": [recent]})["status"] == 200
    wait_until(lambda: event_settled(session_factory, recent["webhookEventId"]))
    assert len(chat.new_messages()) == 1
