"""Scheduled jobs (APScheduler), each guarded by a database lease and logged with its counts."""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from adapters.line_client import LineClient
from adapters.mail import send_due_mail
from adapters.runtime import Runtime
from bot.delivery import Deliverer
from bot.handoff_jobs import end_idle_chats, prune_transcripts
from bot.points_jobs import confirm_pending, expire_lots, points_check
from bot.reminders import ReminderRun
from common.logging_setup import log_fields
from models.db import transaction
from models.leases import acquire_lease, release_lease
from models.retention import prune_finished
from models.timeutil import JST
from models.unanswered import prune_unanswered
from richmenu.switching import sync_rich_menus

logger = logging.getLogger("benesapo.scheduler")


@dataclass(frozen=True)
class Job:
    id: str
    trigger: Any
    run: Callable[[], dict[str, int]]
    lease: timedelta
    misfire_grace_seconds: int


def retry_outbox(deliverer: Deliverer, max_batches: int = 100) -> dict[str, int]:
    attempted = 0
    for _ in range(max_batches):
        count = deliverer.deliver_due()
        attempted += count
        if count == 0:
            break
    return {"attempted": attempted}


def send_reminders(runtime: Runtime, line: LineClient, deliverer: Deliverer) -> dict[str, int]:
    report = ReminderRun(runtime, line, deliverer).run()
    return {
        "sent": report.sent,
        "skipped": report.skipped,
        "failed": report.failed,
        "deferred": report.deferred,
        "not_sent": report.not_sent,
        "bad_rows": report.bad_rows,
    }


def prune_records(runtime: Runtime) -> dict[str, int]:
    """Finished webhook events and outbox rows older than RETENTION_DAYS are deleted, and
    unanswered questions not asked again for as long."""
    now, days = runtime.clock.now(), runtime.settings.retention_days
    counts = asdict(prune_finished(runtime.session_factory, now, days))
    with transaction(runtime.session_factory) as session:
        counts["questions"] = prune_unanswered(session, now, days)
    counts["transcripts"] = prune_transcripts(runtime)
    return counts


def sync_menus(runtime: Runtime, line: LineClient) -> dict[str, int]:
    """Rich menus of users whose link changed outside a worker (CLI, back office)."""
    report = sync_rich_menus(runtime, line)
    return {"users": report.total, "calls": report.calls}


def standard_jobs(runtime: Runtime, deliverer: Deliverer) -> list[Job]:
    return [
        Job(
            "confirm_pending_points",
            CronTrigger(minute=5, timezone=JST),
            lambda: confirm_pending(runtime),
            timedelta(minutes=30),
            3600,
        ),
        Job(
            "expire_point_lots",
            CronTrigger(hour=0, minute=10, timezone=JST),
            lambda: expire_lots(runtime),
            timedelta(hours=1),
            6 * 3600,
        ),
        Job(
            "points_check",
            CronTrigger(hour=2, minute=30, timezone=JST),
            lambda: points_check(runtime),
            timedelta(hours=1),
            6 * 3600,
        ),
        Job(
            "outbox_retries",
            IntervalTrigger(minutes=1, timezone=JST),
            lambda: retry_outbox(deliverer),
            timedelta(minutes=5),
            60,
        ),
        Job(
            "richmenu_sync",
            IntervalTrigger(minutes=1, timezone=JST),
            lambda: sync_menus(runtime, deliverer.line),
            timedelta(minutes=5),
            60,
        ),
        Job(
            "mail_outbox",
            IntervalTrigger(minutes=1, timezone=JST),
            lambda: send_due_mail(runtime),
            timedelta(minutes=5),
            60,
        ),
        Job(
            "handoff_idle",
            IntervalTrigger(minutes=1, timezone=JST),
            lambda: end_idle_chats(runtime),
            timedelta(minutes=5),
            60,
        ),
        Job(
            "prune_finished_records",
            CronTrigger(hour=3, minute=30, timezone=JST),
            lambda: prune_records(runtime),
            timedelta(hours=2),
            6 * 3600,
        ),
        Job(
            "expiry_reminders",
            CronTrigger(hour=10, minute=0, timezone=JST),
            lambda: send_reminders(runtime, deliverer.line, deliverer),
            timedelta(hours=2),
            6 * 3600,
        ),
    ]


class LeasedRunner:
    """Runs a job only while holding its lease, and logs one JSON line per run."""

    def __init__(self, runtime: Runtime, holder: str | None = None) -> None:
        self.runtime = runtime
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def __call__(self, job: Job) -> dict[str, Any]:
        factory, clock = self.runtime.session_factory, self.runtime.clock
        if not acquire_lease(factory, job.id, self.holder, clock.now(), job.lease):
            log_fields(
                logger, logging.INFO, {"event": "job_skipped", "job": job.id, "reason": "leased"}
            )
            return {"skipped": True}
        started = time.perf_counter()
        try:
            counts = job.run()
        except Exception as exc:  # noqa: BLE001 - logged; the next run tries again
            log_fields(
                logger,
                logging.ERROR,
                {"event": "job_failed", "job": job.id, "error": type(exc).__name__},
                exc_info=True,
            )
            return {"failed": True}
        finally:
            release_lease(factory, job.id, self.holder, clock.now())
        log_fields(
            logger,
            logging.INFO,
            {
                "event": "job_run",
                "job": job.id,
                **counts,
                "ms": round((time.perf_counter() - started) * 1000, 1),
            },
        )
        return counts


def install_jobs(scheduler: BaseScheduler, runner: LeasedRunner, jobs: list[Job]) -> None:
    for job in jobs:
        scheduler.add_job(
            runner,
            trigger=job.trigger,
            args=[job],
            id=job.id,
            name=job.id,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=job.misfire_grace_seconds,
        )
