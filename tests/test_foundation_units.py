"""Units of the foundation: settings, LINE limits, logs, leases, concurrent event workers."""

from __future__ import annotations

import json
import logging
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from adapters.line_client import validate_messages
from adapters.line_limits import MessageLimitError, check_messages, text_length
from chat.messages import buttons, message_action, postback_action, text
from common.config import ConfigError, load_settings
from common.logging_setup import JsonFormatter
from models.db import transaction
from models.events import EventStatus, WebhookEvent, record_events
from models.leases import acquire_lease, release_lease
from tests.helpers import text_event


def test_missing_secret_stops_start_up_naming_the_variable():
    with pytest.raises(ConfigError, match="LINE_CHANNEL_ACCESS_TOKEN"):
        load_settings({"LINE_CHANNEL_SECRET": "s"})
    with pytest.raises(ConfigError, match="LINE_CHANNEL_SECRET"):
        load_settings({})


def test_settings_defaults_and_overrides():
    settings = load_settings(
        {
            "LINE_CHANNEL_SECRET": "s",
            "LINE_CHANNEL_ACCESS_TOKEN": "t",
            "PORT": "9000",
            "LINE_API_BASE_URL": "http://127.0.0.1:8001/",
        }
    )
    assert settings.database_url.startswith("sqlite:///")
    assert settings.line_api_base_url == "http://127.0.0.1:8001"
    assert settings.line_data_api_base_url == "https://api-data.line.me"
    assert settings.public_base_url == "http://127.0.0.1:9000"


@pytest.fixture
def no_secrets(monkeypatch, tmp_path):
    """`benesapo` as run by hand: no LINE secrets, its own SQLite file, no .env."""
    monkeypatch.chdir(tmp_path)
    for name in ("LINE_CHANNEL_SECRET", "LINE_CHANNEL_ACCESS_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    return tmp_path


@pytest.fixture
def no_line_client(monkeypatch):
    """Building a LINE client fails the test: a command that should have stopped at start-up
    fails here instead of running on (a worker would wait for Ctrl-C)."""
    from adapters.line_client import LineClient

    def tripwire(self, *args, **kwargs):
        raise AssertionError("a LINE client was built without the LINE secrets")

    monkeypatch.setattr(LineClient, "__init__", tripwire)


def run_main(args: list[str]) -> str | int | None:
    """Exit status of the real `benesapo` entry point (its message when it stops on error)."""
    from bot.cli import main

    with pytest.raises(SystemExit) as stopped:
        main(args)
    return stopped.value.code


LINE_COMMANDS = [
    ["worker"],
    ["scheduler"],
    ["reminders", "run"],
    ["reminders", "run", "--date", "2026-06-01"],
    ["richmenu", "deploy"],
    ["richmenu", "deploy", "--dry-run"],
]


@pytest.mark.parametrize("args", LINE_COMMANDS, ids=" ".join)
def test_commands_that_talk_to_line_stop_without_secrets(no_secrets, no_line_client, args):
    message = run_main(args)
    assert isinstance(message, str)
    assert message.startswith("error: Missing required environment variable(s): ")
    assert "LINE_CHANNEL_SECRET" in message and "LINE_CHANNEL_ACCESS_TOKEN" in message
    assert not (no_secrets / "cli.sqlite3").exists()  # stopped before touching anything


@pytest.mark.parametrize("args", LINE_COMMANDS[:2], ids=" ".join)
def test_the_message_names_only_the_missing_secret(no_secrets, no_line_client, monkeypatch, args):
    monkeypatch.setenv("LINE_CHANNEL_SECRET", "s")
    message = run_main(args)
    assert isinstance(message, str)
    assert "LINE_CHANNEL_ACCESS_TOKEN" in message
    assert "LINE_CHANNEL_SECRET" not in message


def test_commands_that_need_no_line_work_without_secrets(no_secrets, capsys):
    assert run_main(["db", "upgrade"]) == 0
    assert run_main(["faq", "ask", "ポイントの有効期限は？"]) == 0
    create = ["company", "create", "--name", "試験株式会社", "--seats", "1"]
    assert run_main([*create, "--contact-email", "hr@example.com", "--json"]) == 0
    assert run_main(["reminders", "run", "--dry-run", "--date", "2026-06-01"]) == 0
    assert run_main(["points", "confirm"]) == 0
    assert run_main(["db", "prune"]) == 0
    out = capsys.readouterr().out
    assert "database is up to date" in out
    assert "company_code" in out


@pytest.mark.parametrize(
    "messages, problem",
    [
        ([text("a")] * 6, "1-5 messages"),
        ([text("あ" * 5001)], "text"),
        ([text("😀" * 2501)], "text"),  # UTF-16: an emoji counts twice
        ([text("q", quick=[message_action("x" * 21)])], "label"),
        ([text("q", quick=[message_action(str(i)) for i in range(14)])], "quick reply"),
        ([text("q", quick=[postback_action("ok", "d" * 301)])], "postback data"),
        ([buttons("a" * 1501, "b", [message_action("x")])], "altText"),
        ([buttons("alt", "b", [message_action(str(i)) for i in range(5)])], "actions"),
        ([{"type": "textx", "text": "a"}], "valid LINE message"),
    ],
)
def test_messages_line_would_refuse_fail_here(messages, problem):
    with pytest.raises(MessageLimitError, match=problem):
        validate_messages(messages)


def test_checked_messages_remembers_only_what_passed():
    from datetime import date

    from adapters.line_client import checked_messages

    good = [text("ok", quick=[message_action("はい")])]
    assert checked_messages(good) == good
    assert checked_messages(tuple(good)) == good  # the second time from memory, same answer
    for _ in range(2):  # a refused message is refused every time, never remembered as good
        with pytest.raises(MessageLimitError, match="text"):
            checked_messages([text("あ" * 5001)])
    with pytest.raises(MessageLimitError, match="valid LINE message"):
        checked_messages([{"type": "text", "text": date(2026, 1, 1)}])


def test_checked_messages_checks_limits_on_every_text_and_the_sdk_models_per_shape():
    from adapters.line_client import checked_messages, message_shape

    first, other = text("残高 1,200ポイント"), text("残高 800ポイント")
    assert message_shape([first]) == message_shape([other])  # one shape: parsed once
    assert checked_messages([other]) == [other]
    with pytest.raises(MessageLimitError, match="text"):  # same shape, a text over the limit
        checked_messages([text("あ" * 5001)])
    bad_type = {"type": "sticker", "text": "残高 1,200ポイント"}  # another shape: refused
    with pytest.raises(MessageLimitError):
        checked_messages([bad_type])


def test_messages_within_limits_pass_sdk_validation():
    parsed = validate_messages(
        [
            text("あ" * 5000),
            text("q", quick=[message_action(str(i)) for i in range(13)]),
            buttons("alt", "本文", [postback_action("x" * 20, "d" * 300)]),
        ]
    )
    assert [type(m).__name__ for m in parsed] == ["TextMessage", "TextMessage", "TemplateMessage"]
    assert text_length("😀") == 2
    check_messages([text("ok")])


def test_json_log_lines_merge_fields_and_keep_tracebacks_on_one_line():
    formatter = JsonFormatter()
    record = logging.LogRecord(
        "benesapo.x", logging.INFO, __file__, 1, json.dumps({"event": "e", "n": 1}), None, None
    )
    line = json.loads(formatter.format(record))
    assert line["event"] == "e" and line["n"] == 1 and line["level"] == "info"
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record = logging.LogRecord(
            "benesapo.x", logging.ERROR, __file__, 1, "failed", None, sys.exc_info()
        )
    formatted = formatter.format(record)
    assert "\n" not in formatted and "boom" not in formatted  # never the exception's message
    exc = json.loads(formatted)["exc"]
    assert exc["error"] == "ValueError"
    (where,) = exc["where"]
    assert where.startswith("tests/test_foundation_units.py:")
    assert where.endswith(" test_json_log_lines_merge_fields_and_keep_tracebacks_on_one_line")


def test_job_lease_is_held_by_one_process_at_a_time(session_factory, db, clock):
    ttl = timedelta(minutes=5)
    assert acquire_lease(session_factory, "job", "a", clock.now(), ttl)
    assert not acquire_lease(session_factory, "job", "b", clock.now(), ttl)
    release_lease(session_factory, "job", "a", clock.now())
    assert acquire_lease(session_factory, "job", "b", clock.now(), ttl)
    # An expired lease (its holder died) can be taken over.
    assert acquire_lease(session_factory, "job", "c", clock.now() + ttl * 2, ttl)


def test_concurrent_workers_process_each_event_once_in_user_order(
    session_factory, engine, db, clock
):
    from adapters.runtime import Runtime
    from bot.processing import EventProcessor
    from chat.router import Router
    from common.config import Settings

    seen: list[tuple[str, str]] = []
    lock = threading.Lock()
    router = Router()

    @router.fallback
    def record(ctx, user_input):
        with lock:
            seen.append((ctx.line_user_id, user_input.text))
        return []

    users = [f"U{i:032d}" for i in range(8)]
    events = [
        text_event(f"{n:03d}", user, timestamp=1_775_000_000_000 + n)
        for n in range(15)
        for user in users
    ]
    with transaction(session_factory) as session:
        record_events(session, events, clock.now())
    settings = Settings(channel_secret="s", channel_access_token="t")
    runtime = Runtime(settings, engine, session_factory, clock)
    processors = [EventProcessor(runtime, router, deliverer=None) for _ in range(4)]  # type: ignore[arg-type]
    threads = [threading.Thread(target=p.run_until_idle) for p in processors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    # Workers that went idle while others held a user's earlier event: drain what is left.
    processors[0].run_until_idle()
    assert len(seen) == len(events)
    assert len(set(seen)) == len(events)
    for user in users:
        texts = [t for u, t in seen if u == user]
        assert texts == sorted(texts)
    statuses = set(db.scalars(select(WebhookEvent.status)))
    assert statuses == {EventStatus.DONE}


def test_a_raising_handler_in_a_batch_is_counted_once_and_its_neighbours_run_once(
    session_factory, engine, dbview, clock
):
    from adapters.line_client import SendResult
    from adapters.runtime import Runtime
    from bot.delivery import Deliverer
    from bot.processing import EventProcessor
    from chat.router import Router
    from common.config import Settings
    from models.events import OutgoingMessage

    calls: list[str] = []
    router = Router()

    @router.fallback
    def answer(ctx, user_input):
        calls.append(user_input.text)
        if user_input.text == "boom":
            raise RuntimeError("kaboom")
        return [text(f"ok {user_input.text}")]

    class RecordingLine:  # stands in for LINE: records who would get a message, once
        def __init__(self) -> None:
            self.sent: list[tuple[str, ...]] = []

        def reply(self, reply_token, messages):
            self.sent.append((user_of_token[reply_token],))
            return SendResult("request-id", "reply")

        def push(self, to, messages, retry_key):
            self.sent.append((to,))
            return SendResult("request-id", "push")

    users = [f"U{i:032d}" for i in range(3)]
    events = [
        text_event(word, user, timestamp=1_775_000_000_000 + n)
        for n, (word, user) in enumerate(zip(["a", "boom", "c"], users, strict=True))
    ]
    with transaction(session_factory) as session:
        record_events(session, events, clock.now())
    user_of_token = {e["replyToken"]: e["source"]["userId"] for e in events}
    line = RecordingLine()
    settings = Settings(channel_secret="s", channel_access_token="t")
    runtime = Runtime(settings, engine, session_factory, clock)
    deliverer = Deliverer(runtime, line)  # type: ignore[arg-type]
    processor = EventProcessor(runtime, router, deliverer, batch_size=10)

    # The batch ran "a", then "boom" raised: all rolled back, nothing handed to LINE.
    processor.run_once()
    assert calls == ["a", "boom"] and line.sent == []
    attempts = dbview.scalars(select(WebhookEvent.attempts).order_by(WebhookEvent.id)).all()
    assert attempts == [0, 1, 0]
    # The next batch: "a" again and "c" (the bad one waits out its backoff); each answered once.
    processor.run_once()
    assert calls == ["a", "boom", "a", "c"]
    assert line.sent == [(users[0],), (users[2],)]
    for _ in range(processor.max_attempts):
        clock.advance(minutes=2)
        processor.run_until_idle()
    assert calls.count("boom") == processor.max_attempts
    statuses = dict(dbview.execute(select(WebhookEvent.line_user_id, WebhookEvent.status)).all())
    assert statuses == {users[0]: "done", users[1]: "failed", users[2]: "done"}
    outbox = dbview.scalars(select(OutgoingMessage.dedupe_key)).all()
    assert len(outbox) == 3 and sum(key.endswith(":failed") for key in outbox) == 1
    assert line.sent == [(users[0],), (users[2],), (users[1],)]  # the apology


@pytest.mark.parametrize(("configured", "multicast"), [(1000.0, 200.0), (50.0, 50.0)])
def test_multicast_keeps_under_lines_own_lower_limit(configured, multicast):
    from adapters.line_client import LineClient
    from common.config import Settings

    settings = Settings(
        channel_secret="s", channel_access_token="t", line_rate_limit_per_second=configured
    )
    client = LineClient(settings)
    assert client.limiter.rate == configured
    assert client.endpoint_limiters["multicast"].rate == multicast  # LINE: 200 requests/s


def test_a_batch_reads_its_line_users_and_conversations_once(
    session_factory, engine, dbview, clock
):
    from sqlalchemy import event as sa_event

    from adapters.runtime import Runtime
    from bot.processing import EventProcessor
    from chat.router import Router
    from common.config import Settings
    from models.line_user import LineUser

    router = Router()
    seen: dict[str, str] = {}

    @router.conversation("demo")
    def in_conversation(ctx, user_input):
        seen[ctx.line_user_id] = "conversation"
        return []

    @router.fallback
    def answer(ctx, user_input):
        seen[ctx.line_user_id] = "fallback"
        return []

    known = [f"U{i:032d}" for i in range(4)]
    new = [f"U{i:032d}" for i in range(4, 8)]
    with transaction(session_factory) as session:
        for user in known:
            session.add(
                LineUser(line_user_id=user, first_seen_at=clock.now(), blocked=False, language="ja")
            )
        session.flush()
        runtime = Runtime(
            Settings(channel_secret="s", channel_access_token="t"), engine, session_factory, clock
        )
        from models.conversation import ConversationStore

        ConversationStore(session, known[0], clock).start("demo", "step")
        record_events(session, [text_event("hi", user) for user in known + new], clock.now())

    statements: list[str] = []

    def remember(conn, cursor, statement, parameters, context, executemany):
        statements.append(" ".join(statement.lower().split()))

    processor = EventProcessor(runtime, router, deliverer=None, batch_size=10)  # type: ignore[arg-type]
    sa_event.listen(engine, "before_cursor_execute", remember)
    try:
        assert processor.run_once() == 8
    finally:
        sa_event.remove(engine, "before_cursor_execute", remember)
    reads = [s for s in statements if s.startswith("select")]
    assert sum("from line_users" in s for s in reads) == 1, reads
    assert sum("from conversations" in s for s in reads) == 1, reads
    assert seen == {
        user: "conversation" if user == known[0] else "fallback" for user in known + new
    }
    first_seen = dbview.scalars(select(LineUser.line_user_id).order_by(LineUser.line_user_id))
    assert first_seen.all() == known + new


@pytest.mark.postgres_only
def test_a_listening_worker_is_woken_by_new_events_not_by_redeliveries(
    engine, session_factory, db, clock
):
    from bot.wakeups import NewEventListener

    wakes = threading.Semaphore(0)
    listener = NewEventListener(engine, wakes.release, check_every=0.05).start()
    try:
        assert listener.listening.wait(10)
        assert wakes.acquire(timeout=5)  # the wake-up it gives itself on (re)connecting
        event = text_event("hi")
        with transaction(session_factory) as session:
            record_events(session, [event], clock.now())
        assert wakes.acquire(timeout=5)
        with transaction(session_factory) as session:  # LINE redelivers: nothing new
            assert record_events(session, [event], clock.now()) == []
        assert not wakes.acquire(timeout=0.5)
    finally:
        listener.stop()


def test_a_users_next_event_waits_until_the_earlier_reply_is_sent(
    session_factory, engine, dbview, clock
):
    from adapters.line_client import SendResult
    from adapters.runtime import Runtime
    from bot.delivery import Deliverer
    from bot.processing import EventProcessor
    from chat.router import Router
    from common.config import Settings
    from models.events import claim_next_events

    router = Router()

    @router.fallback
    def answer(ctx, user_input):
        return [text(f"re: {user_input.text}")]

    user = "U" + "7" * 32
    first, second = (
        text_event(word, user, timestamp=1_775_000_000_000 + n)
        for n, word in enumerate(["one", "two"])
    )
    seen_during_send: list[tuple[str, list[str]]] = []

    class LookingLine:  # while LINE takes the first reply: what could another worker claim?
        def reply(self, reply_token, messages):
            status = dbview.scalar(
                select(WebhookEvent.status).where(
                    WebhookEvent.webhook_event_id == first["webhookEventId"]
                )
            )
            with transaction(session_factory) as other:
                claimable = [e.webhook_event_id for e in claim_next_events(other, clock.now(), 10)]
                other.rollback()
            seen_during_send.append((status, claimable))
            return SendResult("request-id", "reply")

    with transaction(session_factory) as session:
        record_events(session, [first, second], clock.now())
    runtime = Runtime(
        Settings(channel_secret="s", channel_access_token="t"), engine, session_factory, clock
    )
    processor = EventProcessor(runtime, router, Deliverer(runtime, LookingLine()), batch_size=10)  # type: ignore[arg-type]

    assert processor.run_once() == 1
    assert seen_during_send == [(EventStatus.REPLYING, [])]  # "two" held back while "one" went
    statuses = dict(
        dbview.execute(select(WebhookEvent.webhook_event_id, WebhookEvent.status)).all()
    )
    assert statuses == {first["webhookEventId"]: "done", second["webhookEventId"]: "pending"}
    assert processor.run_once() == 1
    assert seen_during_send[1] == (EventStatus.DONE, [])


def test_a_reply_a_dead_worker_never_recorded_stops_holding_the_user_back(
    session_factory, engine, dbview, clock
):
    from adapters.runtime import Runtime
    from bot.processing import EventProcessor
    from common.config import Settings
    from models.events import REPLY_HOLD, claim_next_events

    user = "U" + "8" * 32
    first, second = (
        text_event(word, user, timestamp=1_775_000_000_000 + n)
        for n, word in enumerate(["one", "two"])
    )
    with transaction(session_factory) as session:
        record_events(session, [first, second], clock.now())
        held = session.scalar(
            select(WebhookEvent).where(WebhookEvent.webhook_event_id == first["webhookEventId"])
        )
        held.status, held.claimed_at = EventStatus.REPLYING.value, clock.now()
    runtime = Runtime(
        Settings(channel_secret="s", channel_access_token="t"), engine, session_factory, clock
    )
    processor = EventProcessor(runtime, router=None, deliverer=None)  # type: ignore[arg-type]

    def claimable() -> list[str]:
        with transaction(session_factory) as session:
            found = [e.webhook_event_id for e in claim_next_events(session, clock.now(), 10)]
            session.rollback()
        return found

    assert processor.release_stale_replies() == 0 and claimable() == []
    clock.advance(seconds=REPLY_HOLD.total_seconds() + 1)
    assert processor.release_stale_replies() == 1
    assert claimable() == [second["webhookEventId"]]
    status = dbview.scalar(
        select(WebhookEvent.status).where(WebhookEvent.webhook_event_id == first["webhookEventId"])
    )
    assert status == EventStatus.DONE
