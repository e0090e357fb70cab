"""The tickets' tables and their numbers (`INQ-000123`, from the id).

A ticket has a type, a status, the company it concerns, who asked (the LINE user and, when
linked, the member), the answers given in the form, the operator it is assigned to, and an
append-only history (`InquiryEvent`: created, assigned, status changes with the message sent
to the requester, one-click actions)."""

from __future__ import annotations

import enum
import re
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Enum, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from models.base import Base
from models.company import Company, Member
from models.inquiries.kinds import OPEN_STATUSES, InquiryStatus, InquiryType, RequesterKind
from models.inquiries.labels import requester_label
from models.inquiries.texts import STATUS_LABELS, TYPE_LABELS

NUMBER_PREFIX = "INQ-"
_NUMBER_RE = re.compile(r"^INQ-?(\d{1,12})$", re.IGNORECASE)


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    return Enum(
        cls, name=name, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e]
    )


class Inquiry(Base):
    __tablename__ = "inquiries"
    __table_args__ = (
        Index("ix_inquiries_status_created", "status", "created_at"),
        Index("ix_inquiries_company_created", "company_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    type: Mapped[InquiryType] = mapped_column(_enum(InquiryType, "inquiry_type"))
    status: Mapped[InquiryStatus] = mapped_column(
        _enum(InquiryStatus, "inquiry_status"), default=InquiryStatus.NEW
    )
    company_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id"))
    # The company code as typed (unlinked users), normalised; the company's code otherwise.
    company_code: Mapped[str | None] = mapped_column(String(16))
    requester_kind: Mapped[RequesterKind] = mapped_column(_enum(RequesterKind, "requester_kind"))
    requester_member_pk: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    line_user_id: Mapped[str] = mapped_column(String(64), index=True)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]

    company: Mapped[Company | None] = relationship()
    requester: Mapped[Member | None] = relationship()
    events: Mapped[list[InquiryEvent]] = relationship(
        back_populates="inquiry", order_by="InquiryEvent.id"
    )

    @property
    def number(self) -> str:
        return format_number(self.id)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def type_label(self) -> str:
        return TYPE_LABELS[self.type]

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def requester_label(self) -> str:
        return requester_label(self)


class InquiryEvent(Base):
    """One entry of a ticket's history (append-only).

    A one-click action's entry names the action in `action`; the unique index on
    (inquiry_id, action) is the claim that lets each action run at most once per ticket
    (`models.inquiry_actions`). Other entries leave it NULL (NULLs never collide)."""

    __tablename__ = "inquiry_events"
    __table_args__ = (Index("ix_inquiry_events_action_once", "inquiry_id", "action", unique=True),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    inquiry_id: Mapped[int] = mapped_column(ForeignKey("inquiries.id"), index=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(100))  # "line:U…", "operator:<email>"
    kind: Mapped[str] = mapped_column(String(30))  # created | assigned | status | action
    action: Mapped[str | None] = mapped_column(String(30))  # kind "action": which one
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    message: Mapped[str | None] = mapped_column(Text)  # what the requester was told
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    inquiry: Mapped[Inquiry] = relationship(back_populates="events")


# -- numbers -----------------------------------------------------------------------------------


def format_number(inquiry_id: int) -> str:
    return f"{NUMBER_PREFIX}{inquiry_id:06d}"


def parse_number(value: str) -> int | None:
    match = _NUMBER_RE.match((value or "").strip())
    return int(match.group(1)) if match else None


def get_by_number(session: Session, number: str) -> Inquiry | None:
    inquiry_id = parse_number(number)
    return session.get(Inquiry, inquiry_id) if inquiry_id is not None else None
