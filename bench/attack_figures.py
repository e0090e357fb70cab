"""The figure logic of bench/attack.py: pure functions over what the emulator recorded."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

ANSWER_PATHS = ("/v2/bot/message/reply", "/v2/bot/message/push")


@dataclass(frozen=True)
class Figure:
    """One printed figure; `expected` is the value it must have (None: informational)."""

    case: str
    name: str
    value: int | float
    expected: int | None = 0

    @property
    def ok(self) -> bool | None:
        return None if self.expected is None else self.value == self.expected


def delivered_by_user(
    calls: Iterable[Mapping[str, Any]], token_users: Mapping[str, str]
) -> Counter[str]:
    """Answers each user received: replies and pushes LINE accepted (a 409 for a retry key it
    had already accepted delivered nothing new). A reply names its user through its reply
    token (`token_users`: token -> user, as the load issued them); a push in `to`."""
    received: Counter[str] = Counter()
    for call in calls:
        if call.get("path") not in ANSWER_PATHS or call.get("status") != 200:
            continue
        body = call.get("body") or {}
        user = token_users.get(body.get("replyToken", "")) or body.get("to")
        if isinstance(user, str):
            received[user] += 1
    return received


def duplicates_and_lost(
    expected: Mapping[str, int], received: Mapping[str, int]
) -> tuple[int, int]:
    """(answers beyond one per event, events without an answer), summed over users: each
    event of this load is answered by exactly one message."""
    duplicates = lost = 0
    for user in set(expected) | set(received):
        extra = received.get(user, 0) - expected.get(user, 0)
        if extra > 0:
            duplicates += extra
        else:
            lost -= extra
    return duplicates, lost


def server_errors(statuses: Iterable[int | None]) -> int:
    """Requests answered 5xx or not answered at all (None: no response)."""
    return sum(1 for status in statuses if status is None or status >= 500)


def double_spends(successes: int, balance: int, price: int) -> int:
    """Redemptions accepted beyond what the balance could pay (`price` points each)."""
    return max(0, successes - balance // price)


def format_table(figures: Iterable[Figure]) -> list[str]:
    rows = [
        (
            f.case,
            f.name,
            f"{f.value:g}" if isinstance(f.value, float) else str(f.value),
            "-" if f.expected is None else str(f.expected),
            {True: "ok", False: "NOT ok", None: ""}[f.ok],
        )
        for f in figures
    ]
    header = ("case", "figure", "value", "expected", "")
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)
    ]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in (header, *rows)
    ]
