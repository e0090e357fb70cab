"""Thread-safe in-memory state of the LINE platform emulator.

Everything the emulator knows lives in one `EmulatorState` guarded by one lock: the channel's
credentials, the bot's webhook URL, simulated users (`users`), recorded API calls and pending
faults (`calls`), reply tokens, accepted retry keys, each user's inbox and the monthly quota
(`messaging`), issued link tokens (here), rich menus (`rich_menus`). Each part is a mixin over
the one lock; `records` holds the data classes. Methods that check-and-change (consume a reply
token, accept a retry key and deliver) do so in one critical section so concurrent requests
behave like LINE does.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from emulator.liff_state import LiffRegistry
from emulator.redelivery import RedeliveryQueue
from emulator.state.calls import MAX_RECORDED_CALLS, CallLog
from emulator.state.messaging import (
    DEFAULT_QUOTA,
    QUOTABLE_TYPES,
    REPLY_TOKEN_TTL_SECONDS,
    Mailboxes,
)
from emulator.state.records import (
    FAULT_AFTER,
    FAULT_BEFORE,
    FAULT_WHEN,
    Fault,
    InboxEntry,
    LinkToken,
    RecordedCall,
    ReplyToken,
    SendResult,
    User,
    new_user_id,
)
from emulator.state.rich_menus import RichMenus
from emulator.state.users import UserDirectory
from emulator.user_store import USER_ID_RE

LINK_TOKEN_TTL_SECONDS = 600.0

__all__ = [
    "DEFAULT_QUOTA",
    "FAULT_AFTER",
    "FAULT_BEFORE",
    "FAULT_WHEN",
    "LINK_TOKEN_TTL_SECONDS",
    "MAX_RECORDED_CALLS",
    "QUOTABLE_TYPES",
    "REPLY_TOKEN_TTL_SECONDS",
    "USER_ID_RE",
    "EmulatorState",
    "Fault",
    "InboxEntry",
    "LinkToken",
    "RecordedCall",
    "ReplyToken",
    "SendResult",
    "User",
    "new_user_id",
]


class EmulatorState(UserDirectory, CallLog, Mailboxes, RichMenus):
    """All emulator state; every public method takes the one lock."""

    def __init__(
        self,
        channel_secret: str,
        access_tokens: Iterable[str],
        webhook_url: str | None = None,
        *,
        clock: Callable[[], float] = time.time,
        users_file: Path | str | None = None,
    ) -> None:
        self.lock = threading.Lock()
        self.channel_secret = channel_secret
        self.access_tokens: set[str] = set(access_tokens)
        self.webhook_url = webhook_url
        self.clock = clock
        self.bot_user_id = new_user_id()
        self.bot_display_name = "ベネサポ"
        self.webhook_timeout = 10.0
        self.redeliveries = RedeliveryQueue(self)  # off, as LINE's default
        self._init_users(users_file)
        self._init_calls()
        self._init_messaging()
        self.link_tokens: dict[str, LinkToken] = {}
        self._init_rich_menus()
        self.liff = LiffRegistry(clock)  # LIFF apps and ID tokens (emulator.liff)

    # -- credentials ------------------------------------------------------------------------

    def token_is_valid(self, token: str) -> bool:
        with self.lock:
            return token in self.access_tokens

    # -- link tokens -------------------------------------------------------------------------

    def issue_link_token(self, user_id: str) -> str:
        token = secrets.token_urlsafe(24)
        with self.lock:
            self.link_tokens[token] = LinkToken(token, user_id, self.clock())
        return token

    def use_link_token(self, token: str) -> tuple[str | None, bool]:
        """(user id or None if unknown, ok). A token is single-use and valid for 10 minutes."""
        with self.lock:
            entry = self.link_tokens.get(token)
            if entry is None:
                return None, False
            if entry.used or self.clock() - entry.issued_at > LINK_TOKEN_TTL_SECONDS:
                return entry.user_id, False
            entry.used = True
            return entry.user_id, True

    # -- reset -------------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget calls, inboxes, faults, tokens, retry keys and usage; restore the quota and
        make every user a friend again. User ids and names stay (a session-wide emulator keeps
        handing tests the same users)."""
        with self.lock:
            self._reset_users_locked()
            self._reset_calls_locked()
            self._reset_messaging_locked()
            self.link_tokens.clear()
            self.redeliveries.clear()
            self._reset_rich_menus_locked()
        self.liff.reset()
