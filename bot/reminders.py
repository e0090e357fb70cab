"""The expiry-reminder run: stream who is due, claim each slot once, send (multicast when the
message is identical), stop at quiet hours or at the message budget."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from adapters.line_client import LineApiError, LineClient
from adapters.runtime import Runtime
from bot.batch import bisect_isolated, is_outage
from bot.delivery import Deliverer, Outgoing
from common.logging_setup import log_fields
from handlers.reminders import expiry_reminder
from models.db import is_postgres, transaction
from models.events import OutboxStatus, new_outbox_row, queue_claimed
from models.reminder_shards import Shard
from models.reminders import (
    DueReminder,
    ReminderPolicy,
    ReminderWindow,
    record_sends,
    sent_this_month,
    stream_due_reminders,
)

logger = logging.getLogger("benesapo.reminders")

JOB = "expiry_reminders"
# Message groups claimed per transaction (at most CLAIM_RECIPIENTS recipients among them) and
# sent by one pool thread: at LINE's 2,000 calls/s, a claim for every 10 pushes was 200
# transactions a second; one for every 100 is 20.
CLAIM_GROUPS = 100
CLAIM_RECIPIENTS = 5000


@dataclass
class ReminderReport:
    as_of: str
    expiry_date: str | None = None
    stage: int | None = None
    due: int = 0  # members due when the run looked (dry run: would reach)
    messages: int = 0  # LINE messages this costs (one per recipient)
    api_calls: int = 0  # push/multicast calls
    sent: int = 0
    failed: int = 0
    deferred: int = 0  # queued; LINE was unavailable, the outbox job retries
    skipped: int = 0  # already told (another run got there first)
    not_sent: int = 0  # stopped by quiet hours or the budget
    bad_rows: int = 0  # members that could not be claimed (logged, counted); the rest went on
    stopped: str | None = None  # "quiet_hours" | "budget" | "no_reminders_today"
    by_stage: dict[int, int] = field(default_factory=dict)

    def to_json(self) -> dict:
        return asdict(self)


def _settle(
    futures: set[Future[list[str]]],
    progress: Callable[[ReminderReport], None] | None,
    report: ReminderReport,
) -> None:
    for future in futures:
        future.result()  # a send that raised (a crash) stops the run here
        if progress:
            progress(report)


def _groups(chunks: Iterator[list[DueReminder]], size: int) -> Iterator[list[DueReminder]]:
    """Runs of members with the same points (the same message), at most `size` each."""
    group: list[DueReminder] = []
    for chunk in chunks:
        for reminder in chunk:
            if group and (reminder.points != group[0].points or len(group) >= size):
                yield group
                group = []
            group.append(reminder)
    if group:
        yield group


class ReminderRun:
    def __init__(
        self,
        runtime: Runtime,
        line: LineClient,
        deliverer: Deliverer,
        policy: ReminderPolicy | None = None,
        ticker: Callable[[], float] = time.monotonic,
        claim_groups: int = CLAIM_GROUPS,
    ) -> None:
        self.ticker = ticker  # seconds elapsed during a run move business time on
        self.claim_groups = max(1, claim_groups)
        self._tally = threading.Lock()
        self.runtime = runtime
        self.line = line
        self.deliverer = deliverer
        self.policy = policy or ReminderPolicy.from_env()

    def _stream(
        self, now: datetime, window: ReminderWindow, shard: Shard | None = None
    ) -> Iterator[list[DueReminder]]:
        engine = self.runtime.engine
        with engine.connect() as conn:
            if not is_postgres(engine):
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")  # no write lock
            # Ordered by points so members receiving the identical message are adjacent.
            yield from stream_due_reminders(conn, now, window, self.policy, chunk=1000, shard=shard)

    def _budget_left(self, now: datetime) -> int | None:
        left: int | None = None
        try:
            limit, used = self.line.message_quota()
            if limit is not None:
                left = max(0, limit - used)
        except LineApiError as exc:
            log_fields(
                logger, logging.WARNING, {"event": "quota_unavailable", "status": exc.status}
            )
        if self.policy.monthly_budget is not None:
            with self.runtime.session_factory() as session:
                ours = max(0, self.policy.monthly_budget - sent_this_month(session, now))
            left = ours if left is None else min(left, ours)
        return left

    def run(
        self,
        as_of: datetime | None = None,
        *,
        dry_run: bool = False,
        progress: Callable[[ReminderReport], None] | None = None,
        shard: Shard | None = None,
    ) -> ReminderReport:
        """One run; with `shard`, only that shard's members and its part of the budget (the
        other shards run the same in other processes: `benesapo reminders run --processes`)."""
        started_at = self.runtime.clock.now() if as_of is None else as_of
        t0 = self.ticker()

        def now() -> datetime:  # business time moves on during a long run
            return started_at + timedelta(seconds=self.ticker() - t0)

        window = ReminderWindow.on(started_at, self.policy)
        report = ReminderReport(
            as_of=started_at.isoformat(), expiry_date=str(window.expiry_date), stage=window.stage
        )
        if window.stage is None:
            report.stopped = "no_reminders_today"
            return report
        if dry_run:
            return self._dry_run(report, started_at, window, shard)
        if self.policy.is_quiet(started_at):
            report.stopped = "quiet_hours"
            quiet = self._dry_run(ReminderReport(as_of=""), started_at, window, shard)
            report.not_sent = quiet.due
            return report
        self.deliverer.deliver_due()  # what a crashed run queued goes out first, once
        budget = self._budget_left(started_at)
        if shard is not None:
            budget = shard.budget(budget)
        workers = max(1, self.policy.send_workers)
        inflight: set[Future[list[str]]] = set()
        pending: list[list[DueReminder]] = []  # groups waiting to be claimed together

        with ThreadPoolExecutor(workers, thread_name_prefix="reminders") as pool:

            def claim_and_send() -> None:
                """Claim the pending groups in one transaction; send them on a pool thread."""
                nonlocal budget, inflight
                current = now()
                if self.policy.is_quiet(current):  # quiet hours began while these waited
                    report.stopped = report.stopped or "quiet_hours"
                    report.not_sent += sum(map(len, pending))
                    pending.clear()
                    return
                items = self._claim(pending, window, current, report)
                pending.clear()
                if not items:
                    return
                if budget is not None:
                    budget -= sum(len(item.to) for item in items)
                # Sends run concurrently (the LINE client's rate limit is the only brake), at
                # most 2 × workers batches in flight.
                inflight.add(pool.submit(self._deliver, items, report))
                if len(inflight) >= 2 * workers:
                    done, inflight = wait(inflight, return_when=FIRST_COMPLETED)
                    _settle(done, progress, report)

            due = self._stream(started_at, window, shard)
            for group in _groups(due, self.policy.batch_size):
                report.due += len(group)
                if report.stopped:
                    report.not_sent += len(group)
                    continue
                if self.policy.is_quiet(now()):
                    report.stopped = "quiet_hours"
                    report.not_sent += len(group)
                    continue
                if budget is not None and sum(map(len, pending)) + len(group) > budget:
                    claim_and_send()  # the budget left is exact again
                    if len(group) > budget:
                        report.stopped = "budget"
                        report.not_sent += len(group) - budget
                        group = group[:budget]
                        if not group:
                            continue
                pending.append(group)
                pending_recipients = sum(map(len, pending))
                if len(pending) >= self.claim_groups or pending_recipients >= CLAIM_RECIPIENTS:
                    claim_and_send()
            if pending:
                claim_and_send()
            _settle(inflight, progress, report)
        log_fields(logger, logging.INFO, {"event": "reminders_run", **report.to_json()})
        return report

    def _claim(
        self,
        groups: list[list[DueReminder]],
        window: ReminderWindow,
        now: datetime,
        report: ReminderReport,
    ) -> list[Outgoing]:
        """Claim the groups in one transaction; if that raises, each group, split in halves
        until a member who cannot be claimed is alone: that member is skipped (logged,
        counted), everyone else is reminded (still by multicast, in parts)."""
        try:
            return self._claim_now(groups, window, now, report)
        except Exception as exc:  # noqa: BLE001 - retried in smaller parts below
            if is_outage(exc):
                raise
        items: list[Outgoing] = []
        for group in groups:
            claimed, failed = bisect_isolated(
                JOB,
                group,
                lambda part: self._claim_now([part], window, now, report),
                label=lambda r: f"member_pk={r.member_pk}",
            )
            items += [item for part in claimed for item in part]
            report.bad_rows += len(failed)
        return items

    def _claim_now(
        self,
        groups: list[list[DueReminder]],
        window: ReminderWindow,
        now: datetime,
        report: ReminderReport,
    ) -> list[Outgoing]:
        """Claim the members' slots and queue one message per group, claimed for sending,
        in one transaction (one INSERT for the slots, one for the messages)."""
        stage = window.stage or 1
        skipped = 0
        with transaction(self.runtime.session_factory) as session:
            claimed = set(record_sends(session, [r for g in groups for r in g], window, now))
            rows = []
            for group in groups:
                mine = [r for r in group if r.member_pk in claimed]
                skipped += len(group) - len(mine)
                if not mine:
                    continue
                # Keyed by a member this run claimed: unique even if a concurrent run claimed
                # part of the same group.
                row = new_outbox_row(
                    dedupe_key=f"reminder:{window.expiry_date}:{stage}:{mine[0].member_pk}",
                    to=[r.line_user_id for r in mine],
                    messages=[expiry_reminder(group[0].points, window.expiry_date, stage)],
                    now=self.runtime.clock.now(),  # delivery runs on the process's clock
                    respects_quiet_hours=True,
                )
                rows.append(row)
            queued = queue_claimed(session, rows)
        items = [
            Outgoing.from_values(queued[row["dedupe_key"]], row)
            for row in rows
            if row["dedupe_key"] in queued
        ]
        recipients = sum(len(item.to) for item in items)
        with self._tally:
            report.skipped += skipped
            report.api_calls += len(items)
            report.messages += recipients
            report.by_stage[stage] = report.by_stage.get(stage, 0) + recipients
        return items

    def _deliver(self, items: list[Outgoing], report: ReminderReport) -> list[str]:
        statuses = self.deliverer.send_many(items)
        with self._tally:
            for item, status in zip(items, statuses, strict=True):
                if status == OutboxStatus.SENT:
                    report.sent += len(item.to)
                elif status == OutboxStatus.FAILED:
                    report.failed += len(item.to)
                else:
                    report.deferred += len(item.to)
        return statuses

    def _dry_run(
        self,
        report: ReminderReport,
        now: datetime,
        window: ReminderWindow,
        shard: Shard | None = None,
    ) -> ReminderReport:
        for group in _groups(self._stream(now, window, shard), self.policy.batch_size):
            report.due += len(group)
            report.messages += len(group)
            report.api_calls += 1
        report.by_stage = {window.stage or 1: report.due}
        return report
