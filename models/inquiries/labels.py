"""How a ticket is named to people: its requester, its company, its answers, its times."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from models.inquiries.texts import (
    ANSWER_LABELS,
    COMPANY,
    COMPANY_TYPED,
    REQUESTER_LABELS,
    REQUESTER_LINE,
    REQUESTER_MEMBER,
)
from models.timeutil import to_jst

if TYPE_CHECKING:
    from models.inquiries.records import Inquiry


def requester_label(inquiry: Inquiry) -> str:
    kind = REQUESTER_LABELS[inquiry.requester_kind]
    if inquiry.requester is not None:
        return REQUESTER_MEMBER.format(kind=kind, member_id=inquiry.requester.member_id)
    return REQUESTER_LINE.format(kind=kind, line_user_id=inquiry.line_user_id)


def company_label(inquiry: Inquiry) -> str:
    if inquiry.company is not None:
        return COMPANY.format(name=inquiry.company.name, code=inquiry.company.code)
    if inquiry.company_code:
        return COMPANY_TYPED.format(code=inquiry.company_code)
    return "-"


def answer_items(answers: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) pairs in the form's order; unknown keys last."""
    items = [(ANSWER_LABELS[k], str(answers[k])) for k in ANSWER_LABELS if k in answers]
    items += [(k, str(v)) for k, v in answers.items() if k not in ANSWER_LABELS]
    return items


def format_jst(moment: datetime | None) -> str:
    return to_jst(moment).strftime("%Y-%m-%d %H:%M") if moment else "-"
