"""Client companies and their members (employees and HR contacts), and login attempts.

The rules over these tables (creating companies, retiring members, linking, lockout) live in
`models.companies`.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Enum, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base


class CompanyStatus(enum.StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    TERMINATED = "terminated"


class MemberKind(enum.StrEnum):
    EMPLOYEE = "employee"
    HR_CONTACT = "hr_contact"


class EmploymentType(enum.StrEnum):
    FULL_TIME = "full_time"
    PART_TIME = "part_time"


class MemberStatus(enum.StrEnum):
    ACTIVE = "active"
    RETIRED = "retired"


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    return Enum(
        cls, name=name, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e]
    )


class Company(Base):
    __tablename__ = "companies"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(8), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    seat_limit: Mapped[int] = mapped_column(Integer)
    status: Mapped[CompanyStatus] = mapped_column(
        _enum(CompanyStatus, "company_status"), default=CompanyStatus.ACTIVE
    )
    contact_email: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime]
    status_changed_at: Mapped[datetime | None]

    members: Mapped[list[Member]] = relationship(back_populates="company")

    @property
    def is_active(self) -> bool:
        return self.status is CompanyStatus.ACTIVE


class Member(Base):
    __tablename__ = "members"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[str] = mapped_column(String(32), unique=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    kind: Mapped[MemberKind] = mapped_column(
        _enum(MemberKind, "member_kind"), default=MemberKind.EMPLOYEE
    )
    employment_type: Mapped[EmploymentType] = mapped_column(
        _enum(EmploymentType, "employment_type"), default=EmploymentType.FULL_TIME
    )
    status: Mapped[MemberStatus] = mapped_column(
        _enum(MemberStatus, "member_status"), default=MemberStatus.ACTIVE
    )
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]
    retired_at: Mapped[datetime | None]
    password_changed_at: Mapped[datetime | None]

    company: Mapped[Company] = relationship(back_populates="members")

    @property
    def is_active(self) -> bool:
        return self.status is MemberStatus.ACTIVE and self.company.status is CompanyStatus.ACTIVE

    @property
    def is_hr_contact(self) -> bool:
        return self.kind is MemberKind.HR_CONTACT


class LoginOutcome(enum.StrEnum):
    FAILURE = "failure"
    SUCCESS = "success"
    LOCKED = "locked"  # refused without checking: already locked
    RESET = "reset"  # password reset by the back office: clears the member's failures


class LoginAttempt(Base):
    """One login on the linking page (append-only): the back office's trail of who tried what.
    The lockout itself counts in `models.login_guard`."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_member_key_at", "member_key", "at"),
        Index("ix_login_attempts_line_user_at", "line_user_id", "at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    member_key: Mapped[str] = mapped_column(String(64))  # the member ID as typed, normalised
    line_user_id: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[LoginOutcome] = mapped_column(_enum(LoginOutcome, "login_outcome"))
    counts: Mapped[bool] = mapped_column(Boolean, default=True)  # counts toward the lockout
    at: Mapped[datetime]
