"""Reply, push and multicast: the body encoded to JSON once and posted on the SDK's pool."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import urllib3
from linebot.v3.messaging import ApiClient, ApiException, ApiResponse
from linebot.v3.messaging.rest import RESTResponse

from adapters.line_api.calls import REQUEST_ID_HEADER, header
from adapters.line_api.errors import AlreadyAccepted
from adapters.line_api.validation import checked_messages
from adapters.line_limits import check_recipients

# The message sends _send posts itself (the SDK's paths).
MESSAGE_SEND_PATHS = {
    "reply": "/v2/bot/message/reply",
    "push": "/v2/bot/message/push",
    "multicast": "/v2/bot/message/multicast",
}


@dataclass(frozen=True)
class _Posted:
    """A 2xx answer to a message send: what _call reads of it."""

    status_code: int
    headers: Any


@dataclass
class SendResult:
    request_id: str | None
    via: str  # "reply" | "push" | "multicast"
    duplicate: bool = False  # a retry key LINE had already accepted


class MessageSending:
    """The message sends of `LineClient` (which provides `_call` and `timeout`)."""

    _call: Callable[..., ApiResponse]
    timeout: float

    def _use_sdk_pool(self, api_client: ApiClient) -> None:
        """The message sends go on the SDK's pool with the SDK's own headers (_send)."""
        self._pool = api_client.rest_client.pool_manager
        self._base_url = api_client.configuration.host.rstrip("/")
        self._json_headers = {
            **api_client.default_headers,
            "Content-Type": "application/json",
            "Accept": "application/json",
        }

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
        except AlreadyAccepted as accepted:
            return SendResult(accepted.request_id, endpoint, duplicate=True)
        return SendResult(header(response.headers, REQUEST_ID_HEADER), endpoint)

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
