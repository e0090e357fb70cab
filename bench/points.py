"""Points ledger benchmark.

    .venv/bin/python -m bench.points [--database-url URL] [--lots 1000000]

Prints:
1. balance + history time for a member with 10 and with 10,000 entries, and their ratio
   (target ≤ 2: reads use the open-lot partial index and the (member, id) entry index);
2. redemptions per second on PostgreSQL (threads, one transaction per redemption);
3. the expiry job over N lots (default 1,000,000), one set-based statement pair.

It DROPS AND RECREATES the schema of the database it is given (default: the `test_points`
database on the local PostgreSQL); never point it at a database you care about.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

import models
from models.company import Company, CompanyStatus, Member, MemberStatus
from models.db import is_postgres, make_engine, make_session_factory
from models.points import PointsError, PointsLedger, PointsPolicy, run_in_transaction
from models.timeutil import FixedClock

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test_points"
T0 = datetime(2020, 1, 10, 3, 0, tzinfo=UTC)
POLICY = PointsPolicy(allow_future_dates=True)


def reset_schema(engine: Engine) -> None:
    if is_postgres(engine):
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    else:
        models.Base.metadata.drop_all(engine)
    models.Base.metadata.create_all(engine)


def make_members(factory: sessionmaker[Session], count: int, prefix: str) -> list[str]:
    with factory() as db, db.begin():
        company = Company(
            code=f"B{prefix[:7]}",
            name="ベンチ株式会社",
            seat_limit=count + 10,
            status=CompanyStatus.ACTIVE,
            contact_email="bench@example.com",
            created_at=T0,
        )
        db.add(company)
        db.flush()
        ids = [f"{prefix}{i:06d}" for i in range(count)]
        db.add_all(
            Member(
                member_id=member_id,
                company_id=company.id,
                status=MemberStatus.ACTIVE,
                password_hash="x",
                created_at=T0,
            )
            for member_id in ids
        )
    return ids


def build_history(factory: sessionmaker[Session], member_id: str, entries: int) -> int:
    """Grants and redemptions every ~9 hours, each redemption spending what is there: the
    life of a busy member. Returns the number of entries written (confirm/expire included)."""
    clock = FixedClock(T0)
    written = 0
    step = 0
    with factory() as db:
        while written < entries:
            ledger = PointsLedger(db, clock, POLICY)
            if step % 2 == 0:
                ledger.grant(
                    member_id, 100, f"{member_id}-g{step}", "ベンチ", key=f"{member_id}-{step}"
                )
                written += 1
            else:
                ledger.redeem(
                    member_id, f"{member_id}-p{step}", 100, mode="all", key=f"{member_id}-{step}"
                )
                written += 1
            step += 1
            clock.advance(hours=9)
            if step % 500 == 0:
                db.commit()
        db.commit()
    return written


def steady_state(factory: sessionmaker[Session]) -> None:
    """What autovacuum does in production: drop dead index entries (lots that went from
    open to empty) and refresh planner statistics."""
    engine = factory.kw["bind"]
    if is_postgres(engine):
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE point_lots"))
            conn.execute(text("VACUUM ANALYZE point_entries"))
            conn.execute(text("VACUUM ANALYZE point_accounts"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))


def time_reads(factory: sessionmaker[Session], member_id: str, repeat: int) -> float:
    """Median seconds of one balance + one history(20) read, each in its own session."""
    clock = FixedClock(T0 + timedelta(days=3000))
    samples = []
    for _ in range(repeat):
        with factory() as db:
            started = time.perf_counter()
            ledger = PointsLedger(db, clock, POLICY)
            ledger.balance(member_id)
            ledger.history(member_id, limit=20)
            samples.append(time.perf_counter() - started)
            db.rollback()
    return statistics.median(samples)


def bench_reads(factory: sessionmaker[Session], repeat: int) -> None:
    small, big = make_members(factory, 2, "READ")
    t = time.perf_counter()
    build_history(factory, small, 10)
    build_history(factory, big, 10_000)
    print(f"  (built 10 and 10,000 entries in {time.perf_counter() - t:.1f}s)")
    steady_state(factory)
    with factory() as db:
        count = db.execute(
            text(
                "SELECT m.member_id, count(e.id) FROM point_entries e "
                "JOIN members m ON m.id = e.member_pk GROUP BY m.member_id ORDER BY 1"
            )
        ).all()
    print("  entries per member:", ", ".join(f"{m}={n}" for m, n in count))
    t_small = time_reads(factory, small, repeat)
    t_big = time_reads(factory, big, repeat)
    print(f"  balance+history, 10 entries:     {t_small * 1000:.2f} ms (median of {repeat})")
    print(f"  balance+history, 10,000 entries: {t_big * 1000:.2f} ms")
    print(f"  ratio: {t_big / t_small:.2f} (target ≤ 2)")


def bench_redemptions(factory: sessionmaker[Session], members: int, total: int, threads: int):
    prefix = f"R{threads}T"
    ids = make_members(factory, members, prefix)
    clock = FixedClock(T0)
    with factory() as db:
        ledger = PointsLedger(db, clock, POLICY)
        for member_id in ids:
            ledger.grant(member_id, 1_000_000, f"{member_id}-g", "ベンチ", key=f"{member_id}-g")
        db.commit()
    counter = iter(range(total))
    lock = threading.Lock()
    failures: list[str] = []

    def worker() -> None:
        while True:
            with lock:
                n = next(counter, None)
            if n is None:
                return
            member_id = ids[n % members]

            def op(db: Session, n: int = n, member_id: str = member_id) -> object:
                return PointsLedger(db, clock, POLICY).redeem(
                    member_id, f"{prefix}-p{n}", 500, 100, key=f"{prefix}-p{n}"
                )

            try:
                run_in_transaction(factory, op)
            except PointsError as err:
                failures.append(err.code)

    started = time.perf_counter()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - started
    print(
        f"  {total} redemptions over {members} members with {threads} threads: "
        f"{total / elapsed:.0f}/s ({elapsed:.1f}s, {len(failures)} refused)"
    )


def bench_expiry(engine: Engine, factory: sessionmaker[Session], lots: int) -> None:
    if not is_postgres(engine):
        print("  (skipped: the 1M-lot fixture is generated with PostgreSQL's generate_series)")
        return
    members = max(1, lots // 100)
    ids = make_members(factory, members, "EXP")
    t = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO point_accounts (member_pk, debt_yen) "
                "SELECT id, 0 FROM members WHERE member_id LIKE 'EXP%' "
                "ON CONFLICT DO NOTHING"
            )
        )
        conn.execute(
            text(
                """
                INSERT INTO point_lots (member_pk, kind, source_ref, amount, remaining, status,
                    occurred_at, available_at, expires_at, confirmed_at)
                SELECT m.id, 'grant', 'exp-' || g, 100, 100 - (g % 3) * 30, 'active',
                       :t0, :t0, :expires, :t0
                FROM generate_series(1, :lots) AS g
                JOIN members m ON m.member_id = 'EXP' || lpad(((g - 1) % :members)::text, 6, '0')
                """
            ),
            {
                "t0": T0,
                "expires": T0 + timedelta(days=1000),
                "lots": lots,
                "members": members,
            },
        )
        conn.execute(text("ANALYZE point_lots"))
    print(f"  ({lots:,} lots for {len(ids):,} members inserted in {time.perf_counter() - t:.1f}s)")
    clock = FixedClock(T0 + timedelta(days=1001))
    started = time.perf_counter()
    with factory() as db:
        count = PointsLedger(db, clock, POLICY).expire_due()
        db.commit()
    elapsed = time.perf_counter() - started
    print(f"  expiry job: {count:,} lots expired in {elapsed:.1f}s ({count / elapsed:,.0f} lots/s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--lots", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--redemptions", type=int, default=3000)
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument(
        "--parts", default="reads,redemptions,expiry", help="comma-separated subset to run"
    )
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    engine = make_engine(args.database_url, pool_size=args.threads + 2)
    factory = make_session_factory(engine)
    print(f"database: {engine.url.render_as_string(hide_password=True)}")
    reset_schema(engine)
    if "reads" in parts:
        print("1. balance + history")
        bench_reads(factory, args.repeat)
    if "redemptions" in parts:
        print("2. redemptions")
        if is_postgres(engine):
            bench_redemptions(factory, args.members, args.redemptions, 1)
            bench_redemptions(factory, args.members, args.redemptions, args.threads)
        else:
            print("  (skipped: PostgreSQL only)")
    if "expiry" in parts:
        print("3. expiry job")
        bench_expiry(engine, factory, args.lots)


if __name__ == "__main__":
    main()
