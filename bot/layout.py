"""How many web processes, and who processes events: decided once from the database URL.

SQLite has a single writer per file: two gunicorn workers (and their event threads) queue on
its lock, and a webhook's acknowledgement waits seconds behind the other process's commits. So
on SQLite the web runs as ONE process that also processes the events it records; on a server
database (PostgreSQL) the layout asked for is kept.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WebLayout:
    workers: int  # gunicorn worker processes
    webhook_workers: int  # event-processing threads inside each web process
    single_process: bool  # reduced to one process because the database is SQLite


def is_sqlite(database_url: str) -> bool:
    return database_url.strip().lower().startswith("sqlite")


def web_layout(database_url: str, workers: int, webhook_workers: int) -> WebLayout:
    """The web layout for `database_url`, given the workers and event threads asked for.

    SQLite: one process, with at least one event thread (a separate `benesapo worker` would be
    a second writer). Otherwise: as asked (at least one web process)."""
    if is_sqlite(database_url):
        return WebLayout(workers=1, webhook_workers=max(1, webhook_workers), single_process=True)
    return WebLayout(
        workers=max(1, workers), webhook_workers=max(0, webhook_workers), single_process=False
    )
