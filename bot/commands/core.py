"""Core commands: database, servers, workers."""

from __future__ import annotations

import os
import re

import click

from bot.migrate import new_revision, upgrade_database


@click.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.pass_obj
def db_upgrade(lazy) -> None:  # type: ignore[no-untyped-def]
    """Apply all Alembic migrations."""
    upgrade_database(lazy.get().engine)
    click.echo("database is up to date")


@db.command("revision")
@click.option("-m", "--message", required=True, help="What the migration does (its file's slug).")
@click.option(
    "--url",
    default=None,
    help="Compare with this database, which must be at the latest migration (default: a "
    "scratch SQLite database migrated to it).",
)
def db_revision(message: str, url: str | None) -> None:
    """Write the next numbered migration from what the models have and the migrations lack
    (Alembic autogenerate); nothing when they agree. Review it before committing."""
    from alembic.util import CommandError

    from models.db import make_engine

    message = message.strip()
    if not re.search(r"[A-Za-z0-9]", message) or len(message) > 200:
        raise click.BadParameter("give 1 to 200 characters with a letter or digit", param_hint="-m")
    engine = make_engine(url) if url else None
    try:
        path = new_revision(message, engine=engine)
    except CommandError as exc:  # e.g. the database is not at the latest migration
        raise click.ClickException(str(exc)) from exc
    finally:
        if engine is not None:
            engine.dispose()
    if path is None:
        click.echo("the models and the migrations agree: nothing to do (no file written)")
    else:
        click.echo(f"wrote {path.relative_to(path.parent.parent.parent)}: review it, then commit")


@db.command("prune")
@click.pass_obj
def db_prune(lazy) -> None:  # type: ignore[no-untyped-def]
    """Delete finished webhook events and outbox rows older than RETENTION_DAYS (the clock
    process does this every night)."""
    from bot.scheduler import prune_records

    runtime = lazy.get()
    counts = prune_records(runtime)
    click.echo(
        f"deleted {counts['events']} webhook events and {counts['messages']} outbox messages "
        f"recorded, and {counts['questions']} unanswered questions last asked, more than "
        f"{runtime.settings.retention_days} days ago"
    )


_metrics_port_option = click.option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    envvar="METRICS_PORT",
    default=None,
    help="Serve this process's Prometheus metrics on this port (GET /metrics; default "
    "METRICS_PORT; off when neither is set; 0: any free port).",
)


def _serve_metrics(port: int | None):  # type: ignore[no-untyped-def]
    """The metrics server of a process that serves no HTTP otherwise, or None."""
    if port is None:
        return None
    from common.metrics import start_metrics_server

    try:
        server = start_metrics_server(port)
    except OSError as exc:
        raise click.ClickException(f"cannot serve metrics on port {port}: {exc.strerror}") from exc
    click.echo(f"metrics: GET /metrics on port {server.server_port}")
    return server


def _stop_serving(server) -> None:  # type: ignore[no-untyped-def]
    if server is not None:
        server.shutdown()
        server.server_close()


def _wait_for_signal() -> None:
    """Block until SIGINT/SIGTERM."""
    import signal
    import threading

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.is_set():
        stop.wait(1.0)


@click.command()
@click.option("--threads", type=int, default=None, help="Worker threads (default WEBHOOK_WORKERS).")
@click.option(
    "--nice",
    type=click.IntRange(0, 19),
    default=0,
    help="Lower this process's CPU priority (Unix nice) so that, on a shared host, the web "
    "process acknowledges webhooks first.",
)
@_metrics_port_option
@click.pass_obj
def worker(lazy, threads, nice, metrics_port) -> None:  # type: ignore[no-untyped-def]
    """Process recorded webhook events and the outbox (the Procfile's `worker`).

    Run the web process with WEBHOOK_WORKERS=0 when worker processes take this over.
    """
    from bot.services import Services
    from common.logging_setup import configure_logging

    if nice:
        os.nice(nice)
    configure_logging()
    runtime = lazy.get(line=True)
    services = Services(runtime)
    count = threads or max(1, runtime.settings.webhook_workers)
    metrics_server = _serve_metrics(metrics_port)
    services.start_workers(count, listen=True)
    click.echo(f"worker: {count} threads processing events; Ctrl-C to stop")
    try:
        _wait_for_signal()
    finally:
        services.stop_workers()
        _stop_serving(metrics_server)


@click.command()
@_metrics_port_option
@click.pass_obj
def scheduler(lazy, metrics_port) -> None:  # type: ignore[no-untyped-def]
    """Run the scheduled jobs in this process (the Procfile's `clock`)."""
    from apscheduler.schedulers.blocking import BlockingScheduler

    from bot.scheduler import LeasedRunner, install_jobs, standard_jobs
    from bot.services import Services
    from common.logging_setup import configure_logging
    from models.timeutil import JST

    configure_logging()
    runtime = lazy.get(line=True)
    services = Services(runtime)
    blocking = BlockingScheduler(timezone=JST)
    install_jobs(blocking, LeasedRunner(runtime), standard_jobs(runtime, services.deliverer))
    metrics_server = _serve_metrics(metrics_port)
    click.echo("scheduler: running; Ctrl-C to stop")
    try:
        blocking.start()
    except (KeyboardInterrupt, SystemExit):
        blocking.shutdown(wait=False)
    finally:
        _stop_serving(metrics_server)


COMMANDS = [db, worker, scheduler]


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=lambda: int(os.environ.get("PORT") or 8000))
@click.option("--emulator-port", type=int, default=8001, show_default=True)
def dev(host: str, port: int, emulator_port: int) -> None:
    """Everything locally (what `make run` runs): SQLite, demo data, emulator, bot, scheduler."""
    from bot.devserver import run_dev

    run_dev(host, port, emulator_port)


COMMANDS.append(dev)
