"""Business hours of the live chat (pure rules; JST).

Configured by BENESAPO_HANDOFF_HOURS (`9-17`: from 9:00 to 17:00 JST), BENESAPO_HANDOFF_DAYS
(`0-4`: Monday to Friday; or a list such as `0,1,2,3,4,5`), BENESAPO_HANDOFF_HOLIDAYS (ISO
dates the office is closed, comma separated), BENESAPO_HANDOFF_IDLE_MINUTES (the live chat
returns to the bot after this long without a message either way; 30) and
BENESAPO_HANDOFF_ANSWER_MINUTES (the answer time promised within hours; 30). A value that
cannot be read falls back to its default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from models import handoff_texts as t
from models.timeutil import jst_at, to_jst

WEEKDAYS = frozenset(range(5))


@dataclass(frozen=True)
class HandoffPolicy:
    open_hour: int = 9
    close_hour: int = 17
    days: frozenset[int] = WEEKDAYS  # Monday = 0
    holidays: frozenset[date] = field(default_factory=frozenset)
    idle: timedelta = timedelta(minutes=30)
    answer_minutes: int = 30

    @classmethod
    def from_settings(cls, settings: Any) -> HandoffPolicy:
        return cls.from_env(getattr(settings, "extra", {}) or {})

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> HandoffPolicy:
        default = cls()
        open_hour, close_hour = _hours(env.get("BENESAPO_HANDOFF_HOURS"), default)
        return cls(
            open_hour=open_hour,
            close_hour=close_hour,
            days=_days(env.get("BENESAPO_HANDOFF_DAYS")) or default.days,
            holidays=_holidays(env.get("BENESAPO_HANDOFF_HOLIDAYS")),
            idle=timedelta(
                minutes=_bounded(env.get("BENESAPO_HANDOFF_IDLE_MINUTES"), 30, 1, 24 * 60)
            ),
            answer_minutes=_bounded(env.get("BENESAPO_HANDOFF_ANSWER_MINUTES"), 30, 1, 24 * 60),
        )

    def is_business_day(self, day: date) -> bool:
        return day.weekday() in self.days and day not in self.holidays

    def is_open(self, now: datetime) -> bool:
        local = to_jst(now)
        return self.is_business_day(local.date()) and self.open_hour <= local.hour < self.close_hour

    def next_opening(self, now: datetime) -> datetime:
        """The next instant (UTC) the office opens after `now` (now itself when open)."""
        if self.is_open(now):
            return now
        day = to_jst(now).date()
        for offset in range(0, 60):
            candidate = day + timedelta(days=offset)
            opening = jst_at(candidate, self.open_hour)
            if self.is_business_day(candidate) and opening > now:
                return opening
        return jst_at(day + timedelta(days=1), self.open_hour)  # no business day configured

    def days_label(self) -> str:
        if self.days == WEEKDAYS:
            return t.WEEKDAYS
        return t.DAYS.format(days=t.DAY_SEPARATOR.join(t.DAY_NAMES[d] for d in sorted(self.days)))

    def hours_label(self) -> str:
        return t.HOURS.format(days=self.days_label(), open=self.open_hour, close=self.close_hour)


def _bounded(value: str | None, default: int, low: int, high: int) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return default
    return number if low <= number <= high else default


def _hours(value: str | None, default: HandoffPolicy) -> tuple[int, int]:
    try:
        start, end = (int(part) for part in str(value).split("-"))
    except (TypeError, ValueError):
        return default.open_hour, default.close_hour
    if 0 <= start < end <= 24:
        return start, end
    return default.open_hour, default.close_hour


def _days(value: str | None) -> frozenset[int]:
    if not value:
        return frozenset()
    days: set[int] = set()
    try:
        for part in value.split(","):
            if "-" in part:
                first, last = (int(p) for p in part.split("-"))
                days.update(range(first, last + 1))
            else:
                days.add(int(part))
    except ValueError:
        return frozenset()
    return frozenset(days) if days <= set(range(7)) else frozenset()


def _holidays(value: str | None) -> frozenset[date]:
    found: set[date] = set()
    for part in (value or "").split(","):
        try:
            found.add(date.fromisoformat(part.strip()))
        except ValueError:
            continue
    return frozenset(found)
