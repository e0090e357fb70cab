"""Thread-safe in-memory state of the LINE platform emulator.

Everything the emulator knows lives in one `EmulatorState` guarded by one lock: the channel's
credentials, the bot's webhook URL, simulated users, recorded API calls, reply tokens, accepted
retry keys, pending faults, issued link tokens, each user's inbox and the monthly quota.
Methods that check-and-change (consume a reply token, accept a retry key and deliver) do so in
one critical section so concurrent requests behave like LINE does.
"""

from __future__ import annotations

import itertools
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from emulator.liff_state import LiffRegistry
from emulator.redelivery import RedeliveryQueue
from emulator.user_store import MAX_NAME, USER_ID_RE, load_users, save_users

REPLY_TOKEN_TTL_SECONDS = 60.0
LINK_TOKEN_TTL_SECONDS = 600.0
DEFAULT_QUOTA = 10_000
MAX_RECORDED_CALLS = 10_000

# Message types LINE gives a quote token when sent as push or reply.
QUOTABLE_TYPES = {"text", "textV2", "sticker", "image", "video"}


def new_user_id() -> str:
    return "U" + secrets.token_hex(16)


@dataclass
class User:
    user_id: str
    display_name: str
    language: str = "ja"
    following: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RecordedCall:
    """One Messaging API call as the emulator answered it.

    `status` is the status the emulator sent. `fault` describes the injected fault the call
    met, if any: {status, delay, when}, plus `handled_status` (what the endpoint itself
    answered) for a fault applied after handling.
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    status: int
    at: float
    request_id: str
    fault: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


FAULT_BEFORE = "before"
FAULT_AFTER = "after"
FAULT_WHEN = (FAULT_BEFORE, FAULT_AFTER)


@dataclass
class Fault:
    """A fault for the next `remaining` calls to `path`.

    `when` is FAULT_BEFORE (the default): wait `delay` seconds, then answer `status` without
    handling the request (LINE never saw it), or handle it normally when there is no status.
    FAULT_AFTER: handle the request first (a reply token is used, a push delivered and its
    retry key accepted), then wait `delay` seconds before answering, with `status` instead of
    the endpoint's answer when one is given (LINE took it; the answer was slow or lost).
    """

    path: str
    status: int | None
    delay: float
    remaining: int
    when: str = FAULT_BEFORE

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ReplyToken:
    token: str
    user_id: str
    issued_at: float
    used: bool = False
    expired: bool = False


@dataclass
class LinkToken:
    token: str
    user_id: str
    issued_at: float
    used: bool = False


@dataclass
class InboxEntry:
    seq: int
    via: str
    message: dict[str, Any]
    at: float
    id: str
    sender: str = "bot"  # "bot" for inbox messages, "user" for what the user sent (timeline)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SendResult:
    """Outcome of a push/multicast: either accepted or a duplicate of an accepted retry key."""

    accepted: bool
    sent_messages: list[dict[str, str]] = field(default_factory=list)
    accepted_request_id: str | None = None
    quota_exceeded: bool = False


class EmulatorState:
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
        # With `users_file`, the simulated users survive a restart (emulator.user_store).
        self.users_file = Path(users_file) if users_file is not None else None
        self.users: dict[str, User] = {}
        if self.users_file is not None:
            for entry in load_users(self.users_file):
                self.users[entry["user_id"]] = User(**entry)
        self.calls: list[RecordedCall] = []
        self.reply_tokens: dict[str, ReplyToken] = {}
        self.retry_keys: dict[str, tuple[str, list[dict[str, str]]]] = {}
        self.faults: list[Fault] = []
        self.link_tokens: dict[str, LinkToken] = {}
        self.inboxes: dict[str, list[InboxEntry]] = {}
        self.timelines: dict[str, list[InboxEntry]] = {}
        self.quota = DEFAULT_QUOTA
        self.total_usage = 0
        self.loading: list[dict[str, Any]] = []
        # markAsReadToken -> (user id, message id) of each message event; the messages the
        # bot marked read (POST /v2/bot/chat/markAsRead), in order.
        self.read_tokens: dict[str, tuple[str, str]] = {}
        self.read_marks: list[dict[str, Any]] = []
        # Reserved for the rich menu endpoints (added later): id -> menu, user id -> menu id.
        self.rich_menus: dict[str, dict[str, Any]] = {}
        self.user_rich_menus: dict[str, str] = {}
        self.default_rich_menu: str | None = None
        self.rich_menu_images: dict[str, tuple[bytes, str]] = {}  # id -> (bytes, content type)
        self.rich_menu_aliases: dict[str, str] = {}  # alias id -> rich menu id
        self.liff = LiffRegistry(clock)  # LIFF apps and ID tokens (emulator.liff)
        self._seq = itertools.count(1)
        self._message_ids = itertools.count(590_000_000_000_000_001)

    # -- credentials ------------------------------------------------------------------------

    def token_is_valid(self, token: str) -> bool:
        with self.lock:
            return token in self.access_tokens

    # -- users ------------------------------------------------------------------------------

    def add_user(self, user_id: str | None = None, display_name: str | None = None) -> User:
        """Create a simulated user, or return the existing one with that id (or that name)."""
        with self.lock:
            if user_id is not None and user_id in self.users:
                return self.users[user_id]
            if user_id is None and display_name is not None:
                for user in self.users.values():
                    if user.display_name == display_name:
                        return user
            if user_id is not None and not USER_ID_RE.match(str(user_id)):
                raise ValueError(f"a user id is 'U' and 32 hex digits, not {user_id!r}")
            if display_name is not None and not (
                isinstance(display_name, str) and 0 < len(display_name) <= MAX_NAME
            ):
                raise ValueError(f"a display name is 1-{MAX_NAME} characters")
            uid = user_id or new_user_id()
            user = User(uid, display_name or f"ユーザー{len(self.users) + 1}")
            self.users[uid] = user
            self._save_users_locked()
            return user

    def get_user(self, user_id: str) -> User | None:
        with self.lock:
            return self.users.get(user_id)

    def list_users(self) -> list[User]:
        with self.lock:
            return list(self.users.values())

    def set_following(self, user_id: str, following: bool) -> None:
        with self.lock:
            if user_id in self.users and self.users[user_id].following != following:
                self.users[user_id].following = following
                self._save_users_locked()

    def _save_users_locked(self) -> None:
        if self.users_file is not None:
            save_users(self.users_file, [u.to_dict() for u in self.users.values()])

    # -- recording ---------------------------------------------------------------------------

    def record(self, call: RecordedCall) -> None:
        with self.lock:
            self.calls.append(call)
            if len(self.calls) > MAX_RECORDED_CALLS:
                del self.calls[: len(self.calls) - MAX_RECORDED_CALLS]

    def recorded_calls(self, path_prefix: str | None = None, after: int = 0) -> list[RecordedCall]:
        """The calls whose path starts with `path_prefix`, skipping the first `after` of them
        (calls are only ever appended: a poller asks for what it has not seen yet)."""
        with self.lock:
            found = [c for c in self.calls if path_prefix is None or c.path.startswith(path_prefix)]
        return found[max(0, after) :]

    # -- faults ------------------------------------------------------------------------------

    def add_fault(
        self,
        path: str,
        status: int | None,
        delay: float = 0.0,
        count: int = 1,
        when: str = FAULT_BEFORE,
    ) -> Fault:
        """Queue a fault (see `Fault`); ValueError for a `when` other than before/after."""
        if not isinstance(when, str) or when not in FAULT_WHEN:
            raise ValueError(f"when must be one of {', '.join(FAULT_WHEN)}, not {when!r}")
        fault = Fault(
            path=path, status=status or None, delay=max(0.0, delay), remaining=count, when=when
        )
        with self.lock:
            self.faults.append(fault)
        return fault

    def take_fault(self, path: str) -> Fault | None:
        """The first pending fault for `path` (its count is used up by one), or None."""
        with self.lock:
            for fault in self.faults:
                if fault.path == path and fault.remaining > 0:
                    fault.remaining -= 1
                    taken = replace(fault)  # a copy: the queued one may be used up meanwhile
                    self.faults = [f for f in self.faults if f.remaining > 0]
                    return taken
            return None

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

    # -- misc --------------------------------------------------------------------------------

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

    def reset(self) -> None:
        """Forget calls, inboxes, faults, tokens, retry keys and usage; restore the quota and
        make every user a friend again. User ids and names stay (a session-wide emulator keeps
        handing tests the same users)."""
        with self.lock:
            self.quota = DEFAULT_QUOTA
            for user in self.users.values():
                user.following = True
            self._save_users_locked()
            self.calls.clear()
            self.inboxes.clear()
            self.timelines.clear()
            self.faults.clear()
            self.reply_tokens.clear()
            self.link_tokens.clear()
            self.retry_keys.clear()
            self.loading.clear()
            self.read_tokens.clear()
            self.read_marks.clear()
            self.redeliveries.clear()
            self.total_usage = 0
            self._reset_rich_menus_locked()
        self.liff.reset()

    # -- rich menus (see emulator.richmenu) ----------------------------------------------------

    def _reset_rich_menus_locked(self) -> None:
        self.rich_menus.clear()
        self.rich_menu_images.clear()
        self.rich_menu_aliases.clear()
        self.user_rich_menus.clear()
        self.default_rich_menu = None

    def create_rich_menu(self, body: dict[str, Any], limit: int) -> str | None:
        """Store a rich menu; its new id, or None when the channel already has `limit`."""
        with self.lock:
            if len(self.rich_menus) >= limit:
                return None
            rich_menu_id = "richmenu-" + secrets.token_hex(16)
            self.rich_menus[rich_menu_id] = {"richMenuId": rich_menu_id, **body}
            return rich_menu_id

    def get_rich_menu(self, rich_menu_id: str) -> dict[str, Any] | None:
        with self.lock:
            menu = self.rich_menus.get(rich_menu_id)
            return dict(menu) if menu is not None else None

    def list_rich_menus(self) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(menu) for menu in self.rich_menus.values()]

    def delete_rich_menu(self, rich_menu_id: str) -> bool:
        """Forget the menu, its image, and who it was linked to (they see the default)."""
        with self.lock:
            if self.rich_menus.pop(rich_menu_id, None) is None:
                return False
            self.rich_menu_images.pop(rich_menu_id, None)
            for user_id in [u for u, m in self.user_rich_menus.items() if m == rich_menu_id]:
                del self.user_rich_menus[user_id]
            if self.default_rich_menu == rich_menu_id:
                self.default_rich_menu = None
            return True

    def set_rich_menu_image(self, rich_menu_id: str, image: bytes, content_type: str) -> str:
        """ "ok", "not_found" or "exists" (LINE never replaces a menu's image)."""
        with self.lock:
            if rich_menu_id not in self.rich_menus:
                return "not_found"
            if rich_menu_id in self.rich_menu_images:
                return "exists"
            self.rich_menu_images[rich_menu_id] = (image, content_type)
            return "ok"

    def rich_menu_image(self, rich_menu_id: str) -> tuple[bytes, str] | None:
        with self.lock:
            return self.rich_menu_images.get(rich_menu_id)

    def _usable_menu_locked(self, rich_menu_id: str) -> str:
        if rich_menu_id not in self.rich_menus:
            return "not_found"
        if rich_menu_id not in self.rich_menu_images:
            return "no_image"
        return "ok"

    def set_default_rich_menu(self, rich_menu_id: str | None) -> str:
        with self.lock:
            if rich_menu_id is None:
                self.default_rich_menu = None
                return "ok"
            outcome = self._usable_menu_locked(rich_menu_id)
            if outcome == "ok":
                self.default_rich_menu = rich_menu_id
            return outcome

    def link_rich_menu(self, user_ids: list[str], rich_menu_id: str) -> str:
        with self.lock:
            outcome = self._usable_menu_locked(rich_menu_id)
            if outcome == "ok":
                for user_id in user_ids:
                    self.user_rich_menus[user_id] = rich_menu_id
            return outcome

    def unlink_rich_menu(self, user_ids: list[str]) -> None:
        with self.lock:
            for user_id in user_ids:
                self.user_rich_menus.pop(user_id, None)

    def linked_rich_menu(self, user_id: str) -> str | None:
        with self.lock:
            return self.user_rich_menus.get(user_id)

    def current_rich_menu(self, user_id: str) -> tuple[str | None, str | None]:
        """(menu id, "linked" | "default") the user sees now, or (None, None)."""
        with self.lock:
            linked = self.user_rich_menus.get(user_id)
            if linked is not None and linked in self.rich_menus:
                return linked, "linked"
            if self.default_rich_menu is not None:
                return self.default_rich_menu, "default"
            return None, None

    def default_rich_menu_id(self) -> str | None:
        with self.lock:
            return self.default_rich_menu

    def set_rich_menu_alias(self, alias_id: str, rich_menu_id: str, *, create: bool) -> str:
        """ "ok", "exists" (create), "no_alias" (update), "not_found" or "no_image"."""
        with self.lock:
            if create and alias_id in self.rich_menu_aliases:
                return "exists"
            if not create and alias_id not in self.rich_menu_aliases:
                return "no_alias"
            outcome = self._usable_menu_locked(rich_menu_id)
            if outcome == "ok":
                self.rich_menu_aliases[alias_id] = rich_menu_id
            return outcome

    def rich_menu_alias(self, alias_id: str) -> str | None:
        with self.lock:
            return self.rich_menu_aliases.get(alias_id)

    def rich_menu_alias_list(self) -> dict[str, str]:
        with self.lock:
            return dict(self.rich_menu_aliases)

    def delete_rich_menu_alias(self, alias_id: str) -> bool:
        with self.lock:
            return self.rich_menu_aliases.pop(alias_id, None) is not None

    def switch_rich_menu(self, user_id: str, alias_id: str) -> str:
        """What LINE does for a `richmenuswitch` tap: link the alias's menu to the user.
        The status LINE puts in the postback's params."""
        with self.lock:
            rich_menu_id = self.rich_menu_aliases.get(alias_id)
            if rich_menu_id is None:
                return "RICHMENU_ALIAS_ID_NOTFOUND"
            if rich_menu_id not in self.rich_menus:
                return "RICHMENU_NOTFOUND"
            self.user_rich_menus[user_id] = rich_menu_id
            return "SUCCESS"
