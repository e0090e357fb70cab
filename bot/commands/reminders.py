"""`benesapo reminders run`: the expiry-reminder job by hand (the scheduler runs it at 10:00)."""

from __future__ import annotations

import json
from datetime import date

import click

from models.timeutil import jst_at, parse_iso


@click.group()
def reminders() -> None:
    """Expiry reminders pushed on LINE."""


@reminders.command("run")
@click.option("--date", "day", help="Run as of 10:00 JST on this day (YYYY-MM-DD).")
@click.option("--now", "instant", help="Run as of this instant (ISO 8601; quiet hours apply).")
@click.option("--dry-run", is_flag=True, help="Only count who would be reached and the cost.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--processes",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Share the due members among this many sender processes (one shard each).",
)
@click.option("--shard", "shard_text", help="Only shard K of N (K/N; what --processes runs).")
@click.pass_obj
def run(  # type: ignore[no-untyped-def]
    lazy,
    day: str | None,
    instant: str | None,
    dry_run: bool,
    as_json: bool,
    processes: int,
    shard_text: str | None,
) -> None:
    """Send (or with --dry-run, count) today's expiry reminders."""
    from bot.reminders import ReminderReport, ReminderRun
    from bot.services import Services
    from models.reminder_shards import parse_shard

    if day and instant:
        raise click.UsageError("give --date or --now, not both")
    if processes > 1 and shard_text:
        raise click.UsageError("give --processes or --shard, not both")
    shard = None
    if shard_text:
        try:
            shard = parse_shard(shard_text)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from exc
    if processes > 1:
        from bot.reminder_processes import ShardFailed, run_sharded
        from common.config import load_settings

        extra = [*(["--date", day] if day else []), *(["--now", instant] if instant else [])]
        extra += ["--dry-run"] if dry_run else []
        try:
            rate = load_settings(require_secrets=False).line_rate_limit_per_second
            merged = run_sharded(processes, extra, rate)
        except ShardFailed as exc:
            raise click.ClickException(str(exc)) from exc
        if as_json:
            click.echo(json.dumps(merged, ensure_ascii=False))
            return
        _echo_report(ReminderReport(**merged), dry_run)
        return
    as_of = None
    if day:
        as_of = jst_at(date.fromisoformat(day), 10)
    elif instant:
        as_of = parse_iso(instant)
    runtime = lazy.get(line=not dry_run)  # a dry run only reads the database
    services = Services(runtime)
    job = ReminderRun(runtime, services.line, services.deliverer)

    def progress(report) -> None:  # type: ignore[no-untyped-def]
        if not as_json:
            click.echo(
                f"  … sent {report.sent}, failed {report.failed}, due so far {report.due}", err=True
            )

    report = job.run(as_of, dry_run=dry_run, progress=progress, shard=shard)
    if as_json:
        click.echo(json.dumps(report.to_json(), ensure_ascii=False))
        return
    _echo_report(report, dry_run)


def _echo_report(report, dry_run: bool) -> None:  # type: ignore[no-untyped-def]
    click.echo(f"as of {report.as_of}: expiry date {report.expiry_date}, stage {report.stage}")
    if report.stopped == "no_reminders_today":
        click.echo("no reminders are due today")
        return
    if dry_run:
        click.echo(
            f"would reach {report.due} members (stage {report.stage}): "
            f"{report.messages} LINE messages in {report.api_calls} API calls"
        )
        return
    click.echo(
        f"sent {report.sent} / skipped {report.skipped} / failed {report.failed}"
        f" / deferred {report.deferred} / not sent {report.not_sent}"
    )
    if report.stopped:
        click.echo(f"stopped: {report.stopped}")


COMMANDS = [reminders]
