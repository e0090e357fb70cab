"""The Messaging API client: `LineClient`, assembled from the parts in `adapters.line_api`
(the call loop, the message sends, the rich menu calls); with the request checks and errors
its callers use, re-exported. `adapters.line_api` and this module are the only importers of
linebot.v3.messaging."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from linebot.v3.messaging import (
    ApiClient,
    Configuration,
    MarkMessagesAsReadByTokenRequest,
    MessagingApi,
    ShowLoadingAnimationRequest,
)

from adapters.line_api.calls import (
    ACCEPTED_REQUEST_ID_HEADER,
    ENDPOINT_RATE_LIMITS,
    QUIET_ENDPOINTS,
    REQUEST_ID_HEADER,
    RETRYABLE_STATUSES,
    ApiCaller,
    RetryPolicy,
    TokenBucket,
)
from adapters.line_api.errors import InvalidReplyToken, LineApiError
from adapters.line_api.richmenus import RichMenuCalls
from adapters.line_api.sending import MESSAGE_SEND_PATHS, MessageSending, SendResult
from adapters.line_api.validation import (
    FREE_TEXT_KEYS,
    REQUEST_MODELS,
    checked_messages,
    message_shape,
    validate_messages,
    validate_request,
)
from common.config import Settings

__all__ = [
    "ACCEPTED_REQUEST_ID_HEADER",
    "ENDPOINT_RATE_LIMITS",
    "FREE_TEXT_KEYS",
    "MESSAGE_SEND_PATHS",
    "QUIET_ENDPOINTS",
    "REQUEST_ID_HEADER",
    "REQUEST_MODELS",
    "RETRYABLE_STATUSES",
    "InvalidReplyToken",
    "LineApiError",
    "LineClient",
    "RetryPolicy",
    "SendResult",
    "TokenBucket",
    "checked_messages",
    "message_shape",
    "validate_messages",
    "validate_request",
]


class LineClient(RichMenuCalls, MessageSending, ApiCaller):
    """Reply, push, multicast and friends, through the SDK, with retries and a rate limit."""

    def __init__(
        self,
        settings: Settings,
        *,
        retry: RetryPolicy | None = None,
        limiter: TokenBucket | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        ApiCaller.__init__(self, settings, retry, limiter, sleep)
        self.settings = settings
        self.timeout = settings.line_timeout_seconds
        self._api = MessagingApi(self._api_client(settings.line_api_base_url))
        self._use_sdk_pool(self._api.api_client)

    def _api_client(self, host: str) -> ApiClient:
        configuration = Configuration(host=host, access_token=self.settings.channel_access_token)
        configuration.retries = False  # we retry ourselves, with backoff and retry keys
        configuration.connection_pool_maxsize = 16
        return ApiClient(configuration)

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
