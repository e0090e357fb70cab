"""LIFF apps, the LINE Login channel they belong to, and the ID tokens LINE issues for them.

As in LINE: a LIFF app (LIFF ID `{channel id}-{8 characters}`) belongs to a LINE Login
channel and opens its endpoint URL; the LIFF browser of a logged-in user gets an ID token whose
`aud` is that channel's ID and whose `sub` is the user's ID; `POST /oauth2/v2.1/verify` checks
a token against the `client_id` (channel ID) the server expects.

The emulator's ID tokens are opaque random strings that it remembers (LINE's are signed JWTs);
a server never decodes them, it asks the verify endpoint, so nothing else differs.
"""

from __future__ import annotations

import secrets
import string
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

DEFAULT_LOGIN_CHANNEL_ID = "2000000001"
ID_TOKEN_TTL_SECONDS = 3600.0
ISSUER = "https://access.line.me"
_SUFFIX = string.ascii_letters + string.digits

# LINE's `error_description` values for a token that does not verify (LINE Login v2.1 API
# reference, "Verify ID token", error response).
INVALID = "Invalid IdToken."
EXPIRED = "IdToken expired."
WRONG_AUDIENCE = "Invalid IdToken Audience."
WRONG_NONCE = "Invalid IdToken Nonce."
WRONG_SUBJECT = "Invalid IdToken Subject Identifier."


@dataclass
class LiffApp:
    liff_id: str
    channel_id: str
    endpoint_url: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class IdToken:
    token: str
    user_id: str
    display_name: str
    channel_id: str
    issued_at: float
    expired: bool = False


class VerifyError(Exception):
    """The token does not verify; `description` is LINE's `error_description`."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class LiffRegistry:
    """The channel's LIFF apps and the ID tokens issued for them (its own lock)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.lock = threading.Lock()
        self.clock = clock
        self.apps: dict[str, LiffApp] = {}
        self.id_tokens: dict[str, IdToken] = {}

    def add_app(
        self,
        endpoint_url: str,
        *,
        liff_id: str | None = None,
        channel_id: str = DEFAULT_LOGIN_CHANNEL_ID,
    ) -> LiffApp:
        """Register (or re-point) a LIFF app; ValueError for a bad endpoint or LIFF ID."""
        if not endpoint_url.startswith(("https://", "http://")):
            raise ValueError("endpointUrl must be an http(s) URL")
        if not (channel_id.isdigit() and len(channel_id) == 10):
            raise ValueError("a LINE Login channel ID is 10 digits")
        if liff_id is None:
            liff_id = channel_id + "-" + "".join(secrets.choice(_SUFFIX) for _ in range(8))
        elif not liff_id.startswith(channel_id + "-") or len(liff_id) != len(channel_id) + 9:
            raise ValueError(f"a LIFF ID of channel {channel_id} is '{channel_id}-' + 8 chars")
        app = LiffApp(liff_id, channel_id, endpoint_url)
        with self.lock:
            self.apps[liff_id] = app
        return app

    def app(self, liff_id: str) -> LiffApp | None:
        with self.lock:
            return self.apps.get(liff_id)

    def list_apps(self) -> list[LiffApp]:
        with self.lock:
            return list(self.apps.values())

    def issue_id_token(self, app: LiffApp, user_id: str, display_name: str) -> str:
        """The ID token the LIFF browser of `user_id` gets when it opens `app`."""
        token = secrets.token_urlsafe(32)
        with self.lock:
            self.id_tokens[token] = IdToken(
                token, user_id, display_name, app.channel_id, self.clock()
            )
        return token

    def expire_id_tokens(self) -> int:
        with self.lock:
            fresh = [t for t in self.id_tokens.values() if not t.expired]
            for entry in fresh:
                entry.expired = True
            return len(fresh)

    def verify(
        self, token: str, client_id: str, *, nonce: str | None = None, user_id: str | None = None
    ) -> dict[str, Any]:
        """The token's payload, as LINE's verify endpoint returns it; VerifyError if it does
        not verify (checked in LINE's order: the token, its expiry, audience, nonce, subject).
        """
        with self.lock:
            entry = self.id_tokens.get(token)
            now = self.clock()
        if entry is None:
            raise VerifyError(INVALID)
        if entry.expired or now - entry.issued_at > ID_TOKEN_TTL_SECONDS:
            raise VerifyError(EXPIRED)
        if client_id != entry.channel_id:
            raise VerifyError(WRONG_AUDIENCE)
        if nonce:  # LIFF ID tokens carry no nonce: any expected nonce fails
            raise VerifyError(WRONG_NONCE)
        if user_id and user_id != entry.user_id:
            raise VerifyError(WRONG_SUBJECT)
        return {
            "iss": ISSUER,
            "sub": entry.user_id,
            "aud": entry.channel_id,
            "exp": int(entry.issued_at + ID_TOKEN_TTL_SECONDS),
            "iat": int(entry.issued_at),
            "amr": ["linesso"],
            "name": entry.display_name,
        }

    def reset(self) -> None:
        """Forget issued ID tokens; LIFF apps stay (they are the channel's settings)."""
        with self.lock:
            self.id_tokens.clear()
