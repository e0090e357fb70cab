"""Inquiries (tickets) filed by chat and worked in the back-office console.

A ticket has a number (`INQ-000123`, from its id), a type, a status, the company it concerns,
who asked (the LINE user and, when linked, the member), the answers given in the form, the
operator it is assigned to, and an append-only history (`InquiryEvent`: created, assigned,
status changes with the message sent to the requester, one-click actions).

Functions flush; the caller commits. Filing a ticket queues the back-office e-mail in the same
transaction (`models.mail` outbox); a status change with a message queues the LINE push to the
requester in the same transaction (`models.events` outbox).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from models import audit, credentials
from models.base import Base
from models.company import Company, Member
from models.events import enqueue_messages
from models.inquiry_reply_mode import open_for_waiting, reply_button
from models.line_user import LineUser
from models.mail import enqueue_mail, mail_settings
from models.ticket_texts import REPLY_BUTTON, STATUS_NEXT
from models.timeutil import Clock, to_jst

NUMBER_PREFIX = "INQ-"
_NUMBER_RE = re.compile(r"^INQ-?(\d{1,12})$", re.IGNORECASE)
MESSAGE_MAX_CHARS = 1000


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

# The back office's vocabulary (console, e-mail, chat).
TYPE_LABELS: dict[InquiryType, str] = {
    InquiryType.ADD_SEATS: "ID追加",
    InquiryType.RETIRE: "退職者の利用停止",
    InquiryType.CREDENTIALS: "企業コード・ID・パスワード再送",
    InquiryType.STOP_SERVICE: "サービスの停止",
    InquiryType.POINTS: "ポイントについて",
    InquiryType.OTHER: "その他のご質問",
}
STATUS_LABELS: dict[InquiryStatus, str] = {
    InquiryStatus.NEW: "受付済み",
    InquiryStatus.IN_PROGRESS: "対応中",
    InquiryStatus.WAITING: "お客さまの回答待ち",
    InquiryStatus.DONE: "完了",
    InquiryStatus.REJECTED: "お受けできませんでした",
}
REQUESTER_LABELS: dict[RequesterKind, str] = {
    RequesterKind.HR_CONTACT: "企業担当者",
    RequesterKind.EMPLOYEE: "従業員",
    RequesterKind.UNLINKED: "未連携のお客さま",
}
# Labels of the answers' keys (the form's fields), in display order.
ANSWER_LABELS: dict[str, str] = {
    "company_code": "企業コード",
    "seat_count": "追加するID数",
    "retiree_name": "退職者のお名前",
    "retiree_member_id": "退職者の会員ID",
    "credential_what": "再送を希望するもの",
    "target_member_id": "対象の会員ID",
    "name": "お名前",
    "member_id": "会員ID",
    "stop_date": "停止希望日",
    "points_when": "対象のご利用時期",
    "detail": "内容",
}

# The push the requester receives when the back office changes the status.
STATUS_PUSH = "【{service}】お問い合わせ {number}（{type}）の状況が「{status}」になりました。"
STATUS_PUSH_MESSAGE = "\n\n事務局より：\n{message}"

MAIL_SUBJECT = "[ベネサポ] 新しいお問い合わせ {number}（{type}）"
MAIL_BODY = """\
ベネサポ LINE から新しいお問い合わせが届きました。

受付番号：{number}
種別：{type}
受付日時：{created}
企業：{company}
お問い合わせ者：{requester}

--- フォームの回答 ---
{answers}

管理画面：{url}
"""


class InquiryError(Exception):
    """A refused operation, with a stable `code`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


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


# -- labels ------------------------------------------------------------------------------------


def requester_label(inquiry: Inquiry) -> str:
    kind = REQUESTER_LABELS[inquiry.requester_kind]
    if inquiry.requester is not None:
        return f"{kind}（会員ID {inquiry.requester.member_id}）"
    return f"{kind}（LINE {inquiry.line_user_id}）"


def company_label(inquiry: Inquiry) -> str:
    if inquiry.company is not None:
        return f"{inquiry.company.name}（{inquiry.company.code}）"
    if inquiry.company_code:
        return f"企業コード {inquiry.company_code}（入力値）"
    return "-"


def answer_items(answers: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) pairs in the form's order; unknown keys last."""
    items = [(ANSWER_LABELS[k], str(answers[k])) for k in ANSWER_LABELS if k in answers]
    items += [(k, str(v)) for k, v in answers.items() if k not in ANSWER_LABELS]
    return items


def format_jst(moment: datetime | None) -> str:
    return to_jst(moment).strftime("%Y-%m-%d %H:%M") if moment else "-"


# -- filing ------------------------------------------------------------------------------------


def create_inquiry(
    session: Session,
    clock: Clock,
    *,
    type: InquiryType,
    line_user_id: str,
    member: Member | None,
    answers: dict[str, Any],
    company_code: str | None = None,
    console_url: str = "",
) -> Inquiry:
    """File a ticket and queue the back-office e-mail (same transaction).

    `member` is the requester's linked, active member (None for unlinked users); the ticket
    concerns the member's company, or the company whose code an unlinked user typed. Only a
    linked HR contact, or the member for their own ID, may ask for credentials
    (`models.credentials`): InquiryError `credentials_not_allowed` otherwise.
    """
    now = clock.now()
    type = InquiryType(type)
    if type is InquiryType.CREDENTIALS and not credentials.request_allowed(
        session, member, answers
    ):
        raise InquiryError(
            "credentials_not_allowed",
            "only a linked HR contact, or the member for their own ID, may ask for credentials",
        )
    if member is None:
        kind = RequesterKind.UNLINKED
        company = (
            session.scalar(select(Company).where(Company.code == company_code))
            if company_code
            else None
        )
    else:
        kind = RequesterKind.HR_CONTACT if member.is_hr_contact else RequesterKind.EMPLOYEE
        company = member.company
        company_code = company.code
    inquiry = Inquiry(
        type=type,
        status=InquiryStatus.NEW,
        company=company,
        company_code=company_code,
        requester_kind=kind,
        requester=member,
        line_user_id=line_user_id,
        answers=dict(answers),
        created_at=now,
        updated_at=now,
    )
    session.add(inquiry)
    session.flush()
    _event(session, inquiry, f"line:{line_user_id}", "created", now, to_status=InquiryStatus.NEW)
    settings = mail_settings()
    url = f"{console_url.rstrip('/')}/admin/inquiries/{inquiry.number}" if console_url else "-"
    enqueue_mail(
        session,
        dedupe_key=f"inquiry-new:{inquiry.id}",
        to=[settings.backoffice_email],
        subject=MAIL_SUBJECT.format(number=inquiry.number, type=inquiry.type_label),
        body=MAIL_BODY.format(
            number=inquiry.number,
            type=inquiry.type_label,
            created=format_jst(now),
            company=company_label(inquiry),
            requester=requester_label(inquiry),
            answers="\n".join(f"{k}：{v}" for k, v in answer_items(inquiry.answers)) or "-",
            url=url,
        ),
        now=now,
    )
    return inquiry


def _event(
    session: Session,
    inquiry: Inquiry,
    actor: str,
    kind: str,
    at: datetime,
    *,
    from_status: InquiryStatus | None = None,
    to_status: InquiryStatus | None = None,
    message: str | None = None,
    details: dict[str, Any] | None = None,
) -> InquiryEvent:
    event = InquiryEvent(
        inquiry_id=inquiry.id,
        at=at,
        actor=actor[:100],
        kind=kind,
        from_status=from_status.value if from_status else None,
        to_status=to_status.value if to_status else None,
        message=message,
        details=dict(details or {}),
    )
    session.add(event)
    session.flush()
    return event


# -- reading -----------------------------------------------------------------------------------


def visible_to_requester(
    session: Session, *, line_user_id: str, member: Member | None, open_only: bool = True
) -> list[Inquiry]:
    """The tickets a chat user may see: an HR contact sees their company's requests filed by
    HR contacts; anyone else sees the tickets they filed themselves."""
    stmt = select(Inquiry)
    if member is not None and member.is_hr_contact and member.is_active:
        stmt = stmt.where(
            Inquiry.company_id == member.company_id,
            Inquiry.requester_kind == RequesterKind.HR_CONTACT,
        )
    else:
        stmt = stmt.where(Inquiry.line_user_id == line_user_id)
    if open_only:
        stmt = stmt.where(Inquiry.status.in_(OPEN_STATUSES))
    return list(session.scalars(stmt.order_by(Inquiry.id.desc()).limit(50)))


@dataclass(frozen=True)
class Page:
    items: list[Inquiry]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def search(
    session: Session,
    *,
    status: str | None = None,
    type: str | None = None,
    company: str | None = None,
    assignee: int | str | None = None,
    page: int = 1,
    per_page: int = 20,
) -> Page:
    """Tickets newest first, filtered by status ("open" = not closed), type, company code
    (or part of the company's name) and assignee (an operator id, or "none": unassigned)."""
    stmt = select(Inquiry)
    if status == "open":
        stmt = stmt.where(Inquiry.status.in_(OPEN_STATUSES))
    elif status:
        stmt = stmt.where(Inquiry.status == InquiryStatus(status))
    if type:
        stmt = stmt.where(Inquiry.type == InquiryType(type))
    if assignee == "none":
        stmt = stmt.where(Inquiry.assignee_id.is_(None))
    elif isinstance(assignee, int):
        stmt = stmt.where(Inquiry.assignee_id == assignee)
    if company:
        term = company.strip()
        stmt = stmt.outerjoin(Company, Inquiry.company_id == Company.id).where(
            (Inquiry.company_code == term.upper()) | Company.name.contains(term)
        )
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    page = max(1, page)
    items = list(
        session.scalars(
            stmt.order_by(Inquiry.id.desc()).offset((page - 1) * per_page).limit(per_page)
        )
    )
    return Page(items, total, page, per_page)


def to_dict(inquiry: Inquiry) -> dict[str, Any]:
    return {
        "number": inquiry.number,
        "type": inquiry.type.value,
        "status": inquiry.status.value,
        "company": inquiry.company.code if inquiry.company else inquiry.company_code,
        "company_name": inquiry.company.name if inquiry.company else None,
        "requester": {
            "kind": inquiry.requester_kind.value,
            "member_id": inquiry.requester.member_id if inquiry.requester else None,
            "line_user_id": inquiry.line_user_id,
        },
        "answers": dict(inquiry.answers),
        "assignee": inquiry_assignee_email(inquiry),
        "created_at": inquiry.created_at.isoformat(),
        "updated_at": inquiry.updated_at.isoformat(),
    }


def inquiry_assignee_email(inquiry: Inquiry) -> str | None:
    if inquiry.assignee_id is None:
        return None
    from models.operators import Operator

    session = Session.object_session(inquiry)
    operator = session.get(Operator, inquiry.assignee_id) if session else None
    return operator.email if operator else None


# -- working -----------------------------------------------------------------------------------


def assign(session: Session, clock: Clock, inquiry: Inquiry, operator_id: int, actor: str) -> None:
    now = clock.now()
    before = inquiry.assignee_id
    inquiry.assignee_id = operator_id
    inquiry.updated_at = now
    _event(session, inquiry, actor, "assigned", now, details={"from": before, "to": operator_id})
    audit.record(session, actor, "inquiry_assigned", f"inquiry:{inquiry.number}", {}, at=now)


def change_status(
    session: Session,
    clock: Clock,
    inquiry: Inquiry,
    status: InquiryStatus | str,
    *,
    actor: str,
    message: str = "",
    service_name: str = "ベネサポ",
    notify: bool = True,
) -> bool:
    """Set the status and tell the requester by a LINE push (queued in this transaction;
    `notify=False`: no push, as when running an action takes the ticket up).

    A message holding a password-shaped string is refused (`message_has_password`):
    credentials never go into a chat, nor into the history or the outbox.
    Returns True if a push was queued (not when the user blocked the account)."""
    status = InquiryStatus(status)
    message = (message or "").strip()
    if len(message) > MESSAGE_MAX_CHARS:
        raise InquiryError("message_too_long", f"at most {MESSAGE_MAX_CHARS} characters")
    if status is inquiry.status and not message:
        raise InquiryError("nothing_to_do", "same status and no message")
    if credentials.looks_like_password(message):
        raise InquiryError("message_has_password", "credentials are never sent to a chat")
    now = clock.now()
    before = inquiry.status
    inquiry.status = status
    inquiry.updated_at = now
    inquiry.closed_at = now if status in CLOSED_STATUSES else None
    event = _event(
        session,
        inquiry,
        actor,
        "status",
        now,
        from_status=before,
        to_status=status,
        message=message or None,
    )
    audit.record(
        session,
        actor,
        "inquiry_status_changed",
        f"inquiry:{inquiry.number}",
        {"from": before.value, "to": status.value, "message": bool(message)},
        at=now,
    )
    user = session.get(LineUser, inquiry.line_user_id)
    if not notify or user is None or user.blocked:
        return False
    body = STATUS_PUSH.format(
        service=service_name,
        number=inquiry.number,
        type=inquiry.type_label,
        status=STATUS_LABELS[status],
    )
    if message:
        body += STATUS_PUSH_MESSAGE.format(message=message)
    body += "\n\n" + STATUS_NEXT[status.value]
    push: dict[str, Any] = {"type": "text", "text": body}
    if status is InquiryStatus.WAITING:  # the way to answer
        push["quickReply"] = {"items": [reply_button(REPLY_BUTTON, inquiry.number)]}
    enqueue_messages(
        session,
        dedupe_key=f"inquiry-status:{event.id}",
        to=[inquiry.line_user_id],
        messages=[push],
        now=now,
    )
    if status is InquiryStatus.WAITING:  # the requester's next text answers this ticket
        open_for_waiting(session, clock, inquiry.line_user_id, inquiry.number)
    return True
