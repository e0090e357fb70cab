"""What the emulator's state is made of: users, recorded calls, faults, tokens, inbox entries."""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, field
from typing import Any


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
