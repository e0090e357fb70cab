"""The clock process: fixed job ids, coalescing, misfire grace, leases, logged counts."""

from __future__ import annotations

import logging
from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from adapters.line_client import LineClient
from adapters.runtime import Runtime
from bot.delivery import Deliverer
from bot.scheduler import Job, LeasedRunner, install_jobs, standard_jobs
from common.config import Settings
from models.leases import acquire_lease
from models.timeutil import JST


def make_runtime(engine, session_factory, clock) -> Runtime:
    settings = Settings(
        channel_secret="s", channel_access_token="t", line_api_base_url="http://127.0.0.1:9"
    )
    return Runtime(settings, engine, session_factory, clock)


def test_standard_jobs_are_installed_once_with_fixed_ids(engine, session_factory, clock, db):
    runtime = make_runtime(engine, session_factory, clock)
    jobs = standard_jobs(runtime, Deliverer(runtime, LineClient(runtime.settings)))
    scheduler = BackgroundScheduler(timezone=JST)
    runner = LeasedRunner(runtime)
    install_jobs(scheduler, runner, jobs)
    install_jobs(scheduler, runner, jobs)  # replace_existing: a restart does not duplicate
    installed = {job.id: job for job in scheduler.get_jobs()}
    assert set(installed) == {
        "confirm_pending_points",
        "expire_point_lots",
        "points_check",
        "outbox_retries",
        "mail_outbox",
        "richmenu_sync",
        "expiry_reminders",
        "prune_finished_records",
        "handoff_idle",
    }
    reminders = installed["expiry_reminders"]
    assert reminders.coalesce is True and reminders.max_instances == 1
    assert reminders.misfire_grace_time == 6 * 3600
    assert "hour='10'" in str(reminders.trigger) and "minute='0'" in str(reminders.trigger)
    assert "hour='0'" in str(installed["expire_point_lots"].trigger)
    assert "hour='3'" in str(installed["prune_finished_records"].trigger)


def test_a_job_held_by_another_clock_process_is_skipped(engine, session_factory, clock, db):
    runtime = make_runtime(engine, session_factory, clock)
    runs = []
    job = Job(
        "demo",
        IntervalTrigger(minutes=1),
        lambda: runs.append(1) or {"n": 1},
        timedelta(minutes=5),
        60,
    )
    assert acquire_lease(session_factory, "demo", "other-process", clock.now(), job.lease)
    assert LeasedRunner(runtime, holder="me")(job) == {"skipped": True}
    assert runs == []
    clock.advance(minutes=6)  # the other process died; its lease ran out
    assert LeasedRunner(runtime, holder="me")(job) == {"n": 1}
    assert runs == [1]


def test_each_run_is_logged_with_its_counts(engine, session_factory, clock, db, caplog):
    runtime = make_runtime(engine, session_factory, clock)
    job = Job(
        "counted", IntervalTrigger(minutes=1), lambda: {"confirmed": 3}, timedelta(minutes=5), 60
    )
    logger = logging.getLogger("benesapo.scheduler")
    logger.propagate = True
    with caplog.at_level(logging.INFO, logger="benesapo.scheduler"):
        LeasedRunner(runtime)(job)
    lines = [r.fields for r in caplog.records if r.name == "benesapo.scheduler"]
    assert {"event": "job_run", "job": "counted", "confirmed": 3}.items() <= lines[-1].items()


def test_a_failing_job_releases_its_lease(engine, session_factory, clock, db):
    runtime = make_runtime(engine, session_factory, clock)

    def boom() -> dict:
        raise RuntimeError("database away")

    job = Job("fragile", IntervalTrigger(minutes=1), boom, timedelta(minutes=5), 60)
    assert LeasedRunner(runtime, holder="a")(job) == {"failed": True}
    assert acquire_lease(session_factory, "fragile", "b", clock.now(), job.lease)
