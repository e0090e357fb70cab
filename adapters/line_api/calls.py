"""The call loop every Messaging API call goes through: the rate limits, retries with backoff,
one log line and one metric per attempt."""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import urllib3
from linebot.v3.messaging import ApiException, ApiResponse

from adapters.line_api.errors import AlreadyAccepted, InvalidReplyToken, LineApiError
from common import metrics
from common.config import Settings
from common.logging_setup import log_fields

logger = logging.getLogger("benesapo.line")

REQUEST_ID_HEADER = "x-line-request-id"
ACCEPTED_REQUEST_ID_HEADER = "x-line-accepted-request-id"
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
# LINE's published per-endpoint limits below the general one (2,000 requests/s).
ENDPOINT_RATE_LIMITS = {"multicast": 200.0}


# Successful calls logged at DEBUG only: pushed by the thousand by the reminder job (its
# report is the log line; each message's request id is in the outbox).
QUIET_ENDPOINTS = frozenset({"push", "multicast"})


@lru_cache(maxsize=256)
def calls_counter(endpoint: str, status: str) -> Any:
    """The LINE_CALLS child for these labels (looked up once, not per call)."""
    return metrics.LINE_CALLS.labels(endpoint, status)


class TokenBucket:
    """Client-side rate limit: at most `rate` calls a second, bursts up to `burst`."""

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate = rate
        self.capacity = burst if burst is not None else max(1.0, rate / 10)
        self.tokens = self.capacity
        self.monotonic = monotonic
        self.sleep = sleep
        self.updated = monotonic()
        self.lock = threading.Lock()

    def acquire(self) -> None:
        while True:
            with self.lock:
                now = self.monotonic()
                self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
                self.updated = now
                if self.tokens >= 1:
                    self.tokens -= 1
                    return
                wait = (1 - self.tokens) / self.rate
            self.sleep(wait)


@dataclass
class RetryPolicy:
    max_retries: int = 4
    base_delay: float = 0.25
    max_delay: float = 8.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        if retry_after is not None:
            return min(self.max_delay, retry_after)
        ceiling = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)  # "equal jitter"


def header(headers: Any, name: str) -> str | None:
    if not headers:
        return None
    for key, value in dict(headers).items():
        if key.lower() == name:
            return value
    return None


def error_message(body: Any) -> str:
    try:
        return str(json.loads(body).get("message", ""))[:200]
    except (ValueError, TypeError, AttributeError):
        return ""


class ApiCaller:
    """The call loop of `LineClient`: `_call` runs one SDK call under the rate limits and
    retries it while retrying makes sense."""

    def __init__(
        self,
        settings: Settings,
        retry: RetryPolicy | None,
        limiter: TokenBucket | None,
        sleep: Callable[[float], None],
    ) -> None:
        self.retry = retry or RetryPolicy(max_retries=settings.line_max_retries)
        self.limiter = limiter or TokenBucket(settings.line_rate_limit_per_second)
        # Endpoints with a lower limit of their own take a token from their bucket too.
        self.endpoint_limiters = {
            endpoint: TokenBucket(min(rate, self.limiter.rate))
            for endpoint, rate in ENDPOINT_RATE_LIMITS.items()
        }
        self.sleep = sleep

    def _call(
        self,
        endpoint: str,
        fn: Callable[[], ApiResponse],
        *,
        expected: frozenset[int] = frozenset(),
    ) -> ApiResponse:
        """`fn()`'s answer; LineApiError when it failed for good. An `expected` status (a 404
        that answers "is there one?") is logged at INFO, not WARNING."""
        attempt = 0
        ambiguous = False
        while True:
            attempt += 1
            self.limiter.acquire()
            if endpoint in self.endpoint_limiters:
                self.endpoint_limiters[endpoint].acquire()
            started = time.perf_counter()
            try:
                response = fn()
            except ApiException as exc:
                request_id = header(exc.headers, REQUEST_ID_HEADER)
                status = int(exc.status or 0)
                message = error_message(exc.body)
                # As after a timeout, LINE may have processed a call it answered with a 5xx.
                ambiguous = ambiguous or status >= 500
                log_call(endpoint, status, request_id, attempt, started, message, expected)
                calls_counter(endpoint, str(status)).inc()
                if status == 409 and header(exc.headers, ACCEPTED_REQUEST_ID_HEADER):
                    raise AlreadyAccepted(header(exc.headers, ACCEPTED_REQUEST_ID_HEADER)) from exc
                if status == 400 and endpoint == "reply" and "reply token" in message.lower():
                    raise InvalidReplyToken(
                        endpoint, status, message, request_id, ambiguous=ambiguous
                    ) from exc
                retryable = status in RETRYABLE_STATUSES or status == 0
                if not retryable or attempt > self.retry.max_retries:
                    raise LineApiError(
                        endpoint,
                        status,
                        message,
                        request_id,
                        retryable=retryable,
                        ambiguous=ambiguous,
                    ) from exc
                retry_after = header(exc.headers, "retry-after")
                self.sleep(
                    self.retry.delay(
                        attempt,
                        float(retry_after) if retry_after and retry_after.isdigit() else None,
                    )
                )
                continue
            except urllib3.exceptions.HTTPError as exc:
                ambiguous = ambiguous or isinstance(exc, urllib3.exceptions.TimeoutError)
                log_call(endpoint, None, None, attempt, started, type(exc).__name__)
                calls_counter(endpoint, "error").inc()
                if attempt > self.retry.max_retries:
                    raise LineApiError(
                        endpoint, None, type(exc).__name__, retryable=True, ambiguous=ambiguous
                    ) from exc
                self.sleep(self.retry.delay(attempt))
                continue
            request_id = header(response.headers, REQUEST_ID_HEADER)
            log_call(endpoint, response.status_code, request_id, attempt, started)
            calls_counter(endpoint, str(response.status_code)).inc()
            return response


def log_call(
    endpoint: str,
    status: int | None,
    request_id: str | None,
    attempt: int,
    started: float,
    error: str = "",
    expected: frozenset[int] = frozenset(),
) -> None:
    fields: dict[str, Any] = {
        "event": "line_api_call",
        "endpoint": endpoint,
        "status": status,
        "request_id": request_id,
        "attempt": attempt,
        "ms": round((time.perf_counter() - started) * 1000, 1),
    }
    if error:
        fields["error"] = error
    if status in expected:
        level = logging.INFO
    elif status is None or status >= 400:
        level = logging.WARNING
    else:  # a bulk job's pushes are one line per run, and each is recorded in the outbox
        level = logging.DEBUG if endpoint in QUIET_ENDPOINTS else logging.INFO
    log_fields(logger, level, fields)
