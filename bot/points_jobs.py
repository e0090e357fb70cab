"""The points ledger's scheduled jobs: confirm pending earnings (Art. 2.3), expire lots
(Art. 5.3). Each runs set-based in one transaction. If that raises, the members due are split
in halves, each half run set-based again, down to the one member that cannot be processed:
that member is logged and counted, every other one is done (a bad row costs about
2·log2(members) extra statements, not one transaction per member)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from adapters.runtime import Runtime
from bot.batch import bisect_isolated, is_outage
from models.points import MemberRange, PointsLedger, run_in_transaction


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
