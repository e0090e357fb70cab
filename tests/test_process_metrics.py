"""The worker and clock processes serve no HTTP: their metrics (events processed, latency, LINE
calls) are served by prometheus-client's own server when METRICS_PORT / --metrics-port says."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request

import pytest
from click.testing import CliRunner
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from bench._procs import free_port
from bot.cli import cli
from models.db import transaction
from models.events import EventStatus, WebhookEvent, record_events
from tests.e2e import wait_until
from tests.helpers import user_event

PROCESSED = "benesapo_webhook_events_processed_total"


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def unfollowed_ok() -> tuple[str, tuple[tuple[str, str], ...]]:
    return PROCESSED, (("outcome", "ok"), ("type", "unfollow"))


def test_worker_serves_the_events_it_processed(cli_runtime, session_factory, monkeypatch):
    import bot.commands.core as core

    event = user_event("unfollow")  # processed without calling LINE
    with transaction(session_factory) as session:
        record_events(session, [event], cli_runtime.get().clock.now())
    before = REGISTRY.get_sample_value(PROCESSED, {"type": "unfollow", "outcome": "ok"}) or 0.0
    port = free_port()
    scraped = []

    def status() -> str | None:
        with session_factory() as session:
            return session.scalar(
                select(WebhookEvent.status).where(
                    WebhookEvent.webhook_event_id == event["webhookEventId"]
                )
            )

    def while_running() -> None:  # instead of waiting for Ctrl-C
        wait_until(lambda: status() == EventStatus.DONE, what="the worker to process the event")
        scraped.append(scrape(port))

    monkeypatch.setattr(core, "_wait_for_signal", while_running)
    result = CliRunner().invoke(
        cli, ["worker", "--threads", "1", "--metrics-port", str(port)], obj=cli_runtime
    )
    assert result.exit_code == 0, result.output
    assert f"metrics: GET /metrics on port {port}" in result.output
    (samples,) = scraped
    assert samples[unfollowed_ok()] == before + 1
    assert samples[("benesapo_event_processing_seconds_count", ())] >= 1
    with pytest.raises(urllib.error.URLError):  # stopped with the worker
        scrape(port)


def test_scheduler_serves_metrics_on_metrics_port(cli_runtime, monkeypatch):
    from apscheduler.schedulers.blocking import BlockingScheduler

    port = free_port()
    monkeypatch.setenv("METRICS_PORT", str(port))
    scraped = []
    monkeypatch.setattr(BlockingScheduler, "start", lambda self: scraped.append(scrape(port)))
    result = CliRunner().invoke(cli, ["scheduler"], obj=cli_runtime)
    assert result.exit_code == 0, result.output
    (samples,) = scraped
    count = "benesapo_event_processing_seconds_count"
    assert samples[(count, ())] == REGISTRY.get_sample_value(count)  # this process's registry
    with pytest.raises(urllib.error.URLError):
        scrape(port)


def test_no_metrics_server_unless_asked(cli_runtime, monkeypatch):
    from apscheduler.schedulers.blocking import BlockingScheduler

    import common.metrics

    monkeypatch.delenv("METRICS_PORT", raising=False)
    started = []
    monkeypatch.setattr(common.metrics, "start_metrics_server", lambda *a: started.append(a))
    monkeypatch.setattr(BlockingScheduler, "start", lambda self: None)
    result = CliRunner().invoke(cli, ["scheduler"], obj=cli_runtime)
    assert result.exit_code == 0, result.output
    assert started == []
    assert "metrics:" not in result.output


def test_a_taken_metrics_port_stops_start_up_with_a_message(cli_runtime, monkeypatch):
    from apscheduler.schedulers.blocking import BlockingScheduler

    monkeypatch.setattr(BlockingScheduler, "start", lambda self: None)
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(
            cli, ["scheduler", "--metrics-port", str(port)], obj=cli_runtime
        )
    assert result.exit_code == 1
    assert f"cannot serve metrics on port {port}" in result.output
