"""The only module that talks to the Messaging API (the only importer of linebot.v3.messaging)."""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import urllib3
from linebot.v3.messaging import (
    ApiClient,
    ApiException,
    ApiResponse,
    Configuration,
    MessagingApi,
    MulticastRequest,
    PushMessageRequest,
    ReplyMessageRequest,
    RichMenuRequest,
    ShowLoadingAnimationRequest,
)
from linebot.v3.messaging import (
    Message as SdkMessage,
)

from bot import metrics
from bot.config import Settings
from bot.line_limits import MessageLimitError, check_messages, check_recipients

logger = logging.getLogger("benesapo.line")

REQUEST_MODELS: dict[str, Any] = {
    "reply": ReplyMessageRequest,
    "push": PushMessageRequest,
    "multicast": MulticastRequest,
    "richmenu": RichMenuRequest,
}


def validate_messages(messages: Sequence[dict[str, Any]]) -> list[SdkMessage]:
    """Parse message dicts with the SDK's own models and check LINE's limits.

    Raises MessageLimitError (a ValueError) naming what is wrong.
    """
    check_messages(messages)
    try:
        return [SdkMessage.from_dict(dict(m)) for m in messages]
    except (ValueError, TypeError, KeyError) as exc:
        raise MessageLimitError(f"not a valid LINE message: {exc}") from exc


def validate_request(kind: str, body: dict[str, Any]) -> Any:
    """Validate a whole request body ("reply", "push", "multicast", "richmenu") as LINE would."""
    model = REQUEST_MODELS[kind]
    if kind in {"reply", "push", "multicast"}:
        check_messages(body.get("messages") or [])
    if kind == "multicast":
        check_recipients(body.get("to") or [])
    try:
        parsed = model.from_dict(body)
    except (ValueError, TypeError, KeyError) as exc:
        raise MessageLimitError(f"invalid {kind} request: {exc}") from exc
    if parsed is None:
        raise MessageLimitError(f"invalid {kind} request: empty body")
    return parsed


# -- the client ----------------------------------------------------------------------------

REQUEST_ID_HEADER = "x-line-request-id"
ACCEPTED_REQUEST_ID_HEADER = "x-line-accepted-request-id"
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


class LineApiError(Exception):
    """A Messaging API call failed for good (after retries where retrying made sense)."""

    def __init__(
        self,
        endpoint: str,
        status: int | None,
        message: str,
        request_id: str | None = None,
        *,
        retryable: bool = False,
        ambiguous: bool = False,
    ) -> None:
        super().__init__(f"{endpoint}: {status} {message}")
        self.endpoint = endpoint
        self.status = status
        self.message = message
        self.request_id = request_id
        self.retryable = retryable  # worth trying again later
        self.ambiguous = ambiguous  # LINE may have processed it (a timeout)


class InvalidReplyToken(LineApiError):
    """LINE refused the reply token (already used, or expired)."""


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


@dataclass
class SendResult:
    request_id: str | None
    via: str  # "reply" | "push" | "multicast"
    duplicate: bool = False  # a retry key LINE had already accepted


def _header(headers: Any, name: str) -> str | None:
    if not headers:
        return None
    for key, value in dict(headers).items():
        if key.lower() == name:
            return value
    return None


def _error_message(body: Any) -> str:
    try:
        return str(json.loads(body).get("message", ""))[:200]
    except (ValueError, TypeError, AttributeError):
        return ""


class LineClient:
    """Reply, push, multicast and friends, through the SDK, with retries and a rate limit."""

    def __init__(
        self,
        settings: Settings,
        *,
        retry: RetryPolicy | None = None,
        limiter: TokenBucket | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.retry = retry or RetryPolicy(max_retries=settings.line_max_retries)
        self.limiter = limiter or TokenBucket(settings.line_rate_limit_per_second)
        self.sleep = sleep
        self.timeout = settings.line_timeout_seconds
        self._api = MessagingApi(self._api_client(settings.line_api_base_url))

    def _api_client(self, host: str) -> ApiClient:
        configuration = Configuration(host=host, access_token=self.settings.channel_access_token)
        configuration.retries = False  # we retry ourselves, with backoff and retry keys
        configuration.connection_pool_maxsize = 16
        return ApiClient(configuration)

    # -- calls ----------------------------------------------------------------------------
    def _call(self, endpoint: str, fn: Callable[[], ApiResponse]) -> ApiResponse:
        attempt = 0
        ambiguous = False
        while True:
            attempt += 1
            self.limiter.acquire()
            started = time.perf_counter()
            try:
                response = fn()
            except ApiException as exc:
                request_id = _header(exc.headers, REQUEST_ID_HEADER)
                status = int(exc.status or 0)
                message = _error_message(exc.body)
                _log_call(endpoint, status, request_id, attempt, started, message)
                metrics.LINE_CALLS.labels(endpoint, str(status)).inc()
                if status == 409 and _header(exc.headers, ACCEPTED_REQUEST_ID_HEADER):
                    raise _AlreadyAccepted(
                        _header(exc.headers, ACCEPTED_REQUEST_ID_HEADER)
                    ) from exc
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
                retry_after = _header(exc.headers, "retry-after")
                self.sleep(
                    self.retry.delay(
                        attempt,
                        float(retry_after) if retry_after and retry_after.isdigit() else None,
                    )
                )
                continue
            except urllib3.exceptions.HTTPError as exc:
                ambiguous = ambiguous or isinstance(exc, urllib3.exceptions.TimeoutError)
                _log_call(endpoint, None, None, attempt, started, type(exc).__name__)
                metrics.LINE_CALLS.labels(endpoint, "error").inc()
                if attempt > self.retry.max_retries:
                    raise LineApiError(
                        endpoint, None, type(exc).__name__, retryable=True, ambiguous=ambiguous
                    ) from exc
                self.sleep(self.retry.delay(attempt))
                continue
            request_id = _header(response.headers, REQUEST_ID_HEADER)
            _log_call(endpoint, response.status_code, request_id, attempt, started)
            metrics.LINE_CALLS.labels(endpoint, str(response.status_code)).inc()
            return response

    def reply(self, reply_token: str, messages: Sequence[dict[str, Any]]) -> SendResult:
        request = ReplyMessageRequest(replyToken=reply_token, messages=validate_messages(messages))
        response = self._call(
            "reply",
            lambda: self._api.reply_message_with_http_info(request, _request_timeout=self.timeout),
        )
        return SendResult(_header(response.headers, REQUEST_ID_HEADER), "reply")

    def push(self, to: str, messages: Sequence[dict[str, Any]], retry_key: str) -> SendResult:
        request = PushMessageRequest(to=to, messages=validate_messages(messages))
        try:
            response = self._call(
                "push",
                lambda: self._api.push_message_with_http_info(
                    request, x_line_retry_key=retry_key, _request_timeout=self.timeout
                ),
            )
        except _AlreadyAccepted as accepted:
            return SendResult(accepted.request_id, "push", duplicate=True)
        return SendResult(_header(response.headers, REQUEST_ID_HEADER), "push")

    def multicast(
        self, to: Sequence[str], messages: Sequence[dict[str, Any]], retry_key: str
    ) -> SendResult:
        check_recipients(to)
        request = MulticastRequest(to=list(to), messages=validate_messages(messages))
        try:
            response = self._call(
                "multicast",
                lambda: self._api.multicast_with_http_info(
                    request, x_line_retry_key=retry_key, _request_timeout=self.timeout
                ),
            )
        except _AlreadyAccepted as accepted:
            return SendResult(accepted.request_id, "multicast", duplicate=True)
        return SendResult(_header(response.headers, REQUEST_ID_HEADER), "multicast")

    def profile(self, user_id: str) -> dict[str, Any]:
        response = self._call(
            "profile",
            lambda: self._api.get_profile_with_http_info(user_id, _request_timeout=self.timeout),
        )
        return response.data.to_dict()

    def issue_link_token(self, user_id: str) -> str:
        response = self._call(
            "linkToken",
            lambda: self._api.issue_link_token_with_http_info(
                user_id, _request_timeout=self.timeout
            ),
        )
        return response.data.link_token

    def show_loading(self, user_id: str, seconds: int = 5) -> None:
        request = ShowLoadingAnimationRequest(chatId=user_id, loadingSeconds=seconds)
        self._call(
            "loading",
            lambda: self._api.show_loading_animation_with_http_info(
                request, _request_timeout=self.timeout
            ),
        )

    def message_quota(self) -> tuple[int | None, int]:
        """(monthly limit or None when unlimited, messages used this month)."""
        quota = self._call(
            "quota",
            lambda: self._api.get_message_quota_with_http_info(_request_timeout=self.timeout),
        ).data
        used = self._call(
            "quotaConsumption",
            lambda: self._api.get_message_quota_consumption_with_http_info(
                _request_timeout=self.timeout
            ),
        ).data
        limit = quota.value if str(quota.type) in {"limited", "QuotaType.LIMITED"} else None
        return limit, used.total_usage


class _AlreadyAccepted(Exception):
    def __init__(self, request_id: str | None) -> None:
        super().__init__(request_id)
        self.request_id = request_id


def _log_call(
    endpoint: str,
    status: int | None,
    request_id: str | None,
    attempt: int,
    started: float,
    error: str = "",
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
    log = logger.warning if status is None or status >= 400 else logger.info
    log(json.dumps(fields, ensure_ascii=False))
