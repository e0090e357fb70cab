"""The one place where business time is computed: UTC in storage, Asia/Tokyo for dates."""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from models.date_texts import DATE

JST = ZoneInfo("Asia/Tokyo")


class Clock(Protocol):
    def now(self) -> datetime:  # aware, UTC
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class FixedClock:
    """A clock tests move by hand."""

    current: datetime = field(default_factory=lambda: datetime(2026, 4, 1, 1, 0, tzinfo=UTC))

    def now(self) -> datetime:
        return self.current

    def set(self, value: datetime) -> None:
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        self.current = value.astimezone(UTC)

    def advance(self, **kwargs: float) -> datetime:
        self.current = self.current + timedelta(**kwargs)
        return self.current


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_jst(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    return moment.astimezone(JST)


def jst_date(moment: datetime) -> date:
    return to_jst(moment).date()


def jst_midnight(day: date) -> datetime:
    """The instant (UTC) at which a JST calendar day begins."""
    return datetime.combine(day, time(0, 0), tzinfo=JST).astimezone(UTC)


def jst_at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=JST).astimezone(UTC)


def last_day_of_month(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def add_months(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + months
    return index // 12, index % 12 + 1


def parse_iso(text: str) -> datetime:
    """Parse an ISO 8601 instant; a value without offset is taken as JST (business time)."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=JST)
    return value.astimezone(UTC)


def format_jst_date(day: date) -> str:
    """2029年1月31日"""
    return DATE.format(year=day.year, month=day.month, day=day.day)
