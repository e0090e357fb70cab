"""Inquiries (tickets) filed by chat and worked in the back-office console, one module per job.

- `kinds`: types, statuses, requester kinds, `InquiryError`.
- `records`: the tables (`Inquiry`, `InquiryEvent`: an append-only history) and the numbers
  (`INQ-000123`, from the id).
- `filing`: filing a ticket; the back-office e-mail queued in the same transaction
  (`models.mail` outbox).
- `workflow`: assigning, changing the status; a status change with a message queues the LINE
  push to the requester in the same transaction (`models.events` outbox).
- `queries`: what a chat user may see, the console's search, the CLI's JSON.
- `labels` and `texts`: how a ticket is named to people, and every user-facing string.

Functions flush; the caller commits. Callers import from `models.inquiries`.
"""

from models.inquiries.filing import add_event, create_inquiry
from models.inquiries.kinds import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    InquiryError,
    InquiryStatus,
    InquiryType,
    RequesterKind,
)
from models.inquiries.labels import answer_items, company_label, format_jst, requester_label
from models.inquiries.queries import (
    Page,
    inquiry_assignee_email,
    search,
    to_dict,
    visible_to_requester,
)
from models.inquiries.records import (
    NUMBER_PREFIX,
    Inquiry,
    InquiryEvent,
    format_number,
    get_by_number,
    parse_number,
)
from models.inquiries.texts import (
    ANSWER_LABELS,
    ANSWER_LINE,
    MAIL_BODY,
    MAIL_SUBJECT,
    REQUESTER_LABELS,
    STATUS_LABELS,
    STATUS_PUSH,
    STATUS_PUSH_MESSAGE,
    TYPE_LABELS,
)
from models.inquiries.workflow import MESSAGE_MAX_CHARS, assign, change_status

__all__ = [
    "ANSWER_LABELS",
    "ANSWER_LINE",
    "CLOSED_STATUSES",
    "MAIL_BODY",
    "MAIL_SUBJECT",
    "MESSAGE_MAX_CHARS",
    "NUMBER_PREFIX",
    "OPEN_STATUSES",
    "REQUESTER_LABELS",
    "STATUS_LABELS",
    "STATUS_PUSH",
    "STATUS_PUSH_MESSAGE",
    "TYPE_LABELS",
    "Inquiry",
    "InquiryError",
    "InquiryEvent",
    "InquiryStatus",
    "InquiryType",
    "Page",
    "RequesterKind",
    "add_event",
    "answer_items",
    "assign",
    "change_status",
    "company_label",
    "create_inquiry",
    "format_jst",
    "format_number",
    "get_by_number",
    "inquiry_assignee_email",
    "parse_number",
    "requester_label",
    "search",
    "to_dict",
    "visible_to_requester",
]
