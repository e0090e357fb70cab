"""A ticket's vocabulary: its types, statuses, who asked, and the service's refusals."""

from __future__ import annotations

import enum


class InquiryType(enum.StrEnum):
    ADD_SEATS = "add_seats"  # HR: more employee IDs (within the plan's limit)
    RETIRE = "retire"  # HR: stop a retired employee's use (name and ID)
    CREDENTIALS = "credentials"  # HR, or a member for their own ID: lost code / ID / password
    STOP_SERVICE = "stop_service"  # HR: stop the service
    POINTS = "points"  # employee: a question about points (points terms Art. 3)
    OTHER = "other"  # anyone: other questions


class InquiryStatus(enum.StrEnum):
    NEW = "new"
    IN_PROGRESS = "in_progress"
    WAITING = "waiting"  # waiting for the requester
    DONE = "done"
    REJECTED = "rejected"


class RequesterKind(enum.StrEnum):
    HR_CONTACT = "hr_contact"
    EMPLOYEE = "employee"
    UNLINKED = "unlinked"


OPEN_STATUSES = (InquiryStatus.NEW, InquiryStatus.IN_PROGRESS, InquiryStatus.WAITING)
CLOSED_STATUSES = (InquiryStatus.DONE, InquiryStatus.REJECTED)


class InquiryError(Exception):
    """A refused operation, with a stable `code`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
