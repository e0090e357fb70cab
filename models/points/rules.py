"""Pure rules of the points terms: policy values, expiry dates, errors, argument checks. No
database here."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
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


@dataclass(frozen=True)
class Actor:
    """Who asks the ledger for an operation: a partner, through one of its API keys."""

    partner_id: int
    api_key_id: int


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

    @classmethod
    def insufficient(cls, available: int) -> PointsError:
        """More points asked for than the member can use now (Art. 6, 7)."""
        return cls(
            "insufficient_points", f"not enough points: {available} available", available=available
        )

    @property
    def http_status(self) -> int:
        return ERROR_STATUS[self.code]

    def __repr__(self) -> str:
        return f"PointsError({self.code!r}, {self.message!r})"


# -- input limits (Art. 2, 6: amounts; every operation: references, reasons, times) ----------

MAX_POINTS_PER_OPERATION = 10_000_000  # no single earning, grant, redemption or exchange above
MAX_PRICE_YEN = 100_000_000  # a purchase price above this is a mistake, not a purchase
MAX_REASON_LENGTH = 500
MAX_REF_LENGTH = 128
MAX_MEMBER_ID_LENGTH = 32
# Ledger times must lie in this range: far enough for any real use, and far from the ends of
# what Python and the databases can represent (an expiry is computed years after a time).
EARLIEST_TIME = datetime(2000, 1, 1, tzinfo=JST)
LATEST_TIME = datetime(2100, 1, 1, tzinfo=JST)


def check_amount(value: Any, name: str, *, maximum: int, allow_zero: bool = False) -> int:
    """An integer amount within 1 (or 0) .. maximum, else `invalid_request`."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise PointsError("invalid_request", f"{name} must be an integer")
    if value < 0 or (value == 0 and not allow_zero):
        raise PointsError("invalid_request", f"{name} must be {'≥ 0' if allow_zero else '> 0'}")
    if value > maximum:
        raise PointsError("invalid_request", f"{name} must be at most {maximum:,}")
    return value


def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """Why `value` cannot be stored as text, or None: NUL and other control characters
    (newlines and tabs allowed when `multiline`), and lone surrogates."""
    allowed = "\t\n\r" if multiline else ""
    for char in value:
        category = unicodedata.category(char)
        if category == "Cc" and char not in allowed:
            return f"a control character (U+{ord(char):04X})"
        if category == "Cs":
            return f"a lone surrogate (U+{ord(char):04X})"
    return None


def check_text(value: Any, name: str, max_length: int, *, multiline: bool = False) -> str:
    """A non-empty string (trimmed) of at most `max_length` storable characters."""
    if not isinstance(value, str) or not value.strip():
        raise PointsError("invalid_request", f"{name} must be a non-empty string")
    value = value.strip()
    if len(value) > max_length:
        raise PointsError("invalid_request", f"{name} must be at most {max_length} characters")
    problem = text_problem(value, multiline=multiline)
    if problem:
        raise PointsError("invalid_request", f"{name} contains {problem}")
    return value


def check_time(value: datetime, name: str) -> datetime:
    """An aware time within EARLIEST_TIME .. LATEST_TIME."""
    if value.tzinfo is None:
        raise PointsError("invalid_request", f"{name} needs a UTC offset")
    if not EARLIEST_TIME <= value < LATEST_TIME:
        raise PointsError(
            "invalid_request",
            f"{name} must be between {EARLIEST_TIME.date()} and {LATEST_TIME.date()}",
        )
    return value


# -- argument converters of the ledger's operations (`@operation(points=as_points, …)`) --------


def as_points(value: Any) -> int:
    return check_amount(value, "points", maximum=MAX_POINTS_PER_OPERATION)


def as_price(value: Any) -> int:
    return check_amount(value, "price", maximum=MAX_PRICE_YEN)


def as_new_price(value: Any) -> int:
    """A changed price (Art. 6.4): zero allowed."""
    return check_amount(value, "price", maximum=MAX_PRICE_YEN, allow_zero=True)


def as_ref(name: str) -> Callable[[Any], str]:
    return lambda value: check_text(value, name, MAX_REF_LENGTH)


def as_reason(what: str) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise PointsError("invalid_request", f"a reason is required {what}")
        return check_text(value, "reason", MAX_REASON_LENGTH, multiline=True)

    return convert


def one_of(name: str, *choices: str) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        if value not in choices:
            quoted = " or ".join(f"'{choice}'" for choice in choices)
            raise PointsError("invalid_request", f"{name} must be {quoted}")
        return value

    return convert
