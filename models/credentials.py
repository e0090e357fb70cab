"""Who may ask for credentials, and keeping passwords out of chat messages (issue 16.11).

Credentials (a company code, member IDs, initial passwords) are only ever delivered to the
company's registered HR contact address (`Company.contact_email`, by e-mail through
`models.mail`, or in the ID list workbook), never into a LINE chat. Only a linked, active HR
contact (for a member of their own company) or the member themself (for their own ID) may ask:
`may_request_credentials` is that rule, checked when a ticket is filed
(`models.inquiries.create_inquiry`) and again when the console resets a password.

`looks_like_password` finds a string shaped like the passwords this system generates, so a
message for a LINE user that carries one can be refused before it is stored or sent.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.company import Member
from models.passwords import PASSWORD_ALPHABET, PASSWORD_LENGTH

_ALNUM_RUN = re.compile(r"[A-Za-z0-9]+")
_ALPHABET = frozenset(PASSWORD_ALPHABET)
TARGET_KEY = "target_member_id"  # the answer naming whose ID / password is asked for


def may_request_credentials(requester: Member | None, target: Member | None) -> bool:
    """May `requester` (the linked member asking; None when not linked) ask for credentials,
    for `target` (None: only the company code)? Delivery is always to the company's HR
    contact address, whoever asks."""
    if requester is None or not requester.is_active:
        return False
    if target is None:
        return True
    if target.company_id != requester.company_id:
        return False
    return requester.is_hr_contact or requester.id == target.id


def request_allowed(session: Session, requester: Member | None, answers: Mapping[str, Any]) -> bool:
    """`may_request_credentials` for a ticket's answers (`target_member_id`, when IDs or
    passwords are asked for; an unknown member ID is refused)."""
    target_id = answers.get(TARGET_KEY)
    target: Member | None = None
    if target_id:
        target = session.scalar(select(Member).where(Member.member_id == str(target_id)))
        if target is None:
            return False
    return may_request_credentials(requester, target)


def _password_shaped(window: str) -> bool:
    return (
        all(c in _ALPHABET for c in window)
        and any(c.isupper() for c in window)
        and any(c.islower() for c in window)
        and any(c.isdigit() for c in window)
    )


def looks_like_password(text: str) -> bool:
    """True if the text holds PASSWORD_LENGTH consecutive letters and digits of the password
    alphabet with upper case, lower case and a digit (after NFKC, so full-width counts too)."""
    normalized = unicodedata.normalize("NFKC", text or "")
    for run in _ALNUM_RUN.findall(normalized):
        for start in range(len(run) - PASSWORD_LENGTH + 1):
            if _password_shaped(run[start : start + PASSWORD_LENGTH]):
                return True
    return False
