"""The points ledger's scheduled jobs: confirm pending earnings (Art. 2.3), expire lots
(Art. 5.3), and check the ledger's invariants (nightly, `points_check`).

Confirm and expire run set-based in one transaction. If that raises, the members due are split
in halves, each half run set-based again, down to the one member that cannot be processed:
that member is logged and counted, every other one is done (a bad row costs about
2·log2(members) extra statements, not one transaction per member)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import Connection, text

from adapters.runtime import Runtime
from bot.batch import bisect_isolated, is_outage
from common.logging_setup import log_fields
from common.metrics import POINTS_CHECK_BREAKS
from models.db import is_postgres, read_only
from models.points import MemberRange, PointsLedger, PointsPolicy, run_in_transaction
from models.points.check import INVARIANTS, TOTALS_INVARIANT, CheckReport, check_ledger

logger = logging.getLogger("benesapo.points")


def _ledger(runtime: Runtime, session) -> PointsLedger:  # type: ignore[no-untyped-def]
    return PointsLedger.configured(session, runtime.clock, runtime.settings)


Step = Callable[[PointsLedger, MemberRange | None], int]


def _isolated(
    runtime: Runtime, job: str, step: Step, now: datetime | None, *, confirm: bool
) -> tuple[int, int]:
    """(lots done, members skipped)."""
    factory = runtime.session_factory

    def attempt(members: MemberRange | None) -> int:
        return run_in_transaction(factory, lambda s: step(_ledger(runtime, s), members))

    try:
        return attempt(None), 0
    except Exception as exc:  # noqa: BLE001 - split below
        if is_outage(exc):
            raise
    due = run_in_transaction(
        factory, lambda s: _ledger(runtime, s).members_due(confirm=confirm, now=now)
    )
    counts, failed = bisect_isolated(
        job, due, lambda part: attempt((part[0], part[-1])), label=lambda pk: f"member_pk={pk}"
    )
    return sum(counts), len(failed)


def confirm_pending(runtime: Runtime, now: datetime | None = None) -> dict[str, int]:
    """Pending earnings whose period has ended become available (Art. 2.3)."""
    done, bad = _isolated(
        runtime,
        "confirm_pending_points",
        lambda ledger, members: ledger.confirm_due(now, members),
        now,
        confirm=True,
    )
    return {"confirmed": done, "bad_rows": bad}


def expire_lots(runtime: Runtime, now: datetime | None = None) -> dict[str, int]:
    """Points past their expiry date expire (Art. 5.3)."""
    done, bad = _isolated(
        runtime,
        "expire_point_lots",
        lambda ledger, members: ledger.expire_due(now, members),
        now,
        confirm=False,
    )
    return {"expired": done, "bad_rows": bad}


@contextmanager
def _snapshot(runtime: Runtime) -> Iterator[Connection]:
    """One consistent read for the check: REPEATABLE READ, READ ONLY on PostgreSQL; on SQLite a
    connection that takes no write lock (each statement reads one snapshot)."""
    engine = runtime.engine
    if not is_postgres(engine):
        with read_only(engine) as conn:
            yield conn
        return
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
        conn.execute(text("SET TRANSACTION READ ONLY"))
        try:
            yield conn
        finally:
            conn.rollback()


def check_points(runtime: Runtime, limit: int = 20) -> CheckReport:
    """Every ledger invariant on the live database (`models.points.check`); each break is
    counted in benesapo_points_check_breaks_total and the broken members are logged."""
    rate = PointsPolicy.from_settings(runtime.settings).yen_per_point
    with _snapshot(runtime) as conn:
        report = check_ledger(conn, yen_per_point=rate, limit=limit)
    for invariant, count in report.breaks.items():
        if count:
            POINTS_CHECK_BREAKS.labels(invariant=invariant).inc(count)
    if not report.ok:
        log_fields(
            logger,
            logging.ERROR,
            {
                "event": "points_check_broken",
                "members": report.broken_members,
                **{name: count for name, count in report.breaks.items() if count},
                "member_pks": ",".join(str(b.member_pk) for b in report.broken),
            },
        )
    return report


def points_check(runtime: Runtime) -> dict[str, int]:
    """The nightly job: the check's counts for the job's log line."""
    report = check_points(runtime)
    return {
        "members": report.members,
        "broken": report.broken_members,
        **{name: count for name, count in report.breaks.items() if count},
    }


# Every invariant is exported from the start (0 until a break), so an alert on its increase
# works from the first scrape.
for _invariant in [*INVARIANTS, TOTALS_INVARIANT]:
    POINTS_CHECK_BREAKS.labels(invariant=_invariant)
