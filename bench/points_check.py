"""Ledger check benchmark (`benesapo points check`'s SQL) on PostgreSQL.

    .venv/bin/python -m bench.points_check [--database-url URL] [--members 100000]

Builds N members with 6 ledger rows each by bulk SQL (generate_series): an account, a grant
lot, a purchase paid partly with points, its allocation and two entries (grant, redeem). Then
prints the time of the check on the clean ledger (FULL JOIN form, and the UNION ALL fallback),
and again after one member's entry is broken by SQL (the second statement lists it).

It DROPS AND RECREATES the schema of the database it is given (default: the `points_bench`
database on the local PostgreSQL, created if missing); never point it at a database you care
about.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, text

from bench.points import reset_schema
from models.company import CompanyStatus, EmploymentType, MemberKind, MemberStatus
from models.db import is_postgres, make_engine
from models.points.check import CheckReport, check_ledger

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/points_bench"
T0 = datetime(2026, 1, 10, 3, 0, tzinfo=UTC)

BUILD = (
    "INSERT INTO companies (id, code, name, seat_limit, status, contact_email, created_at) "
    "VALUES (1, 'BENCH001', 'ベンチ株式会社', :n, :company_status, 'b@example.com', :t0)",
    "INSERT INTO members (id, member_id, company_id, kind, employment_type, status, "
    "password_hash, created_at) SELECT g, 'B' || lpad(g::text, 8, '0'), 1, :kind, :employment, "
    ":member_status, 'x', :t0 FROM generate_series(1, :n) g",
    "INSERT INTO point_accounts (member_pk, debt_yen, last_occurred_at) "
    "SELECT g, 0, :t0 FROM generate_series(1, :n) g",
    "INSERT INTO point_lots (id, member_pk, kind, source_ref, amount, remaining, status, "
    "occurred_at, available_at, expires_at, confirmed_at) SELECT g, g, 'grant', 'g-' || g, 500, "
    "400, 'active', :t0, :t0, :expires, :t0 FROM generate_series(1, :n) g",
    "INSERT INTO point_purchases (id, member_pk, purchase_ref, mode, price, points_used, "
    "other_yen, other_refunded_yen, cash_refunded_yen, status, occurred_at) SELECT g, g, "
    "'p-' || g, 'points', 150, 100, 50, 0, 0, 'paid', :t0 FROM generate_series(1, :n) g",
    "INSERT INTO point_allocations (lot_id, purchase_id, points, returned) "
    "SELECT g, g, 100, 0 FROM generate_series(1, :n) g",
    "INSERT INTO point_entries (member_pk, kind, points, available, debt_yen, lapsed, lot_id, "
    "source_ref, occurred_at, created_at) SELECT g, 'grant', 500, 500, 0, 0, g, 'g-' || g, :t0, "
    ":t0 FROM generate_series(1, :n) g",
    "INSERT INTO point_entries (member_pk, kind, points, available, debt_yen, lapsed, "
    "source_ref, occurred_at, created_at) SELECT g, 'redeem', -100, -100, 0, 0, 'p-' || g, :t0, "
    ":t0 FROM generate_series(1, :n) g",
)


def ensure_database(url: str) -> None:
    engine = make_engine(url.rsplit("/", 1)[0] + "/postgres")
    name = url.rsplit("/", 1)[1]
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if not conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
        ).first():
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()


def build(engine: Engine, members: int) -> int:
    params = {
        "n": members,
        "t0": T0,
        "expires": T0 + timedelta(days=1000),
        "company_status": CompanyStatus.ACTIVE.value,
        "kind": MemberKind.EMPLOYEE.value,
        "employment": EmploymentType.FULL_TIME.value,
        "member_status": MemberStatus.ACTIVE.value,
    }
    with engine.begin() as conn:
        for statement in BUILD:
            conn.execute(text(statement), params)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
        return int(
            conn.execute(
                text(
                    "SELECT (SELECT count(*) FROM point_accounts) + (SELECT count(*) FROM "
                    "point_lots) + (SELECT count(*) FROM point_purchases) + (SELECT count(*) "
                    "FROM point_allocations) + (SELECT count(*) FROM point_entries)"
                )
            ).scalar_one()
        )


def timed_check(
    engine: Engine, full_join: bool, repeat: int, jit: bool = False
) -> tuple[float, CheckReport]:
    """Median seconds of the check in a REPEATABLE READ, READ ONLY transaction (as the job)."""
    samples, report = [], None
    for _ in range(repeat):
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
            conn.execute(text("SET TRANSACTION READ ONLY"))
            started = time.perf_counter()
            report = check_ledger(conn, full_join=full_join, jit=jit)
            samples.append(time.perf_counter() - started)
            conn.rollback()
    assert report is not None
    return statistics.median(samples), report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not args.database_url.startswith("postgresql"):
        raise SystemExit("the fixture is generated with PostgreSQL's generate_series")
    ensure_database(args.database_url)
    engine = make_engine(args.database_url)
    assert is_postgres(engine)
    print(f"database: {engine.url.render_as_string(hide_password=True)}")
    reset_schema(engine)
    started = time.perf_counter()
    rows = build(engine, args.members)
    print(
        f"built {args.members:,} members, {rows:,} ledger rows "
        f"({rows / args.members:.1f} per member) in {time.perf_counter() - started:.1f}s"
    )
    for full_join, jit in ((True, False), (False, False), (True, True)):
        seconds, report = timed_check(engine, full_join, args.repeat, jit)
        form = ("FULL JOIN" if full_join else "UNION ALL") + (", jit on" if jit else "")
        assert report.ok and report.members == args.members, report
        print(f"  clean, {form}: {seconds:.2f}s (median of {args.repeat}), ok")
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE point_entries SET points = points + 1 "
                "WHERE id = (SELECT max(id) FROM point_entries)"
            )
        )
    for full_join in (True, False):
        seconds, report = timed_check(engine, full_join, args.repeat)
        form = "FULL JOIN" if full_join else "UNION ALL"
        assert [b.member_id for b in report.broken] == [f"B{args.members:08d}"], report.broken
        print(
            f"  one break, {form}: {seconds:.2f}s, broken {report.broken[0].member_id}: "
            f"{', '.join(report.broken[0].invariants)}"
        )
    engine.dispose()


if __name__ == "__main__":
    main()
