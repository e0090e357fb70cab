"""Pure rules of the points terms: policy values, expiry dates, errors. No database here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from models.timeutil import JST, add_months, jst_date, jst_midnight


class _SettingsLike(Protocol):
    allow_future_dates: bool
    extra: Mapping[str, str]


@dataclass(frozen=True)
class PointsPolicy:
    """The values the terms leave to 当社 (Art. 2.2-2.3, 5.3, 6.1, 6.6)."""

    pending_days: int = 30  # Art. 2.3 一定の期間
    auto_apply_days: int = 30  # Art. 6.6 一定期間
    yen_per_point: int = 1  # Art. 6.1 換算率
    expiry_years: int = 3  # Art. 5.3
    allow_future_dates: bool = False
    future_tolerance: timedelta = timedelta(minutes=5)

    @classmethod
    def from_settings(cls, settings: _SettingsLike) -> PointsPolicy:
        extra = settings.extra or {}

        def number(name: str, default: int) -> int:
            raw = extra.get(name)
            return int(raw) if raw not in (None, "") else default

        return cls(
            pending_days=number("BENESAPO_POINTS_PENDING_DAYS", cls.pending_days),
            auto_apply_days=number("BENESAPO_POINTS_AUTO_APPLY_DAYS", cls.auto_apply_days),
            yen_per_point=number("BENESAPO_POINTS_YEN_PER_POINT", cls.yen_per_point),
            allow_future_dates=bool(settings.allow_future_dates),
        )

    @property
    def pending_period(self) -> timedelta:
        return timedelta(days=self.pending_days)

    @property
    def auto_apply_window(self) -> timedelta:
        return timedelta(days=self.auto_apply_days)


def expires_at_for(available_at: datetime, years: int = 3) -> datetime:
    """Art. 5.3: usable through the end of the same JST month `years` later.

    Returns the first instant at which the points are no longer usable (exclusive bound):
    available 2026-01-15 JST → usable through 2029-01-31 23:59:59 JST → 2029-02-01 00:00 JST.
    """
    local = available_at.astimezone(JST)
    year, month = add_months(local.year, local.month, 12 * years + 1)
    return jst_midnight(date(year, month, 1))


def last_usable_day(expires_at: datetime) -> date:
    """The JST date printed as the expiry date (the last day the points can be used)."""
    return jst_date(expires_at - timedelta(microseconds=1))


# Error code → HTTP status the partner API answers with.
ERROR_STATUS: dict[str, int] = {
    "unknown_member": 404,
    "unknown_reference": 404,
    "idempotency_conflict": 409,
    "stale_occurred_at": 409,
    "duplicate_reference": 409,
    "already_cancelled": 409,
    "already_confirmed": 409,
    "already_revoked": 409,
    "already_forfeited": 409,
    "insufficient_points": 422,
    "points_exceed_price": 422,
    "future_occurred_at": 422,
    "membership_lost": 422,
    "invalid_request": 422,
}


class PointsError(Exception):
    """A domain error with a stable `code` (see ERROR_STATUS)."""

    def __init__(self, code: str, message: str, **details: Any) -> None:
        if code not in ERROR_STATUS:
            raise ValueError(f"unknown points error code {code!r}")
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details

    @property
    def http_status(self) -> int:
        return ERROR_STATUS[self.code]

    def __repr__(self) -> str:
        return f"PointsError({self.code!r}, {self.message!r})"
