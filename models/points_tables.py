"""Moved to `models.points.tables`; this module keeps the old import path working."""

from models.points.tables import (
    Allocation,
    BigId,
    Debt,
    EntryKind,
    Exchange,
    ExchangeStatus,
    LotKind,
    LotStatus,
    PointAccount,
    PointEntry,
    PointLot,
    PointOperation,
    Purchase,
    PurchaseStatus,
)

__all__ = [
    "Allocation",
    "BigId",
    "Debt",
    "EntryKind",
    "Exchange",
    "ExchangeStatus",
    "LotKind",
    "LotStatus",
    "PointAccount",
    "PointEntry",
    "PointLot",
    "PointOperation",
    "Purchase",
    "PurchaseStatus",
]
