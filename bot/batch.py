"""Isolating a bad row in a batch job: the row is logged and counted, the job goes on.

A job runs its fast path (a set-based statement, a batch claim) through `bisect_isolated`:
when that raises, the rows are split in halves and each half tried again, so one row that
cannot be processed (data out of range, a broken invariant) costs only itself, and the others
are still done in large parts. A lost database connection is an
outage, not a bad row: it is raised at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError

from common.logging_setup import exception_fields, log_fields
from common.metrics import BATCH_ROWS_FAILED

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


def bisect_isolated(
    job: str,
    rows: Sequence[K],
    attempt: Callable[[list[K]], T],
    label: Callable[[K], Any] = str,
) -> tuple[list[T], list[K]]:
    """`attempt(rows)`; if it raises, `attempt` on each half, and so on down to single rows:
    a bad row is logged (as `label(row)`, say its id) and counted, every other row is done in
    a few large parts (about 2·log2(len(rows)) attempts for one bad row). Returns the results
    of the attempts that worked and the bad rows."""
    results: list[T] = []
    failed: list[K] = []
    parts = [list(rows)] if rows else []
    while parts:
        part = parts.pop()
        try:
            results.append(attempt(part))
        except Exception as exc:  # noqa: BLE001 - split again, or this is the bad row
            if is_outage(exc):
                raise
            if len(part) == 1:
                row_failed(job, label(part[0]), exc)
                failed.append(part[0])
            else:
                middle = len(part) // 2
                parts += [part[middle:], part[:middle]]
    return results, failed
