"""Companies, members and LINE links: the one place for their rules, one module per job.

- `issuing`: companies with an 8-character code, member IDs and random initial passwords (the
  plain passwords exist only in the returned `IssuedIds`, for the CLI output and the Excel
  list); seats added within the plan's limit; the limit changed.
- `lifecycle`: suspend / resume / terminate a company, retire a member (points forfeited,
  Art. 11; link removed; the member told by a push).
- `login`: login on the linking page with the lockout rule of `models.login_guard`; a
  password reset.
- `linking`: single-use nonces, linking and unlinking (one member ↔ at most one LINE user,
  Art. 1.3).
- `summary`: what an HR contact sees of their company.
- `lookups` (finding by typed codes), `errors`, `hooks` (the link hook), `texts` (the
  member-facing strings it writes).

Every change is written to the audit log. Functions flush; the caller commits (a refused login
raises `LoginError` after recording the attempt, so commit in that case too).

`add_link_listener(fn)` is the hook for whatever must follow a change of what a LINE user may
do (the rich menu): `fn(session, LinkChange)` runs inside the same transaction on link, unlink,
retirement and company suspension / resumption / termination.

Callers import from `models.companies`; the names below are its public surface.
"""

from models.companies.errors import CompanyError, LinkError, LoginError
from models.companies.hooks import (
    LinkChange,
    LinkListener,
    add_link_listener,
    audience_of,
    remove_link_listener,
)
from models.companies.issuing import (
    Credential,
    IssuedIds,
    add_seats,
    create_company,
    set_seat_limit,
)
from models.companies.lifecycle import Retirement, retire_member, set_company_status
from models.companies.linking import complete_link, unlink
from models.companies.login import (
    ADDRESS_RULE,
    LINE_USER_RULE,
    MEMBER_RULE,
    check_login,
    reset_password,
)
from models.companies.lookups import (
    COMPANY_CODE_LENGTH,
    MEMBER_ID_LENGTH,
    company_for_linking,
    find_company,
    find_member,
    get_company,
    get_member,
    is_code_shaped,
    linked_line_user,
    normalize_company_code,
    seats_used,
)
from models.companies.summary import CompanySummary, company_summary
from models.companies.texts import RETIREMENT_NOTICE

__all__ = [
    "ADDRESS_RULE",
    "COMPANY_CODE_LENGTH",
    "LINE_USER_RULE",
    "MEMBER_ID_LENGTH",
    "MEMBER_RULE",
    "RETIREMENT_NOTICE",
    "CompanyError",
    "CompanySummary",
    "Credential",
    "IssuedIds",
    "LinkChange",
    "LinkError",
    "LinkListener",
    "LoginError",
    "Retirement",
    "add_link_listener",
    "add_seats",
    "audience_of",
    "check_login",
    "company_for_linking",
    "company_summary",
    "complete_link",
    "create_company",
    "find_company",
    "find_member",
    "get_company",
    "get_member",
    "is_code_shaped",
    "linked_line_user",
    "normalize_company_code",
    "reset_password",
    "retire_member",
    "remove_link_listener",
    "seats_used",
    "set_company_status",
    "set_seat_limit",
    "unlink",
]
