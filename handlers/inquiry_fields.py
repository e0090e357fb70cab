"""The questions of the inquiry forms: each field's prompt, check and choices.

A check takes the typed answer (or a date picker's date) and returns the value to store, or
raises `Invalid` whose message says exactly what is wrong (shown to the user).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from chat.dates import DateError, check_window, format_date, parse_date
from chat.messages import Action, message_action
from chat.names import clean_name, name_problem
from chat.router import Context
from common.textnorm import normalize, normalize_code
from handlers import inquiry_texts as t
from models.companies import (
    COMPANY_CODE_LENGTH,
    MEMBER_ID_LENGTH,
    find_company,
    find_member,
    is_code_shaped,
    seats_used,
)
from models.company import Company, Member, MemberKind, MemberStatus
from models.inquiries import InquiryType
from models.passwords import CODE_ALPHABET
from models.timeutil import jst_date

if TYPE_CHECKING:
    from handlers.inquiry import Form

# Steps (field steps are named after the answer they collect).
COMPANY_CODE = "company_code"
SEAT_COUNT = "seat_count"
RETIREE_NAME = "retiree_name"
RETIREE_ID = "retiree_member_id"
CREDENTIAL_WHAT = "credential_what"
TARGET_MEMBER_ID = "target_member_id"
NAME = "name"
MEMBER_ID = "member_id"
STOP_DATE = "stop_date"
POINTS_WHEN = "points_when"
DETAIL = "detail"

DETAIL_MAX = 1000
SHORT_MAX = 50
STOP_DATE_MIN_DAYS = 1  # a service cannot be stopped today: from tomorrow
STOP_DATE_MAX_DAYS = 730
DATE_PICKED = "inquiry_date"  # postback action of the date picker

# Audiences.
HR = "hr_contact"
EMPLOYEE = "employee"
UNLINKED = "unlinked"


class Invalid(Exception):
    """The answer cannot be accepted; the message says why (shown to the user)."""


@dataclass(frozen=True)
class Accepted:
    """A checked answer, with a line confirming how it was understood (a resolved date)."""

    value: Any
    notice: str | None = None


# -- who is asking -----------------------------------------------------------------------------


def active_member(ctx: Context) -> Member | None:
    member = ctx.member
    return member if member is not None and member.is_active else None


def audience_of(ctx: Context) -> str:
    member = active_member(ctx)
    if member is None:
        return UNLINKED
    return HR if member.is_hr_contact else EMPLOYEE


def hr_company(ctx: Context) -> Company:
    member = active_member(ctx)
    if member is None or not member.is_hr_contact:
        raise Invalid(t.ERR_NOT_ALLOWED_ANY_MORE)
    return member.company


# -- checks ------------------------------------------------------------------------------------


def _typed(value: str, max_chars: int = SHORT_MAX) -> str:
    value = unicodedata.normalize("NFKC", value).strip()
    if not value:
        raise Invalid(t.ERR_EMPTY)
    if len(value) > max_chars:
        raise Invalid(t.ERR_TOO_LONG.format(max=max_chars))
    return value


def check_company_code(ctx: Context, form: Form, value: str) -> str:
    code = normalize_code(value)
    if not code.isascii() or not code.isalnum():
        raise Invalid(t.ERR_COMPANY_CODE_CHARS)
    if len(code) != COMPANY_CODE_LENGTH:
        raise Invalid(t.ERR_COMPANY_CODE_LENGTH.format(count=len(code)))
    if not is_code_shaped(code):
        raise Invalid(t.ERR_COMPANY_CODE_ALPHABET)
    if find_company(ctx.session, code) is None:
        raise Invalid(t.ERR_COMPANY_CODE_UNKNOWN)
    return code


def seat_figures(ctx: Context) -> dict[str, int]:
    company = hr_company(ctx)
    used = seats_used(ctx.session, company)
    return {
        "used": used,
        "limit": company.seat_limit,
        "remaining": max(company.seat_limit - used, 0),
    }


def prompt_seat_count(ctx: Context, form: Form) -> str:
    return t.ASK_SEAT_COUNT.format(**seat_figures(ctx))


def check_seat_count(ctx: Context, form: Form, value: str) -> int:
    digits = unicodedata.normalize("NFKC", value).strip().replace(",", "")
    digits = re.sub(r"(件|個|名|人|つ)$", "", digits).strip()
    if not re.fullmatch(r"\d{1,6}", digits) or int(digits) <= 0:
        raise Invalid(t.ERR_SEAT_NUMBER)
    figures = seat_figures(ctx)
    if int(digits) > figures["remaining"]:
        raise Invalid(t.ERR_SEAT_LIMIT.format(**figures))
    return int(digits)


def member_id_key(value: str) -> str:
    """The member ID typed, as stored; Invalid says what is wrong with its form."""
    key = normalize_code(value)
    if not key or not key.isascii() or not key.isalnum():
        raise Invalid(t.ERR_MEMBER_ID_CHARS)
    if len(key) != MEMBER_ID_LENGTH:
        raise Invalid(t.ERR_MEMBER_ID_LENGTH.format(count=len(key)))
    if any(c not in CODE_ALPHABET for c in key):
        raise Invalid(t.ERR_MEMBER_ID_ALPHABET)
    return key


def _company_member(ctx: Context, value: str) -> Member:
    member = find_member(ctx.session, member_id_key(value))
    if member is None or member.company_id != hr_company(ctx).id:
        raise Invalid(t.ERR_MEMBER_NOT_IN_COMPANY)
    if member.status is MemberStatus.RETIRED:
        raise Invalid(t.ERR_MEMBER_ALREADY_RETIRED)
    return member


def check_retiree_id(ctx: Context, form: Form, value: str) -> str:
    member = _company_member(ctx, value)
    if member.kind is MemberKind.HR_CONTACT:
        raise Invalid(t.ERR_MEMBER_IS_HR)
    return member.member_id


def check_credential_what(ctx: Context, form: Form, value: str) -> str:
    typed = normalize(value)
    for label in t.CREDENTIAL_CHOICES.values():
        if typed == normalize(label):
            return label
    raise Invalid(t.ERR_CHOICE)


def check_target_member_id(ctx: Context, form: Form, value: str) -> str:
    if normalize(value) == normalize(t.MYSELF):
        member = active_member(ctx)
        if member is None:
            raise Invalid(t.ERR_NOT_ALLOWED_ANY_MORE)
        return member.member_id
    return _company_member(ctx, value).member_id


def check_member_id(ctx: Context, form: Form, value: str) -> str:
    if normalize(value) == normalize(t.SKIP_UNKNOWN):
        return t.SKIP_UNKNOWN
    return member_id_key(value)


def check_name(ctx: Context, form: Form, value: str) -> str:
    problem = name_problem(value, SHORT_MAX)
    if problem is not None:
        raise Invalid(t.NAME_ERRORS[problem].format(max=SHORT_MAX))
    return clean_name(value)


def _stop_window(ctx: Context) -> tuple[date, date, date]:
    today = jst_date(ctx.now)
    first = today + timedelta(days=STOP_DATE_MIN_DAYS)
    return today, first, today + timedelta(days=STOP_DATE_MAX_DAYS)


def check_stop_date(ctx: Context, form: Form, value: str) -> Accepted:
    today, first, last = _stop_window(ctx)
    try:
        day = parse_date(value, today)
        check_window(day, today, min_days=STOP_DATE_MIN_DAYS, max_days=STOP_DATE_MAX_DAYS)
    except DateError as exc:
        raise Invalid(
            t.DATE_ERRORS[exc.code].format(first=format_date(first), last=format_date(last))
        ) from None
    shown = format_date(day)
    return Accepted(shown, t.DATE_UNDERSTOOD.format(date=shown))


def stop_date_picker(ctx: Context, form: Form) -> list[Action]:
    """LINE's date picker (mode date: full-date strings), limited to the dates allowed."""
    _, first, last = _stop_window(ctx)
    picker: Action = {
        "type": "datetimepicker",
        "label": t.PICK_DATE,
        "data": f"action={DATE_PICKED}",
        "mode": "date",
        "initial": first.isoformat(),
        "min": first.isoformat(),
        "max": last.isoformat(),
    }
    return [picker]


def check_period_text(ctx: Context, form: Form, value: str) -> str:
    value = _typed(value)
    if not re.search(r"\d|今月|先月|来月|月末|最近|先週|今年|去年|昨年", value):
        raise Invalid(t.ERR_PERIOD)
    return value


def check_detail(ctx: Context, form: Form, value: str) -> str:
    return _typed(value, DETAIL_MAX)


def prompt_detail(ctx: Context, form: Form) -> str:
    template = {
        InquiryType.STOP_SERVICE: t.ASK_DETAIL_STOP,
        InquiryType.POINTS: t.ASK_DETAIL_POINTS,
    }.get(form.type, t.ASK_DETAIL)
    return template.format(max=DETAIL_MAX)


def _fixed(message: str) -> Callable[[Context, Form], str]:
    return lambda ctx, form: message


def _choices(*labels: str) -> Callable[[Context, Form], list[Action]]:
    return lambda ctx, form: [message_action(label) for label in labels]


def _no_choices(ctx: Context, form: Form) -> list[Action]:
    return []


@dataclass(frozen=True)
class Field:
    prompt: Callable[[Context, Form], str]
    check: Callable[[Context, Form, str], Any]  # the value, or Accepted(value, notice)
    choices: Callable[[Context, Form], list[Action]] = _no_choices
    when: Callable[[Form], bool] | None = None
    postbacks: frozenset[str] = frozenset()  # postbacks that answer it (their date as value)


def _wants_ids(form: Form) -> bool:
    return form.answers.get(CREDENTIAL_WHAT) != t.CREDENTIAL_CHOICES["company_code"]


FIELDS: dict[str, Field] = {
    COMPANY_CODE: Field(_fixed(t.ASK_COMPANY_CODE), check_company_code),
    SEAT_COUNT: Field(prompt_seat_count, check_seat_count),
    RETIREE_NAME: Field(_fixed(t.ASK_RETIREE_NAME), check_name),
    RETIREE_ID: Field(_fixed(t.ASK_RETIREE_ID), check_retiree_id),
    CREDENTIAL_WHAT: Field(
        _fixed(t.ASK_CREDENTIAL_WHAT),
        check_credential_what,
        _choices(*t.CREDENTIAL_CHOICES.values()),
    ),
    TARGET_MEMBER_ID: Field(
        _fixed(t.ASK_TARGET_MEMBER_ID),
        check_target_member_id,
        _choices(t.MYSELF),
        when=_wants_ids,
    ),
    NAME: Field(_fixed(t.ASK_NAME), check_name),
    MEMBER_ID: Field(_fixed(t.ASK_MEMBER_ID), check_member_id, _choices(t.SKIP_UNKNOWN)),
    STOP_DATE: Field(
        _fixed(t.ASK_STOP_DATE),
        check_stop_date,
        stop_date_picker,
        postbacks=frozenset({DATE_PICKED}),
    ),
    POINTS_WHEN: Field(_fixed(t.ASK_POINTS_WHEN), check_period_text),
    DETAIL: Field(prompt_detail, check_detail),
}
