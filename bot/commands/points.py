"""`benesapo points …`: ledger jobs by hand, the ledger check and bulk import."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import click

from adapters.runtime import Runtime
from bot.points_jobs import check_points, confirm_pending, expire_lots
from models.points import PointsError, PointsLedger, run_in_transaction
from models.points.check import CheckReport
from models.timeutil import parse_iso

IMPORT_COLUMNS = ("kind", "member_id", "points", "source_ref", "reason", "occurred_at")


def _now(runtime: Runtime, raw: str | None) -> datetime:
    if raw is None:
        return runtime.clock.now()
    try:
        return parse_iso(raw)
    except (ValueError, OverflowError) as exc:
        raise click.BadParameter(f"not an ISO 8601 time: {raw}", param_hint="--now") from exc


def _ledger(runtime: Runtime, session) -> PointsLedger:  # type: ignore[no-untyped-def]
    return PointsLedger.configured(session, runtime.clock, runtime.settings)


@click.group()
def points() -> None:
    """Points ledger jobs, the ledger check and bulk import."""


@points.command("confirm")
@click.option("--now", "now_text", help="Run as of this ISO 8601 time (default: now).")
@click.pass_obj
def confirm(lazy, now_text: str | None) -> None:  # type: ignore[no-untyped-def]
    """Pending earnings whose period has ended become available (Art. 2.3)."""
    runtime = lazy.get()
    now = _now(runtime, now_text)
    count = confirm_pending(runtime, now)["confirmed"]  # the scheduler's job, by hand
    click.echo(f"confirmed {count} pending grant(s) as of {now.isoformat()}")


@points.command("expire")
@click.option("--now", "now_text", help="Run as of this ISO 8601 time (default: now).")
@click.pass_obj
def expire(lazy, now_text: str | None) -> None:  # type: ignore[no-untyped-def]
    """Points past their expiry date expire (Art. 5.3)."""
    runtime = lazy.get()
    now = _now(runtime, now_text)
    count = expire_lots(runtime, now)["expired"]  # the scheduler's job, by hand
    click.echo(f"expired {count} lot(s) as of {now.isoformat()}")


@points.command("check")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--limit",
    type=click.IntRange(0, 10_000),
    default=20,
    show_default=True,
    help="List at most this many broken members.",
)
@click.pass_obj
def check(lazy, as_json: bool, limit: int) -> None:  # type: ignore[no-untyped-def]
    """Verify every ledger invariant on the database (entries = lots = debts = allocations,
    per member and in total); exit 1 on a break, listing the broken members."""
    report = check_points(lazy.get(), limit)
    if as_json:
        click.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        for line in _report_lines(report):
            click.echo(line)
    if not report.ok:
        raise SystemExit(1)


def _report_lines(report: CheckReport) -> list[str]:
    verdict = "ok" if report.ok else f"BROKEN ({report.broken_members} member(s))"
    lines = [f"points ledger {verdict}: {report.members} member(s) with ledger rows"]
    for name, total in report.totals.items():
        sign = "=" if total["entries"] == total["tables"] else "≠"
        lines.append(f"  {name}: entries {total['entries']} {sign} tables {total['tables']}")
    lines += [f"  {name}: {count} broken" for name, count in report.breaks.items() if count]
    for found in report.broken:
        who = found.member_id or "(no member row)"
        lines.append(f"  member {who} (pk {found.member_pk}): {', '.join(found.invariants)}")
    hidden = report.broken_members - len(report.broken)
    if hidden > 0:
        lines.append(f"  … and {hidden} more (--limit)")
    return lines


@dataclass
class ImportSummary:
    imported: int = 0
    skipped: int = 0
    failed: list[tuple[int, str]] = field(default_factory=list)


def import_rows(runtime: Runtime, path: Path, progress: bool = True) -> ImportSummary:
    """Apply each CSV row in its own transaction; bad rows are reported, good rows applied.

    Columns: kind (earning|grant), member_id, points, source_ref, reason, occurred_at (ISO,
    optional). A row's idempotency key is derived from its kind and source_ref, so importing
    the same file again skips what was already imported.
    """
    summary = ImportSummary()
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in IMPORT_COLUMNS[:4] if c not in (reader.fieldnames or [])]
        if missing:
            raise click.ClickException(f"missing column(s): {', '.join(missing)}")
        rows = list(reader)
    with (
        click.progressbar(enumerate(rows, start=2), length=len(rows), label="importing", file=None)
        if progress
        else _plain(enumerate(rows, start=2)) as bar
    ):
        for line, row in bar:
            try:
                replayed = _import_row(runtime, row)
            except PointsError as err:
                summary.failed.append((line, f"{err.code}: {err.message}"))
                continue
            except ValueError as err:
                summary.failed.append((line, f"invalid_request: {err}"))
                continue
            if replayed:
                summary.skipped += 1
            else:
                summary.imported += 1
    return summary


class _plain:
    def __init__(self, items):  # type: ignore[no-untyped-def]
        self.items = items

    def __enter__(self):  # type: ignore[no-untyped-def]
        return self.items

    def __exit__(self, *exc):  # type: ignore[no-untyped-def]
        return False


def _import_row(runtime: Runtime, row: dict[str, str]) -> bool:
    kind = (row.get("kind") or "").strip()
    member_id = (row.get("member_id") or "").strip()
    source_ref = (row.get("source_ref") or "").strip()
    reason = (row.get("reason") or "").strip()
    raw_points = (row.get("points") or "").strip()
    if not raw_points.lstrip("-").isdigit():
        raise ValueError(f"points must be an integer, got {raw_points!r}")
    amount = int(raw_points)
    when = (row.get("occurred_at") or "").strip()
    try:
        occurred_at = parse_iso(when) if when else None
    except OverflowError as exc:
        raise ValueError(f"occurred_at is out of range: {when!r}") from exc
    key = f"import:{kind}:{source_ref}"

    def work(session) -> bool:  # type: ignore[no-untyped-def]
        ledger = _ledger(runtime, session)
        if kind == "earning":
            receipt = ledger.earn(member_id, amount, source_ref, key=key, occurred_at=occurred_at)
        elif kind == "grant":
            receipt = ledger.grant(
                member_id, amount, source_ref, reason, key=key, occurred_at=occurred_at
            )
        else:
            raise ValueError(f"kind must be 'earning' or 'grant', got {kind!r}")
        return receipt.replayed

    return run_in_transaction(runtime.session_factory, work)


@points.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_obj
def import_csv(lazy, file: Path) -> None:  # type: ignore[no-untyped-def]
    """Bulk earnings/grants from a CSV (kind,member_id,points,source_ref,reason,occurred_at)."""
    runtime = lazy.get()
    summary = import_rows(runtime, file)
    click.echo(
        f"imported {summary.imported}, skipped {summary.skipped} (already imported), "
        f"failed {len(summary.failed)}"
    )
    for line, message in summary.failed:
        click.echo(f"  line {line}: {message}")
    if summary.failed:
        raise SystemExit(1)


COMMANDS = [points]
