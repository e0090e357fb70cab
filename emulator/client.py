"""A small client of the emulator's control API (`/_emulator/...`).

Used by the project's tests and by `benesapo chat`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import requests


class EmulatorError(RuntimeError):
    """The control API refused a request (or the emulator is not reachable)."""


class EmulatorClient:
    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()

    # -- plumbing ----------------------------------------------------------------------------

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.session.request(
                method, self.base_url + path, timeout=self.timeout, **kwargs
            )
        except requests.RequestException as exc:
            message = f"cannot reach the LINE emulator at {self.base_url}: {exc}"
            raise EmulatorError(message) from exc
        if response.status_code >= 400:
            raise EmulatorError(f"{method} {path} -> {response.status_code}: {response.text}")
        return response.json()

    def _get(self, url_path: str, **params: Any) -> Any:
        query = {k: v for k, v in params.items() if v is not None}
        return self._request("GET", url_path, params=query)

    def _post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self._request("POST", path, json=body or {})

    # -- users and what they do ----------------------------------------------------------------

    def config(self) -> dict[str, Any]:
        return self._get("/_emulator/config")

    def set_webhook_url(self, url: str | None, timeout: float | None = None) -> None:
        """The bot's webhook URL; `timeout`: how long to wait for its answers (s)."""
        body: dict[str, Any] = {"url": url}
        if timeout is not None:
            body["timeout"] = timeout
        self._post("/_emulator/webhook", body)

    def create_user(
        self, display_name: str | None = None, user_id: str | None = None
    ) -> dict[str, Any]:
        """Create (or return the existing) simulated user: {user_id, display_name, ...}."""
        body: dict[str, Any] = {}
        if display_name is not None:
            body["display_name"] = display_name
        if user_id is not None:
            body["user_id"] = user_id
        return self._post("/_emulator/users", body)

    def users(self) -> list[dict[str, Any]]:
        return self._get("/_emulator/users")["users"]

    def send_text(self, user_id: str, text: str) -> dict[str, Any]:
        """Deliver a text message event; returns {webhookEventId, status, body, error, event}."""
        return self._post(f"/_emulator/users/{user_id}/text", {"text": text})

    def send_postback(
        self,
        user_id: str,
        data: str,
        params: dict[str, Any] | None = None,
        display_text: str | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"data": data}
        if params:
            body["params"] = params
        if display_text:
            body["displayText"] = display_text
        return self._post(f"/_emulator/users/{user_id}/postback", body)

    def send_event(self, user_id: str, event_type: str, **fields: Any) -> dict[str, Any]:
        """Deliver any other event type (follow, unfollow, beacon, ...) for the user."""
        return self._post(f"/_emulator/users/{user_id}/events", {"type": event_type, **fields})

    def follow(self, user_id: str) -> dict[str, Any]:
        return self.send_event(user_id, "follow")

    def unfollow(self, user_id: str) -> dict[str, Any]:
        return self.send_event(user_id, "unfollow")

    def deliver(
        self,
        body: dict[str, Any] | None = None,
        *,
        raw: str | None = None,
        sign: bool = True,
        redelivery: bool = False,
        signature: str | None = None,
    ) -> dict[str, Any]:
        """Deliver an arbitrary webhook body; returns {status, body, error}."""
        request: dict[str, Any] = {"sign": sign, "redelivery": redelivery}
        if raw is not None:
            request["raw"] = raw
        else:
            request["body"] = body
        if signature is not None:
            request["signature"] = signature
        return self._post("/_emulator/deliver", request)

    def open_account_link(self, link_token: str, nonce: str) -> requests.Response:
        """What the user's browser does with the bot's account-link URL."""
        return self.session.get(
            self.base_url + "/dialog/bot/accountLink",
            params={"linkToken": link_token, "nonce": nonce},
            timeout=self.timeout,
        )

    def open_account_link_uri(self, uri: str) -> requests.Response:
        """Open the account-link URL the bot sent (LINE's `.../dialog/bot/accountLink?...`)."""
        query = parse_qs(urlsplit(uri).query)
        return self.open_account_link(query["linkToken"][0], query.get("nonce", [""])[0])

    def add_liff_app(
        self, endpoint_url: str, liff_id: str | None = None, channel_id: str | None = None
    ) -> dict[str, Any]:
        """Register (or re-point) a LIFF app: {liff_id, channel_id, endpoint_url}."""
        body: dict[str, Any] = {"endpointUrl": endpoint_url}
        if liff_id is not None:
            body["liffId"] = liff_id
        if channel_id is not None:
            body["channelId"] = channel_id
        return self._post("/_emulator/liff/apps", body)

    def liff_open_url(self, user_id: str, uri: str) -> str:
        """The address a browser opens for `user_id`'s LINE app opening LIFF URL `uri`."""
        return self.base_url + "/_emulator/liff/open?" + urlencode({"user": user_id, "uri": uri})

    def open_liff(self, user_id: str, uri: str) -> requests.Response:
        """What the LINE app of `user_id` does with a LIFF URL: LINE's redirect to the app's
        endpoint (not followed; its fragment carries the ID token, `#liff.id_token=...`)."""
        return self.session.get(
            self.base_url + "/_emulator/liff/open",
            params={"user": user_id, "uri": uri},
            allow_redirects=False,
            timeout=self.timeout,
        )

    def expire_id_tokens(self) -> int:
        return self._post("/_emulator/id-tokens/expire")["expired"]

    # -- what the bot did ------------------------------------------------------------------------

    def inbox(self, user_id: str, after: int = 0) -> list[dict[str, Any]]:
        """Messages the user received: [{seq, via, message, at, id}], oldest first."""
        return self._get(f"/_emulator/users/{user_id}/inbox", after=after)["messages"]

    def timeline(self, user_id: str, after: int = 0) -> list[dict[str, Any]]:
        """The user's side of the chat, both directions: [{seq, sender, via, message, ...}]."""
        return self._get(f"/_emulator/users/{user_id}/timeline", after=after)["entries"]

    def read_marks(self, user_id: str) -> list[str]:
        """Ids of the user's messages the bot marked read (POST /v2/bot/chat/markAsRead)."""
        return self._get(f"/_emulator/users/{user_id}/read")["message_ids"]

    def wait_for_messages(
        self,
        user_id: str,
        after: int = 0,
        count: int = 1,
        timeout: float = 5.0,
        predicate: Callable[[list[dict[str, Any]]], bool] | None = None,
    ) -> list[dict[str, Any]]:
        """Poll the inbox until `count` new messages (or `predicate` holds), else EmulatorError."""
        deadline = time.monotonic() + timeout
        while True:
            messages = self.inbox(user_id, after)
            done = predicate(messages) if predicate else len(messages) >= count
            if done:
                return messages
            if time.monotonic() >= deadline:
                raise EmulatorError(
                    f"waited {timeout}s for messages to {user_id}; got {len(messages)}: {messages}"
                )
            time.sleep(0.02)

    def calls(self, path: str | None = None, after: int = 0) -> list[dict[str, Any]]:
        """Recorded Messaging API calls whose path starts with `path`, after the first `after`."""
        return self._get("/_emulator/calls", path=path, after=after)["calls"]

    # -- faults and knobs ------------------------------------------------------------------------

    def inject_fault(
        self,
        path: str,
        status: int | None,
        delay: float = 0.0,
        count: int = 1,
        when: str = "before",
    ) -> dict[str, Any]:
        """Make the next `count` calls to `path` fail or lag; returns the queued fault.
        `when`: "before" or "after" handling the call (see `emulator.state.Fault`). The
        recorded call's `fault` says which fault it met."""
        return self._post(
            "/_emulator/faults",
            {"path": path, "status": status, "delay": delay, "count": count, "when": when},
        )

    def faults(self) -> list[dict[str, Any]]:
        return self._get("/_emulator/faults")["faults"]

    def expire_reply_tokens(self) -> int:
        return self._post("/_emulator/reply-tokens/expire")["expired"]

    def set_quota(self, value: int) -> None:
        self._post("/_emulator/quota", {"value": value})

    def set_webhook_redelivery(self, enabled: bool, delays: list[float] | None = None) -> None:
        body: dict[str, Any] = {"enabled": enabled}
        if delays is not None:
            body["delays"] = delays
        self._post("/_emulator/webhook/redelivery", body)

    def pending_redeliveries(self) -> int:
        return int(self._get("/_emulator/webhook/redelivery")["pending"])

    def reset(self) -> None:
        self._post("/_emulator/reset")
