"""Records a webhook request's events, retrying briefly while the database is away.

LINE waits only a second or two for the answer, and does not send a refused request again
unless the channel's webhook redelivery is on (it is off by default). So a database that is
away for less than RECORD_BUDGET_SECONDS (a dropped connection, a failover, the end of a
restart) costs the request some latency instead of a 503; one away longer is answered 503,
counted in `benesapo_webhook_refused_total`, and its events are lost unless LINE redelivers
them (README: webhook redelivery must be on).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_random_exponential

from common.logging_setup import log_fields
from models.db import single_statement
from models.events import record_events

# The database is down, unreachable or its pool is exhausted (503, as GET /healthz answers).
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError, PoolTimeoutError)
RECORD_BUDGET_SECONDS = 1.0  # of the request; LINE waits about 1-2 s for the answer
REDELIVERY_ADVICE = (
    "turn on webhook redelivery for the channel (LINE Developers Console > Messaging API > "
    "Webhook settings > Use webhook redelivery), then set LINE_WEBHOOK_REDELIVERY=1: without "
    "it, events of a webhook answered 503 while the database is away are lost"
)

logger = logging.getLogger("benesapo.webhook")


def warn_without_redelivery(redelivery_on: bool) -> None:
    """At start-up: one warning line while the operator has not said redelivery is on."""
    if not redelivery_on:
        log_fields(
            logger,
            logging.WARNING,
            {"event": "webhook_redelivery_off", "advice": REDELIVERY_ADVICE},
        )


def record_retrying(
    engine: Engine,
    events: Sequence[dict[str, Any]],
    now: Callable[[], datetime],
    *,
    budget: float = RECORD_BUDGET_SECONDS,
    sleep: Callable[[float], None] | None = None,
) -> list[str]:
    """record_events in one statement, tried again while the database is unavailable, for at
    most `budget` seconds; returns the webhookEventIds that were new. Retrying is safe: the
    INSERT skips events already recorded (a statement that did commit before its connection
    dropped is not applied twice)."""
    retrying = Retrying(
        stop=stop_after_delay(budget),
        wait=wait_random_exponential(multiplier=0.05, max=0.25),
        retry=retry_if_exception_type(DATABASE_UNAVAILABLE),
        reraise=True,
        **({"sleep": sleep} if sleep is not None else {}),
    )
    for attempt in retrying:
        with attempt, single_statement(engine) as conn:
            return record_events(conn, events, now())
    raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover
