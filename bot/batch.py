"""Isolating a bad row in a batch job: the row is logged and counted, the job goes on.

A job first runs its fast path (a set-based statement, a batch claim); when that raises, it
runs the same work row by row through `each_isolated`, so one row that cannot be processed
(data out of range, a broken invariant) costs only itself. A lost database connection is an
outage, not a bad row: it is raised at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError

from bot.logging_setup import exception_fields, log_fields
from bot.metrics import BATCH_ROWS_FAILED

logger = logging.getLogger("benesapo.batch")

K = TypeVar("K")
T = TypeVar("T")


def is_outage(exc: BaseException) -> bool:
    """The database went away (not this row's fault): stop, the next run tries again."""
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def row_failed(job: str, row: Any, exc: BaseException) -> None:
    """Log (type and place, never the message) and count one skipped row."""
    BATCH_ROWS_FAILED.labels(job=job).inc()
    log_fields(
        logger,
        logging.ERROR,
        {"event": "batch_row_failed", "job": job, "row": str(row), **exception_fields(exc)},
    )


def each_isolated(
    job: str, rows: Iterable[K], work: Callable[[K], T], label: Callable[[K], Any] = str
) -> tuple[list[tuple[K, T]], list[K]]:
    """`work(row)` for each row; returns (row, result) of those that worked and the rows
    that raised (each logged as `label(row)`, say its id, and counted)."""
    done: list[tuple[K, T]] = []
    failed: list[K] = []
    for row in rows:
        try:
            done.append((row, work(row)))
        except Exception as exc:  # noqa: BLE001 - one row's failure is logged and counted
            if is_outage(exc):
                raise
            row_failed(job, label(row), exc)
            failed.append(row)
    return done, failed
