"""The only module that talks to the Messaging API (the only importer of linebot.v3.messaging)."""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import urllib3
from linebot.v3.messaging import (
    ApiClient,
    ApiException,
    ApiResponse,
    Configuration,
    CreateRichMenuAliasRequest,
    MarkMessagesAsReadByTokenRequest,
    MessagingApi,
    MessagingApiBlob,
    MulticastRequest,
    PushMessageRequest,
    ReplyMessageRequest,
    RichMenuBulkLinkRequest,
    RichMenuBulkUnlinkRequest,
    RichMenuRequest,
    ShowLoadingAnimationRequest,
    UpdateRichMenuAliasRequest,
)
from linebot.v3.messaging import (
    Message as SdkMessage,
)
from linebot.v3.messaging.rest import RESTResponse

from adapters.line_limits import MessageLimitError, check_messages, check_recipients
from common import metrics
from common.config import Settings
from common.logging_setup import log_fields

logger = logging.getLogger("benesapo.line")

# Request bodies `validate_request` checks with the SDK's own models (the emulator has its own
# table of them, `emulator/request_models.py`).
REQUEST_MODELS: dict[str, Any] = {
    "reply": ReplyMessageRequest,
    "push": PushMessageRequest,
    "multicast": MulticastRequest,
    "richmenu": RichMenuRequest,
    "loading": ShowLoadingAnimationRequest,
    "markAsRead": MarkMessagesAsReadByTokenRequest,
    "richmenu.bulk.link": RichMenuBulkLinkRequest,
    "richmenu.bulk.unlink": RichMenuBulkUnlinkRequest,
    "richmenu.alias.create": CreateRichMenuAliasRequest,
    "richmenu.alias.update": UpdateRichMenuAliasRequest,
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


# Keys whose string values are free text to the SDK's models (no enum, pattern or format):
# replaced by a placeholder, they leave a message's shape, what those models check.
FREE_TEXT_KEYS = frozenset({"text", "altText", "label", "displayText", "data", "fillInText"})


def message_shape(value: Any) -> Any:
    """`value` with every non-empty free text replaced by "x" (LINE's limits on the texts
    themselves are check_messages's, on the real messages)."""
    if isinstance(value, dict):
        return {
            key: "x"
            if key in FREE_TEXT_KEYS and isinstance(item, str) and item
            else message_shape(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [message_shape(item) for item in value]
    return value


@lru_cache(maxsize=1024)  # a few MB at most: Flex messages run to a few KB
def _validate_shape_json(canonical: str) -> None:
    try:
        [SdkMessage.from_dict(m) for m in json.loads(canonical)]
    except (ValueError, TypeError, KeyError) as exc:
        raise MessageLimitError(f"not a valid LINE message: {exc}") from exc


def checked_messages(messages: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """validate_messages, with the SDK's models run once per message shape; returns the
    messages as a list.

    LINE's limits (lengths, counts) are checked on every message; the SDK's models check
    types, enums and structure, which free texts do not change: the same card with another
    member's points or name is not parsed by them again."""
    try:
        shape = message_shape(list(messages))
        canonical = json.dumps(shape, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:  # not JSON at all
        raise MessageLimitError(f"not a valid LINE message: {exc}") from exc
    check_messages(messages)
    _validate_shape_json(canonical)
    return list(messages)


def validate_request(kind: str, body: dict[str, Any]) -> Any:
    """Validate a whole request body (`kind`: a key of REQUEST_MODELS) as LINE would.

    Raises MessageLimitError; when the SDK's model refused the body, its `__cause__` is the
    model's validation error."""
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
# LINE's published per-endpoint limits below the general one (2,000 requests/s).
ENDPOINT_RATE_LIMITS = {"multicast": 200.0}


# The message sends _send posts itself (the SDK's paths).
MESSAGE_SEND_PATHS = {
    "reply": "/v2/bot/message/reply",
    "push": "/v2/bot/message/push",
    "multicast": "/v2/bot/message/multicast",
}


# Successful calls logged at DEBUG only: pushed by the thousand by the reminder job (its
# report is the log line; each message's request id is in the outbox).
QUIET_ENDPOINTS = frozenset({"push", "multicast"})


@lru_cache(maxsize=256)
def _calls_counter(endpoint: str, status: str) -> Any:
    """The LINE_CALLS child for these labels (looked up once, not per call)."""
    return metrics.LINE_CALLS.labels(endpoint, status)


@dataclass(frozen=True)
class _Posted:
    """A 2xx answer to a message send: what _call reads of it."""

    status_code: int
    headers: Any


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
        self.ambiguous = ambiguous  # LINE may have processed it (a timeout or a 5xx)


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
        # Endpoints with a lower limit of their own take a token from their bucket too.
        self.endpoint_limiters = {
            endpoint: TokenBucket(min(rate, self.limiter.rate))
            for endpoint, rate in ENDPOINT_RATE_LIMITS.items()
        }
        self.sleep = sleep
        self.timeout = settings.line_timeout_seconds
        self._api = MessagingApi(self._api_client(settings.line_api_base_url))
        # The message sends go on the SDK's pool with the SDK's own headers (_send).
        api_client = self._api.api_client
        self._pool = api_client.rest_client.pool_manager
        self._base_url = api_client.configuration.host.rstrip("/")
        self._json_headers = {
            **api_client.default_headers,
            "Content-Type": "application/json",
            "Accept": "application/json",
        }

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
            if endpoint in self.endpoint_limiters:
                self.endpoint_limiters[endpoint].acquire()
            started = time.perf_counter()
            try:
                response = fn()
            except ApiException as exc:
                request_id = _header(exc.headers, REQUEST_ID_HEADER)
                status = int(exc.status or 0)
                message = _error_message(exc.body)
                # As after a timeout, LINE may have processed a call it answered with a 5xx.
                ambiguous = ambiguous or status >= 500
                _log_call(endpoint, status, request_id, attempt, started, message)
                _calls_counter(endpoint, str(status)).inc()
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
                _calls_counter(endpoint, "error").inc()
                if attempt > self.retry.max_retries:
                    raise LineApiError(
                        endpoint, None, type(exc).__name__, retryable=True, ambiguous=ambiguous
                    ) from exc
                self.sleep(self.retry.delay(attempt))
                continue
            request_id = _header(response.headers, REQUEST_ID_HEADER)
            _log_call(endpoint, response.status_code, request_id, attempt, started)
            _calls_counter(endpoint, str(response.status_code)).inc()
            return response

    def reply(self, reply_token: str, messages: Sequence[dict[str, Any]]) -> SendResult:
        body = {"replyToken": reply_token, "messages": checked_messages(messages)}
        return self._send("reply", body)

    def push(self, to: str, messages: Sequence[dict[str, Any]], retry_key: str) -> SendResult:
        body = {"to": to, "messages": checked_messages(messages)}
        return self._send("push", body, retry_key)

    def multicast(
        self, to: Sequence[str], messages: Sequence[dict[str, Any]], retry_key: str
    ) -> SendResult:
        check_recipients(to)
        body = {"to": list(to), "messages": checked_messages(messages)}
        return self._send("multicast", body, retry_key)

    def _send(
        self, endpoint: str, body: dict[str, Any], retry_key: str | None = None
    ) -> SendResult:
        """One message send; with a retry key, a 409 for that key means LINE already has it.

        `body` is the request as JSON-ready values, its messages already checked: it is
        encoded once and posted on the SDK's own connection pool (the SDK's call would
        serialise it again and parse LINE's answer into models nobody reads: ~0.3 ms a call)."""
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        headers = self._json_headers
        if retry_key is not None:
            headers = {**headers, "X-Line-Retry-Key": retry_key}
        url = self._base_url + MESSAGE_SEND_PATHS[endpoint]
        try:
            response = self._call(endpoint, lambda: self._post(url, data, headers))
        except _AlreadyAccepted as accepted:
            return SendResult(accepted.request_id, endpoint, duplicate=True)
        return SendResult(_header(response.headers, REQUEST_ID_HEADER), endpoint)

    def _post(self, url: str, data: bytes, headers: dict[str, str]) -> _Posted:
        """POST on the SDK's pool; ApiException (as the SDK raises it) unless 2xx."""
        answer = self._pool.request(
            "POST",
            url,
            body=data,
            headers=headers,
            timeout=urllib3.Timeout(total=self.timeout),
            retries=False,
            preload_content=True,
        )
        if not 200 <= answer.status < 300:
            raise ApiException(http_resp=RESTResponse(answer))
        return _Posted(answer.status, answer.headers)

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

    def mark_as_read(self, mark_as_read_token: str) -> None:
        """Mark a user's message (and their earlier ones) read on LINE, by the
        markAsReadToken of its message event (POST /v2/bot/chat/markAsRead)."""
        request = MarkMessagesAsReadByTokenRequest(markAsReadToken=mark_as_read_token)
        self._call(
            "markAsRead",
            lambda: self._api.mark_messages_as_read_by_token_with_http_info(
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

    # -- rich menus (used by `richmenu.deploy` and `richmenu.switching`) --------------------
    # Rich menu calls are admin calls: they go through `_call` (retries, logging, rate limit)
    # but never reply or push. Images go to the DATA API host (`line_data_api_base_url`).

    RICH_MENU_BULK_LIMIT = 500

    @property
    def _blob(self) -> MessagingApiBlob:
        blob = getattr(self, "_blob_api", None)
        if blob is None:
            blob = MessagingApiBlob(
                _PinnedHostApiClient(self._api_client(self.settings.line_data_api_base_url))
            )
            self._blob_api = blob
        return blob

    def create_rich_menu(self, body: dict[str, Any]) -> str:
        request = validate_request("richmenu", body)
        response = self._call(
            "richmenu.create",
            lambda: self._api.create_rich_menu_with_http_info(
                request, _request_timeout=self.timeout
            ),
        )
        return response.data.rich_menu_id

    def validate_rich_menu(self, body: dict[str, Any]) -> None:
        request = validate_request("richmenu", body)
        self._call(
            "richmenu.validate",
            lambda: self._api.validate_rich_menu_object_with_http_info(
                request, _request_timeout=self.timeout
            ),
        )

    def upload_rich_menu_image(self, rich_menu_id: str, image: bytes, content_type: str) -> None:
        self._call(
            "richmenu.image",
            lambda: self._blob.set_rich_menu_image_with_http_info(
                rich_menu_id,
                image,
                _headers={"Content-Type": content_type},
                _request_timeout=max(self.timeout, 30.0),
            ),
        )

    def has_rich_menu_image(self, rich_menu_id: str) -> bool:
        try:
            self._call(
                "richmenu.image.get",
                lambda: self._blob.get_rich_menu_image_with_http_info(
                    rich_menu_id, _request_timeout=max(self.timeout, 30.0)
                ),
            )
        except LineApiError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def list_rich_menus(self) -> list[dict[str, Any]]:
        response = self._call(
            "richmenu.list",
            lambda: self._api.get_rich_menu_list_with_http_info(_request_timeout=self.timeout),
        )
        return [menu.to_dict() for menu in response.data.richmenus or []]

    def delete_rich_menu(self, rich_menu_id: str) -> None:
        self._call(
            "richmenu.delete",
            lambda: self._api.delete_rich_menu_with_http_info(
                rich_menu_id, _request_timeout=self.timeout
            ),
        )

    def default_rich_menu_id(self) -> str | None:
        try:
            response = self._call(
                "richmenu.default.get",
                lambda: self._api.get_default_rich_menu_id_with_http_info(
                    _request_timeout=self.timeout
                ),
            )
        except LineApiError as exc:
            if exc.status == 404:
                return None
            raise
        return response.data.rich_menu_id

    def set_default_rich_menu(self, rich_menu_id: str) -> None:
        self._call(
            "richmenu.default",
            lambda: self._api.set_default_rich_menu_with_http_info(
                rich_menu_id, _request_timeout=self.timeout
            ),
        )

    def link_rich_menu(self, user_id: str, rich_menu_id: str) -> None:
        self._call(
            "richmenu.link",
            lambda: self._api.link_rich_menu_id_to_user_with_http_info(
                user_id, rich_menu_id, _request_timeout=self.timeout
            ),
        )

    def link_rich_menu_to_users(self, rich_menu_id: str, user_ids: Sequence[str]) -> None:
        """Bulk link (1-500 user IDs a call)."""
        ids = _bulk_ids(user_ids, self.RICH_MENU_BULK_LIMIT)
        request = RichMenuBulkLinkRequest(richMenuId=rich_menu_id, userIds=ids)
        self._call(
            "richmenu.bulk.link",
            lambda: self._api.link_rich_menu_id_to_users_with_http_info(
                request, _request_timeout=self.timeout
            ),
        )

    def unlink_rich_menu_from_users(self, user_ids: Sequence[str]) -> None:
        """Bulk unlink (1-500 user IDs a call): they see the default menu again."""
        ids = _bulk_ids(user_ids, self.RICH_MENU_BULK_LIMIT)
        request = RichMenuBulkUnlinkRequest(userIds=ids)
        self._call(
            "richmenu.bulk.unlink",
            lambda: self._api.unlink_rich_menu_id_from_users_with_http_info(
                request, _request_timeout=self.timeout
            ),
        )

    def rich_menu_aliases(self) -> dict[str, str]:
        """alias id -> rich menu id."""
        response = self._call(
            "richmenu.alias.list",
            lambda: self._api.get_rich_menu_alias_list_with_http_info(
                _request_timeout=self.timeout
            ),
        )
        return {a.rich_menu_alias_id: a.rich_menu_id for a in response.data.aliases or []}

    def create_rich_menu_alias(self, alias_id: str, rich_menu_id: str) -> None:
        request = CreateRichMenuAliasRequest(richMenuAliasId=alias_id, richMenuId=rich_menu_id)
        self._call(
            "richmenu.alias.create",
            lambda: self._api.create_rich_menu_alias_with_http_info(
                request, _request_timeout=self.timeout
            ),
        )

    def update_rich_menu_alias(self, alias_id: str, rich_menu_id: str) -> None:
        request = UpdateRichMenuAliasRequest(richMenuId=rich_menu_id)
        self._call(
            "richmenu.alias.update",
            lambda: self._api.update_rich_menu_alias_with_http_info(
                alias_id, request, _request_timeout=self.timeout
            ),
        )

    def delete_rich_menu_alias(self, alias_id: str) -> None:
        self._call(
            "richmenu.alias.delete",
            lambda: self._api.delete_rich_menu_alias_with_http_info(
                alias_id, _request_timeout=self.timeout
            ),
        )


def _bulk_ids(user_ids: Sequence[str], limit: int) -> list[str]:
    ids = list(dict.fromkeys(user_ids))
    if not 0 < len(ids) <= limit:
        raise ValueError(f"a bulk rich menu call takes 1-{limit} user IDs, not {len(ids)}")
    return ids


class _PinnedHostApiClient(ApiClient):
    """The SDK's blob calls name LINE's DATA API host themselves; send them to ours instead
    (`line_data_api_base_url`: the emulator in development and tests)."""

    def __init__(self, inner: ApiClient) -> None:
        super().__init__(inner.configuration)

    def call_api(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["_host"] = self.configuration.host
        return super().call_api(*args, **kwargs)


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
    if status is None or status >= 400:
        level = logging.WARNING
    else:  # a bulk job's pushes are one line per run, and each is recorded in the outbox
        level = logging.DEBUG if endpoint in QUIET_ENDPOINTS else logging.INFO
    log_fields(logger, level, fields)
