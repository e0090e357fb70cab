"""LINE Login's "Verify ID token" (`POST {LINE API}/oauth2/v2.1/verify`), for the LIFF login page.

The page sends the ID token that LINE gave its LIFF browser (`liff.getIDToken()`); LINE says
whose it is (`sub`), for which channel (`aud`). The Messaging API SDK has no LINE Login
client, so this is a plain form POST, with the LINE client's retry policy for 5xx/429 and
network errors (verifying is read-only: retrying is safe).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests

from adapters.line_client import RETRYABLE_STATUSES, RetryPolicy
from common import metrics
from common.config import Settings
from common.logging_setup import log_fields

logger = logging.getLogger("benesapo.line_login")

VERIFY_PATH = "/oauth2/v2.1/verify"
ISSUER = "https://access.line.me"
ENDPOINT = "verifyIdToken"
USER_ID_RE = re.compile(r"^U[0-9a-f]{32}$")
MAX_ID_TOKEN_CHARS = 4096


@dataclass(frozen=True)
class IdTokenClaims:
    sub: str  # the LINE user ID
    aud: str  # the LINE Login channel ID
    name: str = ""  # the LINE display name (with the profile scope)


class IdTokenRejected(Exception):
    """LINE (or our check of its answer) says the ID token is not one for this channel."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class LineLoginUnavailable(Exception):
    """LINE did not answer (after retries): nothing is known about the token."""


class LineLoginClient:
    def __init__(
        self,
        settings: Settings,
        *,
        retry: RetryPolicy | None = None,
        http: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url = settings.line_api_base_url.rstrip("/") + VERIFY_PATH
        self.channel_id = settings.line_login_channel_id
        self.timeout = settings.line_timeout_seconds
        self.retry = retry or RetryPolicy(max_retries=2)
        self.http = http or requests.Session()
        self.sleep = sleep

    def verify_id_token(self, id_token: str) -> IdTokenClaims:
        """Whose ID token this is; IdTokenRejected / LineLoginUnavailable otherwise."""
        if not id_token or len(id_token) > MAX_ID_TOKEN_CHARS:
            raise IdTokenRejected("malformed")
        form = {"id_token": id_token, "client_id": self.channel_id}
        attempt = 0
        while True:
            attempt += 1
            started = time.perf_counter()
            try:
                response = self.http.post(self.url, data=form, timeout=self.timeout)
            except requests.RequestException as exc:
                self._log(None, attempt, started, type(exc).__name__)
                if attempt > self.retry.max_retries:
                    raise LineLoginUnavailable(type(exc).__name__) from exc
                self.sleep(self.retry.delay(attempt))
                continue
            status = response.status_code
            self._log(status, attempt, started)
            if status in RETRYABLE_STATUSES and attempt <= self.retry.max_retries:
                self.sleep(self.retry.delay(attempt))
                continue
            if status == 400:
                raise IdTokenRejected(_description(response))
            if status != 200:
                raise LineLoginUnavailable(f"HTTP {status}")
            return self._claims(response)

    def _claims(self, response: requests.Response) -> IdTokenClaims:
        try:
            payload = response.json()
        except ValueError as exc:
            raise LineLoginUnavailable("not JSON") from exc
        if not isinstance(payload, dict):
            raise LineLoginUnavailable("not an object")
        sub, aud, iss = payload.get("sub"), payload.get("aud"), payload.get("iss")
        # LINE checked the audience against client_id; a second look costs nothing.
        if aud != self.channel_id:
            raise IdTokenRejected("audience")
        if iss != ISSUER:
            raise IdTokenRejected("issuer")
        if not isinstance(sub, str) or not USER_ID_RE.match(sub):
            raise IdTokenRejected("subject")
        name = payload.get("name")
        return IdTokenClaims(sub=sub, aud=aud, name=name[:100] if isinstance(name, str) else "")

    def _log(self, status: int | None, attempt: int, started: float, error: str = "") -> None:
        fields: dict[str, object] = {
            "event": "line_api_call",
            "endpoint": ENDPOINT,
            "status": status,
            "attempt": attempt,
            "ms": round((time.perf_counter() - started) * 1000, 1),
        }
        if error:
            fields["error"] = error
        level = logging.WARNING if status is None or status >= 500 else logging.INFO
        log_fields(logger, level, fields)
        metrics.LINE_CALLS.labels(ENDPOINT, str(status) if status else "error").inc()


def _description(response: requests.Response) -> str:
    """LINE's `error_description` (a fixed sentence such as "IdToken expired."), short."""
    try:
        body = response.json()
    except ValueError:
        return "rejected"
    text = body.get("error_description") if isinstance(body, dict) else None
    return str(text)[:80] if text else "rejected"
