"""Shared helpers for the points tests (no tests here): members, a ledger, invariant checks."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.company import Company, CompanyStatus, Member, MemberStatus
from models.points import PointsLedger, PointsPolicy
from models.points.check import check_ledger
from models.points.tables import (
    Allocation,
    Debt,
    PointAccount,
    PointEntry,
    PointLot,
    Purchase,
)
from models.timeutil import FixedClock

T0 = datetime(2026, 1, 15, 3, 0, tzinfo=UTC)  # 2026-01-15 12:00 JST
_keys = itertools.count(1)


def key() -> str:
    return f"k-{next(_keys)}"


def make_member(db: Session, member_id: str = "M0001", *, company: Company | None = None) -> Member:
    if company is None:
        company = db.scalar(select(Company).where(Company.code == "PTS00001"))
    if company is None:
        company = Company(
            code="PTS00001",
            name="ポイント株式会社",
            seat_limit=100,
            status=CompanyStatus.ACTIVE,
            contact_email="hr@example.com",
            created_at=T0,
        )
        db.add(company)
        db.flush()
    member = Member(
        member_id=member_id,
        company_id=company.id,
        status=MemberStatus.ACTIVE,
        password_hash="x",
        created_at=T0,
    )
    db.add(member)
    db.flush()
    return member


def ledger(db: Session, clock: FixedClock, **policy: object) -> PointsLedger:
    return PointsLedger(db, clock, PointsPolicy(allow_future_dates=True, **policy))  # type: ignore[arg-type]


def check_invariants(db: Session, member: Member, ledger_: PointsLedger) -> None:
    """Every invariant of the issue, straight from the tables; and the production check
    (`models.points.check`, both its SQL forms) finds this member's ledger whole too."""
    db.flush()
    for full_join in (True, False):
        report = check_ledger(db, yen_per_point=ledger_.policy.yen_per_point, full_join=full_join)
        assert report.ok, report
    lots = db.scalars(select(PointLot).where(PointLot.member_pk == member.id)).all()
    for lot in lots:
        assert 0 <= lot.remaining <= lot.amount
        if lot.status != "active":
            assert lot.remaining == 0
    held = sum(lot.remaining for lot in lots if lot.status == "active")
    entries_points = db.scalar(
        select(func.coalesce(func.sum(PointEntry.points), 0)).where(
            PointEntry.member_pk == member.id
        )
    )
    assert entries_points == held, "entries do not reconcile with the lots"
    confirmed = sum(
        lot.remaining for lot in lots if lot.status == "active" and lot.confirmed_at is not None
    )
    entries_available = db.scalar(
        select(func.coalesce(func.sum(PointEntry.available), 0)).where(
            PointEntry.member_pk == member.id
        )
    )
    assert entries_available == confirmed
    account = db.get(PointAccount, member.id)
    debt = account.debt_yen if account else 0
    assert debt >= 0
    debts = db.scalar(
        select(func.coalesce(func.sum(Debt.remaining_yen), 0)).where(Debt.member_pk == member.id)
    )
    entries_debt = db.scalar(
        select(func.coalesce(func.sum(PointEntry.debt_yen), 0)).where(
            PointEntry.member_pk == member.id
        )
    )
    assert debt == debts == entries_debt
    outstanding = Allocation.points - Allocation.returned
    # allocations never exceed what a lot gave
    spent_by_lot: dict[int, int] = dict(
        db.execute(
            select(Allocation.lot_id, func.sum(outstanding)).group_by(Allocation.lot_id)
        ).all()
    )
    for lot in lots:
        assert spent_by_lot.get(lot.id, 0) + lot.remaining <= lot.amount
    # purchases: points + other payment = price
    rate = ledger_.policy.yen_per_point
    used_by_purchase: dict[int, int] = dict(
        db.execute(
            select(Allocation.purchase_id, func.sum(outstanding))
            .where(Allocation.purchase_id.is_not(None))
            .group_by(Allocation.purchase_id)
        ).all()
    )
    for purchase in db.scalars(select(Purchase).where(Purchase.member_pk == member.id)):
        if purchase.status == "paid":
            assert used_by_purchase.get(purchase.id, 0) == purchase.points_used
            assert purchase.points_used * rate + purchase.other_yen == purchase.price
    balance = ledger_.balance(member, ledger_.clock.now())
    assert balance.available >= 0 and balance.pending >= 0
    assert balance.available == sum(
        lot.remaining
        for lot in lots
        if lot.status == "active" and lot.available_at <= ledger_.clock.now() < lot.expires_at
    )
