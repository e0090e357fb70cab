"""The ledger's invariants, checked on the live database (`benesapo points check`, nightly).

Entries = lots = debts = allocations, per member and in total:
- the points a member holds by the entries are the points left in the member's active lots,
  and the available points by the entries those of the confirmed ones;
- each lot holds 0 ≤ remaining ≤ amount, and a closed lot is empty; what its allocations still
  spend plus what it holds never exceeds what it gave;
- each purchase's allocations pay exactly its `points_used`, and a paid purchase adds up
  (points × rate + other payment = price); each exchange's allocations pay its points while it
  is open, nothing once cancelled;
- the account's debt, the open debts and the debt by the entries are one amount, never
  negative, each debt within 0 … its amount.

One aggregate per table, grouped by member, put side by side with a FULL OUTER JOIN (a UNION
ALL of the same aggregates where the database has no FULL JOIN: SQLite before 3.39), so the
check is a handful of scans whatever the number of members. A clean ledger costs one
statement; that statement also gathers the broken members' keys (the first `limit`), and a
second one computes the figures of those members only (by the member_pk indexes).
"""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session


@dataclass(frozen=True)
class Aggregate:
    """One table's figures by member: SELECT <key> AS member_pk, <columns> FROM <source>
    [WHERE <key> IN (…)] GROUP BY <key>."""

    name: str
    key: str  # the member column, as the source names it
    columns: dict[str, str]  # column → SQL expression
    table: str  # the table, with its alias if it has one
    allocated: str | None = None  # the allocations' column pointing at this table's rows

    def source(self, members: str = "") -> str:
        """FROM … GROUP BY key; with `members` ("1, 2, 3"), only those members' rows (and
        only the allocations of their rows)."""
        restrict = f" WHERE {self.key} IN ({members})" if members else ""
        if self.allocated is None:
            return f"FROM {self.table}{restrict} GROUP BY {self.key}"
        alias = self.table.rsplit(" ", 1)[-1]
        spent = (
            f"(SELECT {self.allocated} AS target, SUM(points - returned) AS spent "
            f"FROM point_allocations WHERE {self.allocated} IS NOT NULL"
        )
        if members:
            owner = self.table.rsplit(" ", 1)[0]
            spent += (
                f" AND {self.allocated} IN (SELECT id FROM {owner} WHERE member_pk IN ({members}))"
            )
        spent += f" GROUP BY {self.allocated})"
        return (
            f"FROM {self.table} LEFT JOIN {spent} a ON a.target = {alias}.id"
            f"{restrict} GROUP BY {self.key}"
        )


AGGREGATES: tuple[Aggregate, ...] = (
    Aggregate(
        "entries",
        "member_pk",
        {
            "entry_points": "SUM(points)",
            "entry_available": "SUM(available)",
            "entry_debt": "SUM(debt_yen)",
        },
        "point_entries",
    ),
    Aggregate(
        "lots",
        "l.member_pk",
        {
            "lot_held": "SUM(CASE WHEN l.status = 'active' THEN l.remaining ELSE 0 END)",
            "lot_available": "SUM(CASE WHEN l.status = 'active' AND l.confirmed_at IS NOT NULL "
            "THEN l.remaining ELSE 0 END)",
            "bad_lots": "SUM(CASE WHEN l.remaining < 0 OR l.remaining > l.amount "
            "OR (l.status <> 'active' AND l.remaining <> 0) THEN 1 ELSE 0 END)",
            "overspent_lots": "SUM(CASE WHEN COALESCE(a.spent, 0) + l.remaining > l.amount "
            "THEN 1 ELSE 0 END)",
        },
        "point_lots l",
        allocated="lot_id",
    ),
    Aggregate(
        "debts",
        "member_pk",
        {
            "debts": "SUM(remaining_yen)",
            "bad_debts": "SUM(CASE WHEN remaining_yen < 0 OR remaining_yen > amount_yen "
            "THEN 1 ELSE 0 END)",
        },
        "point_debts",
    ),
    Aggregate(
        "accounts",
        "member_pk",
        {"account_debt": "SUM(debt_yen)"},
        "point_accounts",
    ),
    Aggregate(
        "purchases",
        "p.member_pk",
        {
            "unallocated_purchases": "SUM(CASE WHEN COALESCE(a.spent, 0) <> p.points_used "
            "THEN 1 ELSE 0 END)",
            "unbalanced_purchases": "SUM(CASE WHEN p.status = 'paid' AND "
            "p.points_used * :rate + p.other_yen <> p.price THEN 1 ELSE 0 END)",
        },
        "point_purchases p",
        allocated="purchase_id",
    ),
    Aggregate(
        "exchanges",
        "x.member_pk",
        {
            "unallocated_exchanges": "SUM(CASE WHEN COALESCE(a.spent, 0) <> "
            "CASE WHEN x.status = 'open' THEN x.points ELSE 0 END THEN 1 ELSE 0 END)",
        },
        "point_exchanges x",
        allocated="exchange_id",
    ),
)
COLUMNS = tuple(column for aggregate in AGGREGATES for column in aggregate.columns)

# Each invariant, as the condition under which a member breaks it.
INVARIANTS: dict[str, str] = {
    "entries_match_lots": "entry_points <> lot_held",
    "entries_match_available_lots": "entry_available <> lot_available",
    "lots_within_bounds": "bad_lots > 0",
    "allocations_within_lots": "overspent_lots > 0",
    "allocations_match_purchases": "unallocated_purchases > 0",
    "purchases_add_up": "unbalanced_purchases > 0",
    "allocations_match_exchanges": "unallocated_exchanges > 0",
    "account_matches_debts": "account_debt <> debts OR account_debt < 0",
    "entries_match_debts": "entry_debt <> debts",
    "debts_within_bounds": "bad_debts > 0",
}
# The same amounts over all members: (what the entries say, what the tables say).
TOTALS: dict[str, tuple[str, str]] = {
    "points_held": ("entry_points", "lot_held"),
    "points_available": ("entry_available", "lot_available"),
    "debt_yen": ("entry_debt", "debts"),
    "account_debt_yen": ("account_debt", "debts"),
}
TOTALS_INVARIANT = "totals_match"


@dataclass(frozen=True)
class MemberBreak:
    member_pk: int
    member_id: str | None
    invariants: list[str]
    figures: dict[str, int]


@dataclass(frozen=True)
class CheckReport:
    members: int  # members with any ledger row
    totals: dict[str, dict[str, int]]  # name → {"entries": …, "tables": …}
    breaks: dict[str, int]  # invariant → members breaking it (totals_match: 0 or 1)
    broken: list[MemberBreak] = field(default_factory=list)  # the first `limit`, by key

    @property
    def ok(self) -> bool:
        return not any(self.breaks.values())

    @property
    def broken_members(self) -> int:
        return max((n for name, n in self.breaks.items() if name != TOTALS_INVARIANT), default=0)

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, **asdict(self)}


def full_join_supported(db: Session | Connection) -> bool:
    bind = db.get_bind() if isinstance(db, Session) else db
    dialect = bind.dialect.name
    if dialect == "sqlite":
        return sqlite3.sqlite_version_info >= (3, 39, 0)
    return dialect == "postgresql"


def _per_member(full_join: bool, members: str = "") -> tuple[str, str]:
    """(common table expressions, SELECT member_pk, <every column>): one row per member with
    any ledger row (with `members`, "1, 2, 3": those members only)."""
    if full_join:
        ctes = ", ".join(
            f"agg_{a.name} AS (SELECT {a.key} AS member_pk, "
            + ", ".join(f"{expr} AS {col}" for col, expr in a.columns.items())
            + f" {a.source(members)})"
            for a in AGGREGATES
        )
        joined = f"agg_{AGGREGATES[0].name}" + "".join(
            f" FULL JOIN agg_{a.name} USING (member_pk)" for a in AGGREGATES[1:]
        )
        picks = ", ".join(f"COALESCE({col}, 0) AS {col}" for col in COLUMNS)
        return ctes, f"SELECT member_pk, {picks} FROM {joined}"
    parts = []
    for a in AGGREGATES:
        values = ", ".join(f"{a.columns.get(col, '0')} AS {col}" for col in COLUMNS)
        parts.append(f"SELECT {a.key} AS member_pk, {values} {a.source(members)}")
    sums = ", ".join(f"SUM({col}) AS {col}" for col in COLUMNS)
    union = " UNION ALL ".join(parts)
    return "", f"SELECT member_pk, {sums} FROM ({union}) parts GROUP BY member_pk"


def _flags() -> str:
    return ", ".join(
        f"CASE WHEN {condition} THEN 1 ELSE 0 END AS {name}"
        for name, condition in INVARIANTS.items()
    )


def _broken_keys(value: Any, limit: int) -> list[int]:
    """The first `limit` keys, from PostgreSQL's array or SQLite's "3,1,2" (None: none)."""
    if value is None:
        return []
    found = value if isinstance(value, list) else str(value).split(",")
    return sorted(int(key) for key in found)[:limit]


def check_ledger(
    db: Session | Connection,
    *,
    yen_per_point: int = 1,
    limit: int = 20,
    full_join: bool | None = None,
    jit: bool = False,
) -> CheckReport:
    """Every invariant on what `db` sees; it writes nothing. On PostgreSQL run it in one
    REPEATABLE READ transaction, so that the listing sees the snapshot the counts saw.

    PostgreSQL's JIT stays off for the transaction: the planner cannot estimate the chained
    FULL JOINs (it expects members² rows), so it compiles the query, which costs more than it
    saves (bench/points_check.py, 100k members: 0.76-1.1 s without, 1.0-3.8 s with; 1M
    members: 8.9 s without, 9.6 s with; a loaded machine)."""
    if full_join is None:
        full_join = full_join_supported(db)
    bind = db.get_bind() if isinstance(db, Session) else db
    if bind.dialect.name == "postgresql":
        db.execute(text(f"SET LOCAL jit = {'on' if jit else 'off'}"))
    postgres = bind.dialect.name == "postgresql"
    ctes, per_member = _per_member(full_join)
    base = f"WITH {ctes + ', ' if ctes else ''}joined AS ({per_member}) "
    sums = ", ".join(f"COALESCE(SUM({col}), 0) AS {col}" for col in COLUMNS)
    counts = ", ".join(
        f"COALESCE(SUM(CASE WHEN {cond} THEN 1 ELSE 0 END), 0) AS {name}"
        for name, cond in INVARIANTS.items()
    )
    where = " OR ".join(f"({condition})" for condition in INVARIANTS.values())
    keys = ""
    if limit > 0:  # the broken members' keys, gathered by the same scan
        keys = (
            f", (array_agg(member_pk ORDER BY member_pk) FILTER (WHERE {where}))"
            f"[1:{int(limit)}] AS broken_keys"
            if postgres
            else f", group_concat(CASE WHEN {where} THEN member_pk END) AS broken_keys"
        )
    params = {"rate": yen_per_point}
    row = (
        db.execute(
            text(f"{base}SELECT COUNT(*) AS members, {sums}, {counts}{keys} FROM joined"), params
        )
        .one()
        ._mapping
    )
    totals = {
        name: {"entries": int(row[entries]), "tables": int(row[tables])}
        for name, (entries, tables) in TOTALS.items()
    }
    breaks = {name: int(row[name]) for name in INVARIANTS}
    breaks[TOTALS_INVARIANT] = int(any(t["entries"] != t["tables"] for t in totals.values()))
    broken: list[MemberBreak] = []
    found_keys = _broken_keys(row["broken_keys"], limit) if keys else []
    if found_keys:
        members = ", ".join(str(key) for key in found_keys)
        ctes, per_member = _per_member(full_join, members)
        rows = db.execute(
            text(
                f"WITH {ctes + ', ' if ctes else ''}joined AS ({per_member}) "
                f"SELECT joined.*, members.member_id AS member_id_, {_flags()} "
                "FROM joined LEFT JOIN members ON members.id = joined.member_pk "
                f"WHERE {where} ORDER BY joined.member_pk"
            ),
            params,
        ).all()
        for found in rows:
            data = found._mapping
            broken.append(
                MemberBreak(
                    member_pk=int(data["member_pk"]),
                    member_id=data["member_id_"],
                    invariants=[name for name in INVARIANTS if data[name]],
                    figures={col: int(data[col]) for col in COLUMNS},
                )
            )
    return CheckReport(int(row["members"]), totals, breaks, broken)
