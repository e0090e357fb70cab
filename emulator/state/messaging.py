"""What the bot sends: reply tokens, push / multicast once per retry key, each user's inbox and
timeline, the monthly quota, read marks and loading animations."""

from __future__ import annotations

import itertools
import secrets
import threading
from collections.abc import Callable
from typing import Any

from emulator.state.records import InboxEntry, ReplyToken, SendResult, User

REPLY_TOKEN_TTL_SECONDS = 60.0
DEFAULT_QUOTA = 10_000

# Message types LINE gives a quote token when sent as push or reply.
QUOTABLE_TYPES = {"text", "textV2", "sticker", "image", "video"}


class Mailboxes:
    """The messaging part of `EmulatorState` (its one lock)."""

    lock: threading.Lock
    clock: Callable[[], float]
    users: dict[str, User]

    def _init_messaging(self) -> None:
        self.reply_tokens: dict[str, ReplyToken] = {}
        self.retry_keys: dict[str, tuple[str, list[dict[str, str]]]] = {}
        self.inboxes: dict[str, list[InboxEntry]] = {}
        self.timelines: dict[str, list[InboxEntry]] = {}
        self.quota = DEFAULT_QUOTA
        self.total_usage = 0
        self.loading: list[dict[str, Any]] = []
        # markAsReadToken -> (user id, message id) of each message event; the messages the
        # bot marked read (POST /v2/bot/chat/markAsRead), in order.
        self.read_tokens: dict[str, tuple[str, str]] = {}
        self.read_marks: list[dict[str, Any]] = []
        self._seq = itertools.count(1)
        self._message_ids = itertools.count(590_000_000_000_000_001)

    def _reset_messaging_locked(self) -> None:
        """Forget inboxes, tokens, retry keys and usage; restore the quota."""
        self.quota = DEFAULT_QUOTA
        self.inboxes.clear()
        self.timelines.clear()
        self.reply_tokens.clear()
        self.retry_keys.clear()
        self.loading.clear()
        self.read_tokens.clear()
        self.read_marks.clear()
        self.total_usage = 0

    # -- reply tokens ------------------------------------------------------------------------

    def issue_reply_token(self, user_id: str) -> str:
        token = secrets.token_hex(16)
        with self.lock:
            self.reply_tokens[token] = ReplyToken(token, user_id, self.clock())
        return token

    def reply_token_user(self, token: str) -> str | None:
        """The user a still-usable reply token was issued for (without consuming it)."""
        with self.lock:
            entry = self._usable_reply_token(token)
            return entry.user_id if entry else None

    def _usable_reply_token(self, token: str) -> ReplyToken | None:
        entry = self.reply_tokens.get(token)
        if entry is None or entry.used or entry.expired:
            return None
        if self.clock() - entry.issued_at > REPLY_TOKEN_TTL_SECONDS:
            return None
        return entry

    def expire_reply_tokens(self) -> int:
        with self.lock:
            count = 0
            for entry in self.reply_tokens.values():
                if not entry.used and not entry.expired:
                    entry.expired = True
                    count += 1
            return count

    def accept_reply(
        self, token: str, messages: list[dict[str, Any]]
    ) -> tuple[str, list[dict[str, str]]] | None:
        """Consume the reply token and deliver; None if the token is not usable."""
        with self.lock:
            entry = self._usable_reply_token(token)
            if entry is None:
                return None
            entry.used = True
            sent = self._deliver_locked(entry.user_id, "reply", messages)
            return entry.user_id, sent

    # -- push / multicast ---------------------------------------------------------------------

    def accept_send(
        self,
        via: str,
        recipients: list[str],
        messages: list[dict[str, Any]],
        retry_key: str | None,
        request_id: str,
    ) -> SendResult:
        """Deliver a push/multicast once per retry key and count it against the quota."""
        with self.lock:
            if retry_key is not None and retry_key in self.retry_keys:
                first_id, first_sent = self.retry_keys[retry_key]
                return SendResult(False, first_sent, accepted_request_id=first_id)
            # LINE does not deliver to (nor count) users who blocked the account.
            unique = [
                uid
                for uid in dict.fromkeys(recipients)
                if uid not in self.users or self.users[uid].following
            ]
            if self.total_usage + len(unique) > self.quota:
                return SendResult(False, quota_exceeded=True)
            sent: list[dict[str, str]] = []
            for user_id in unique:
                sent = self._deliver_locked(user_id, via, messages)
            self.total_usage += len(unique)
            if retry_key is not None:
                self.retry_keys[retry_key] = (request_id, sent)
            return SendResult(True, sent)

    def _deliver_locked(
        self, user_id: str, via: str, messages: list[dict[str, Any]]
    ) -> list[dict[str, str]]:
        inbox = self.inboxes.setdefault(user_id, [])
        timeline = self.timelines.setdefault(user_id, [])
        sent = []
        now = self.clock()
        for message in messages:
            message_id = str(next(self._message_ids))
            entry = InboxEntry(next(self._seq), via, message, now, message_id)
            inbox.append(entry)
            timeline.append(entry)
            info = {"id": message_id}
            if message.get("type") in QUOTABLE_TYPES:
                info["quoteToken"] = secrets.token_urlsafe(24)
            sent.append(info)
        return sent

    def record_user_action(self, user_id: str, kind: str, payload: dict[str, Any]) -> InboxEntry:
        """Put what the simulated user did on their timeline (not in the inbox)."""
        with self.lock:
            entry = InboxEntry(
                next(self._seq), kind, payload, self.clock(), str(next(self._message_ids)), "user"
            )
            self.timelines.setdefault(user_id, []).append(entry)
            return entry

    def inbox(self, user_id: str, after: int = 0) -> list[InboxEntry]:
        with self.lock:
            return [e for e in self.inboxes.get(user_id, []) if e.seq > after]

    def timeline(self, user_id: str, after: int = 0) -> list[InboxEntry]:
        with self.lock:
            return [e for e in self.timelines.get(user_id, []) if e.seq > after]

    # -- quota -------------------------------------------------------------------------------

    def set_quota(self, value: int) -> None:
        with self.lock:
            self.quota = value

    def quota_status(self) -> tuple[int, int]:
        with self.lock:
            return self.quota, self.total_usage

    def issue_read_token(self, user_id: str, message_id: str) -> str:
        token = secrets.token_urlsafe(32)
        with self.lock:
            self.read_tokens[token] = (user_id, message_id)
        return token

    def mark_read(self, token: str) -> bool:
        """Mark the token's message (and the user's earlier ones) read; False if LINE would
        not know the token. Marking twice is accepted, as LINE does."""
        with self.lock:
            found = self.read_tokens.get(token)
            if found is None:
                return False
            user_id, message_id = found
            self.read_marks.append({"userId": user_id, "messageId": message_id, "at": self.clock()})
            return True

    def read_up_to(self, user_id: str) -> list[str]:
        """Message ids of the user's the bot marked read."""
        with self.lock:
            return [m["messageId"] for m in self.read_marks if m["userId"] == user_id]

    def record_loading(self, chat_id: str, seconds: int) -> None:
        with self.lock:
            self.loading.append({"chatId": chat_id, "loadingSeconds": seconds, "at": self.clock()})
