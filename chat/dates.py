"""Dates as people type them, resolved against today's date in Asia/Tokyo. Pure functions.

`parse_date("2027/1/31", today)`, 「2027年1月31日」, 「1月31日」 (the next such day), 「来月末」,
「今月末」, 「明日」, 「2027-01-31」 (LINE's date picker) → a `date`; anything else raises
`DateError` whose `code` says why ("not_a_date", "no_such_day"). `check_window` refuses a date
outside [today + min_days, today + max_days] with the code "past", "too_soon" or "too_far".
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, timedelta

from models.timeutil import add_months, last_day_of_month

WEEKDAYS = "月火水木金土日"

_WEEKDAY = re.compile(r"[(（]?[月火水木金土日](曜日?)?[)）]?$")
_YMD = re.compile(r"(\d{4})\s*[/\-.年]\s*(\d{1,2})\s*[/\-.月]\s*(\d{1,2})\s*日?")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
_MD = re.compile(r"(\d{1,2})\s*[/月]\s*(\d{1,2})\s*日?")
_RELATIVE_DAYS = {"今日": 0, "本日": 0, "きょう": 0, "明日": 1, "あした": 1, "あす": 1}
_RELATIVE_DAYS.update({"明後日": 2, "あさって": 2})
_MONTH_ENDS = {"今月末": 0, "月末": 0, "来月末": 1, "再来月末": 2}
_SUFFIXES = ("ごろ", "頃", "まで", "で", "に", "付", "付け", "希望", "でお願いします", "です")


class DateError(ValueError):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _clean(text: str) -> str:
    value = unicodedata.normalize("NFKC", text).strip()
    value = re.sub(r"[\s。、!！]+$", "", value)
    changed = True
    while changed:
        changed = False
        for suffix in _SUFFIXES:
            if len(value) > len(suffix) and value.endswith(suffix):
                value = value[: -len(suffix)].strip()
                changed = True
        stripped = _WEEKDAY.sub("", value).strip() if re.search(r"\d", value) else value
        if stripped != value and stripped:
            value, changed = stripped, True
    return value.replace(" ", "")


def _make(year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise DateError("no_such_day") from None


def parse_date(text: str, today: date) -> date:
    value = _clean(text)
    if value in _RELATIVE_DAYS:
        return today + timedelta(days=_RELATIVE_DAYS[value])
    if value in _MONTH_ENDS:
        year, month = add_months(today.year, today.month, _MONTH_ENDS[value])
        return last_day_of_month(year, month)
    for pattern in (_YMD, _COMPACT):
        match = pattern.fullmatch(value)
        if match:
            year, month, day = (int(g) for g in match.groups())
            return _make(year, month, day)
    match = _MD.fullmatch(value)
    if match:
        month, day = int(match.group(1)), int(match.group(2))
        if not 1 <= month <= 12:
            raise DateError("no_such_day")
        if day > 31 or (month == 2 and day > 29) or (day == 31 and month in (4, 6, 9, 11)):
            raise DateError("no_such_day")
        for year in (today.year, today.year + 1, today.year + 2):  # the next such day
            try:
                candidate = date(year, month, day)
            except ValueError:  # 2月29日 outside a leap year
                continue
            if candidate >= today:
                return candidate
        raise DateError("no_such_day")
    raise DateError("not_a_date")


def check_window(day: date, today: date, *, min_days: int = 0, max_days: int = 730) -> None:
    """Refuse a date before today + min_days ("past" / "too_soon") or after today + max_days."""
    if day < today:
        raise DateError("past")
    if day < today + timedelta(days=min_days):
        raise DateError("too_soon")
    if day > today + timedelta(days=max_days):
        raise DateError("too_far")


def format_date(day: date) -> str:
    """2027年1月31日（日）"""
    return f"{day.year}年{day.month}月{day.day}日（{WEEKDAYS[day.weekday()]}）"
