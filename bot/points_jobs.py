"""The points ledger's scheduled jobs: confirm pending earnings (Art. 2.3), expire lots
(Art. 5.3). Each runs set-based in one transaction; if that raises, member by member, so a
member whose lots cannot be processed is logged and counted and the others are done."""

from __future__ import annotations

from datetime import datetime

from bot.batch import each_isolated, is_outage
from bot.runtime import Runtime
from models.points import PointsLedger, run_in_transaction


def _ledger(runtime: Runtime, session) -> PointsLedger:  # type: ignore[no-untyped-def]
    return PointsLedger.configured(session, runtime.clock, runtime.settings)


def _member_by_member(
    runtime: Runtime, job: str, now: datetime | None, *, confirm: bool
) -> dict[str, int]:
    factory = runtime.session_factory
    members = run_in_transaction(
        factory, lambda s: _ledger(runtime, s).members_due(confirm=confirm, now=now)
    )
    done, failed = each_isolated(
        job,
        members,
        lambda pk: run_in_transaction(
            factory, lambda s: _ledger(runtime, s).settle_member(pk, now)
        ),
        label=lambda pk: f"member_pk={pk}",
    )
    index = 0 if confirm else 1
    return {
        "confirmed" if confirm else "expired": sum(counts[index] for _, counts in done),
        "bad_rows": len(failed),
    }


def confirm_pending(runtime: Runtime, now: datetime | None = None) -> dict[str, int]:
    """Pending earnings whose period has ended become available (Art. 2.3)."""
    try:
        count = run_in_transaction(
            runtime.session_factory, lambda s: _ledger(runtime, s).confirm_due(now)
        )
    except Exception as exc:  # noqa: BLE001 - done again member by member
        if is_outage(exc):
            raise
        return _member_by_member(runtime, "confirm_pending_points", now, confirm=True)
    return {"confirmed": count, "bad_rows": 0}


def expire_lots(runtime: Runtime, now: datetime | None = None) -> dict[str, int]:
    """Points past their expiry date expire (Art. 5.3)."""
    try:
        count = run_in_transaction(
            runtime.session_factory, lambda s: _ledger(runtime, s).expire_due(now)
        )
    except Exception as exc:  # noqa: BLE001 - done again member by member
        if is_outage(exc):
            raise
        return _member_by_member(runtime, "expire_point_lots", now, confirm=False)
    return {"expired": count, "bad_rows": 0}
