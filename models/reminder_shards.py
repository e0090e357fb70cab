"""Sharing one reminder run among N sender processes: pure rules, no I/O.

Shard K of N (0 <= K < N) takes the members whose primary key is K modulo N: every member in
exactly one shard, whatever order the shards run in. The slot a member's reminder claims
(reminder_sends, unique per member, expiry date and stage) is what keeps a push from being sent
twice, across shards as across runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True)
class Shard:
    index: int
    count: int

    def __post_init__(self) -> None:
        if self.count < 1 or not 0 <= self.index < self.count:
            raise ValueError(f"shard {self.index}/{self.count}: need 0 <= K < N and N >= 1")

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def owns(self, member_pk: int) -> bool:
        return member_pk % self.count == self.index

    def budget(self, left: int | None) -> int | None:
        """This shard's part of the messages left this month (None: unlimited): the parts of
        all shards add up to `left`, so N processes together never overspend it."""
        if left is None:
            return None
        share, extra = divmod(max(0, left), self.count)
        return share + (1 if self.index < extra else 0)


def parse_shard(value: str) -> Shard:
    """`"K/N"` -> Shard(K, N); ValueError when it is not that."""
    match = _SHARD.match(value)
    if match is None:
        raise ValueError(f"shard {value!r}: expected K/N, e.g. 0/2")
    return Shard(int(match.group(1)), int(match.group(2)))


def all_shards(count: int) -> list[Shard]:
    return [Shard(index, count) for index in range(count)]


_FIRST_FIELDS = ("as_of", "expiry_date", "stage")


def merge_reports(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """One run's report (ReminderReport.to_json) from its shards' reports: counts added up,
    `stopped` the first shard's reason, the date fields the first shard's."""
    merged: dict[str, Any] = {}
    by_stage: dict[str, int] = {}
    for report in reports:
        for key, value in report.items():
            if key in _FIRST_FIELDS:
                merged.setdefault(key, value)
            elif key == "stopped":
                merged["stopped"] = merged.get("stopped") or value
            elif key == "by_stage":
                for stage, count in (value or {}).items():
                    by_stage[str(stage)] = by_stage.get(str(stage), 0) + int(count)
            elif isinstance(value, int | float) and not isinstance(value, bool):
                merged[key] = merged.get(key, 0) + value
    merged["by_stage"] = by_stage
    merged.setdefault("stopped", None)
    return merged
