"""Tables of the points ledger (ポイント利用規約) and the kinds of their rows. The operations
live in the other modules of `models.points`; the pure rules in `models.points.rules`.

Amounts are integers (points, or yen for debts and prices). History is append-only: every
change appends `PointEntry` rows; lots, purchases and exchanges carry only their current
state, and each change to that state has an entry explaining it.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base

# BIGINT on PostgreSQL, INTEGER (the rowid alias that autoincrements) on SQLite.
BigId = BigInteger().with_variant(Integer, "sqlite")


class LotKind(StrEnum):
    EARNING = "earning"  # a service use (Art. 2.1, 2.3): pending first
    GRANT = "grant"  # an operator grant (Art. 2.1 当社が相当と認めた場合)


class LotStatus(StrEnum):
    ACTIVE = "active"
    CANCELLED = "cancelled"  # earning cancelled while pending (Art. 2.3)
    REVOKED = "revoked"  # Art. 5.1-5.2
    FORFEITED = "forfeited"  # Art. 11
    EXPIRED = "expired"  # Art. 5.3


class EntryKind(StrEnum):
    """What a `PointEntry` records; members read each kind through its label
    (`handlers.balance_texts.KIND_LABELS`, which a test keeps complete)."""

    EARN = "earn"  # Art. 2.1/2.3: pending earning
    EARN_AMEND = "earn_amend"  # Art. 2.3: the price changed while pending
    EARN_CANCEL = "earn_cancel"  # Art. 2.3: cancelled while pending
    CONFIRM = "confirm"  # Art. 2.3: the pending period ended
    GRANT = "grant"  # Art. 2.1: operator grant
    REDEEM = "redeem"  # Art. 6.1
    REDEEM_CANCEL = "redeem_cancel"  # Art. 6.3
    RETURN = "return"  # Art. 6.3, 7.2: points back to their lot
    LAPSE = "lapse"  # Art. 5.4: due back, but the lot had expired or was forfeited
    CASH_REFUND = "cash_refund"  # Art. 6.3 ただし書き
    REPRICE = "reprice"  # Art. 6.4-6.5
    AUTO_APPLY = "auto_apply"  # Art. 6.6
    EXCHANGE = "exchange"  # Art. 7.1
    EXCHANGE_CANCEL = "exchange_cancel"  # Art. 7.2
    REVOKE = "revoke"  # Art. 5.1-5.2
    DEBT = "debt"  # Art. 8: spent points revoked
    DEBT_CLEARED = "debt_cleared"  # Art. 8: revoked points given back reduce the debt
    FORFEIT = "forfeit"  # Art. 11
    EXPIRE = "expire"  # Art. 5.3


class PurchaseStatus(StrEnum):
    PAID = "paid"
    CANCELLED = "cancelled"


class ExchangeStatus(StrEnum):
    OPEN = "open"
    CANCELLED = "cancelled"


class PointAccount(Base):
    """One row per member: the row operations lock, the debt, the latest entry time."""

    __tablename__ = "point_accounts"
    __table_args__ = (CheckConstraint("debt_yen >= 0", name="debt_non_negative"),)

    member_pk: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    debt_yen: Mapped[int] = mapped_column(BigInteger, default=0)
    last_occurred_at: Mapped[datetime | None]
    forfeited_at: Mapped[datetime | None]


class PointLot(Base):
    """A grant of points: pending until `available_at`, usable until `expires_at` (exclusive)."""

    __tablename__ = "point_lots"
    __table_args__ = (
        UniqueConstraint("kind", "source_ref", name="uq_point_lots_kind_source_ref"),
        CheckConstraint("amount >= 0", name="amount_non_negative"),
        CheckConstraint("remaining >= 0 AND remaining <= amount", name="remaining_within_amount"),
        CheckConstraint("status = 'active' OR remaining = 0", name="closed_lot_is_empty"),
        CheckConstraint("expires_at > available_at", name="expires_after_available"),
        Index(
            "ix_point_lots_open",
            "member_pk",
            "expires_at",
            postgresql_where=text("remaining > 0"),
            sqlite_where=text("remaining > 0"),
        ),
        Index(
            "ix_point_lots_unconfirmed",
            "available_at",
            postgresql_where=text("confirmed_at IS NULL AND status = 'active'"),
            sqlite_where=text("confirmed_at IS NULL AND status = 'active'"),
        ),
        Index(
            "ix_point_lots_expiring",
            "expires_at",
            postgresql_where=text("status = 'active'"),
            sqlite_where=text("status = 'active'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    member_pk: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    source_ref: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str | None] = mapped_column(String(500))
    amount: Mapped[int] = mapped_column(BigInteger)
    remaining: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default=LotStatus.ACTIVE)
    occurred_at: Mapped[datetime]  # used at / granted at
    available_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    confirmed_at: Mapped[datetime | None]  # when the confirm step recorded it as available
    job_run: Mapped[str | None] = mapped_column(String(32))  # last set-based job that touched it
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"))  # API creator


class Purchase(Base):
    """A purchase paid in whole or part with points (Art. 6)."""

    __tablename__ = "point_purchases"
    __table_args__ = (
        CheckConstraint("price >= 0", name="price_non_negative"),
        CheckConstraint("points_used >= 0", name="points_used_non_negative"),
        CheckConstraint("other_yen >= 0", name="other_yen_non_negative"),
        CheckConstraint("mode IN ('points', 'all')", name="mode_known"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    member_pk: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    purchase_ref: Mapped[str] = mapped_column(String(128), unique=True)
    mode: Mapped[str] = mapped_column(String(8))
    price: Mapped[int] = mapped_column(BigInteger)
    points_used: Mapped[int] = mapped_column(BigInteger)  # points currently paying
    other_yen: Mapped[int] = mapped_column(BigInteger)  # paid by other means, currently
    other_refunded_yen: Mapped[int] = mapped_column(BigInteger, default=0)
    cash_refunded_yen: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(16), default=PurchaseStatus.PAID)
    occurred_at: Mapped[datetime]
    auto_apply_until: Mapped[datetime | None]  # Art. 6.6
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"))  # API creator


class Exchange(Base):
    """Points exchanged for a special service / reward (Art. 7)."""

    __tablename__ = "point_exchanges"
    __table_args__ = (CheckConstraint("points > 0", name="points_positive"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    member_pk: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    reward_ref: Mapped[str] = mapped_column(String(128), unique=True)
    points: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default=ExchangeStatus.OPEN)
    occurred_at: Mapped[datetime]
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"))  # API creator


class Allocation(Base):
    """Points of one lot spent on one purchase or exchange; `returned` closes part of it."""

    __tablename__ = "point_allocations"
    __table_args__ = (
        CheckConstraint("points > 0", name="points_positive"),
        CheckConstraint("returned >= 0 AND returned <= points", name="returned_within_points"),
        CheckConstraint("(purchase_id IS NULL) <> (exchange_id IS NULL)", name="one_target"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("point_lots.id"), index=True)
    purchase_id: Mapped[int | None] = mapped_column(ForeignKey("point_purchases.id"), index=True)
    exchange_id: Mapped[int | None] = mapped_column(ForeignKey("point_exchanges.id"), index=True)
    points: Mapped[int] = mapped_column(BigInteger)
    returned: Mapped[int] = mapped_column(BigInteger, default=0)


class Debt(Base):
    """Yen a member owes after points already spent were revoked (Art. 8)."""

    __tablename__ = "point_debts"
    __table_args__ = (
        CheckConstraint("amount_yen > 0", name="amount_positive"),
        CheckConstraint(
            "remaining_yen >= 0 AND remaining_yen <= amount_yen", name="remaining_within_amount"
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    member_pk: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("point_lots.id"), unique=True)
    amount_yen: Mapped[int] = mapped_column(BigInteger)
    remaining_yen: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str | None] = mapped_column(String(500))
    occurred_at: Mapped[datetime]


class PointOperation(Base):
    """One accepted operation under its idempotency key, with the result it returned."""

    __tablename__ = "point_operations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    request_hash: Mapped[str] = mapped_column(String(64))
    member_pk: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    result_json: Mapped[str] = mapped_column(Text)
    occurred_at: Mapped[datetime]
    created_at: Mapped[datetime]
    # Who asked: the partner and key of an API call; both None for the CLI and jobs.
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"), index=True)
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"))


class PointEntry(Base):
    """An append-only ledger line.

    `points` is the change in the points a member holds (available + pending), `available`
    the change in available points, `debt_yen` the change in debt, `lapsed` points that were
    due back but lapsed because their lot had expired or was forfeited (Art. 6.3, 5.4).
    """

    __tablename__ = "point_entries"
    __table_args__ = (
        CheckConstraint("lapsed >= 0", name="lapsed_non_negative"),
        Index("ix_point_entries_member_id", "member_pk", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    member_pk: Mapped[int] = mapped_column(ForeignKey("members.id"))
    kind: Mapped[str] = mapped_column(String(24))
    points: Mapped[int] = mapped_column(BigInteger, default=0)
    available: Mapped[int] = mapped_column(BigInteger, default=0)
    debt_yen: Mapped[int] = mapped_column(BigInteger, default=0)
    lapsed: Mapped[int] = mapped_column(BigInteger, default=0)
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("point_lots.id"))
    source_ref: Mapped[str | None] = mapped_column(String(128))
    reason: Mapped[str | None] = mapped_column(String(500))
    operation_id: Mapped[int | None] = mapped_column(ForeignKey("point_operations.id"))
    occurred_at: Mapped[datetime]
    created_at: Mapped[datetime]
