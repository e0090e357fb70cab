"""Expiry-reminder bench: 1,000,000 members with lots on PostgreSQL, the LINE emulator.

    .venv/bin/python bench/reminders.py                        # load 1M members, measure
    .venv/bin/python bench/reminders.py --keep                 # reuse the loaded database
    .venv/bin/python bench/reminders.py --members 50000 --rate 500 --send 5000
    .venv/bin/python bench/reminders.py --keep --profile       # cProfile of the send run

What it does (issue 7, "Tests and benchmark"):

1. Load: (re)creates the database (default `bench_reminders` on 127.0.0.1), the schema from
   `models.Base.metadata`, and bulk-loads companies, members, LINE users, point accounts and
   point lots with `INSERT ... SELECT generate_series(...)` in PostgreSQL (seeded, so the data
   is the same every time). Most lots hold a round amount (100, 500, 1000, ...), the rest a
   partly used remainder, so a realistic share of recipients get the same message. Some
   members are retired, some companies suspended, some LINE users blocked or opted out, some
   lots pending, spent, or expiring later: the query has something to leave out.
2. Selection: `ReminderRun.run(as_of, dry_run=True)` streams the whole due set through
   `stream_due_reminders`; prints the time, the SQL statements it ran, the peak memory (RSS
   high-water mark of this process during the run), and `EXPLAIN (ANALYZE, BUFFERS)` of
   `due_reminders_query`.
3. Sending: a real `ReminderRun.run(as_of)` against the LINE emulator (its own process, on
   127.0.0.1), with the emulator's monthly quota set to `--send` messages so that the run
   stops by budget after that many recipients, and the LINE client limited to `--rate`
   calls/s. Prints API calls/s (vs `--rate`) and recipients/s over the sending window (first
   to last send), pushes vs multicasts, LINE API calls per recipient, SQL statements per
   call, and the peak memory of the whole run (which still streams the rest of the due set
   after the budget stops it). Before that it measures the emulator's own ceiling: sequential
   push and multicast calls through `LineClient` with no rate limit and no database.

Targets (issue 7): selection is one streamed, set-based query; the send rate is limited only by
the configured LINE rate (>= 90 % of it); peak memory under 300 MB. It asserts nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import os
import pstats
import re
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, event, func, literal, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

import models  # noqa: E402
from adapters.line_client import LineClient, RetryPolicy, TokenBucket  # noqa: E402
from adapters.runtime import build_runtime  # noqa: E402
from bench._procs import start_emulator  # noqa: E402
from bot.delivery import Deliverer  # noqa: E402
from bot.reminders import ReminderReport, ReminderRun  # noqa: E402
from common.config import Settings  # noqa: E402
from emulator.client import EmulatorClient  # noqa: E402
from handlers.reminders import expiry_reminder  # noqa: E402
from models.db import make_engine, normalize_database_url  # noqa: E402
from models.reminders import (  # noqa: E402
    ReminderPolicy,
    ReminderSend,
    ReminderWindow,
    due_reminders_query,
)
from models.timeutil import FixedClock, jst_at, jst_midnight  # noqa: E402

CHANNEL_SECRET = "bench-reminders-channel-secret"
ACCESS_TOKEN = "bench-reminders-access-token"
MESSAGE_PATH = "/v2/bot/message/"
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/bench_reminders"
# Stage 1 of the June 2026 expiry (20 days left), 10:00 JST: far from the quiet hours.
AS_OF = jst_at(date(2026, 6, 10), 10)
EXPIRES = jst_midnight(date(2026, 7, 1))  # the window's exclusive bound
LATER = jst_midnight(date(2027, 7, 1))  # lots that are not due this month
ROUND_AMOUNTS = (100, 300, 500, 1000, 1500, 2000, 3000, 5000, 10000)
MB = 1024 * 1024

# -- memory ------------------------------------------------------------------------------------


def _status_kb(field_name: str, pid: int | str = "self") -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def reset_peak_rss() -> bool:
    """Reset this process's RSS high-water mark (Linux: `5` to /proc/self/clear_refs)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def peak_rss_mb(pid: int | str = "self") -> float:
    """VmHWM: the RSS high-water mark since start or since reset_peak_rss()."""
    kb = _status_kb("VmHWM", pid)
    if kb is None:  # no /proc: the lifetime maximum
        import resource

        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024


def rss_mb() -> float:
    return (_status_kb("VmRSS") or 0) / 1024


# -- SQL statements counter --------------------------------------------------------------------


@dataclass
class StatementCounter:
    count: int = 0
    kinds: dict[str, int] = field(default_factory=dict)

    def install(self, engine: Engine) -> None:
        @event.listens_for(engine, "before_cursor_execute")
        def _count(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
            self.count += 1
            word = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "?"
            self.kinds[word] = self.kinds.get(word, 0) + 1

    def reset(self) -> None:
        self.count = 0
        self.kinds = {}


# -- database ----------------------------------------------------------------------------------


def admin_url(url: str) -> str:
    return make_url(normalize_database_url(url)).set(database="postgres").render_as_string(False)


def database_name(url: str) -> str:
    name = make_url(normalize_database_url(url)).database
    if not name:
        raise SystemExit("--database-url must name a database")
    return name


def recreate_database(url: str) -> None:
    name = database_name(url)
    if not re.fullmatch(r"[A-Za-z0-9_]+", name):
        raise SystemExit(f"refusing to drop a database named {name!r}")
    admin = make_engine(admin_url(url), isolation_level="AUTOCOMMIT", poolclass=None)
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        admin.dispose()


def database_exists(url: str) -> bool:
    admin = make_engine(admin_url(url), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            return bool(
                conn.execute(
                    text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": database_name(url)}
                ).scalar()
            )
    finally:
        admin.dispose()


LOAD_STEPS: list[tuple[str, str]] = [
    ("seed", "SELECT setseed(0.42)"),
    (
        "companies",
        """
        INSERT INTO companies (id, code, name, seat_limit, status, contact_email, created_at)
        SELECT c, 'B' || lpad(c::text, 7, '0'), 'ベンチ株式会社' || c, 1000000,
               CASE WHEN c % 50 = 0 THEN 'suspended' ELSE 'active' END,
               'hr@example.com', TIMESTAMPTZ '2023-01-01 00:00+00'
        FROM generate_series(1, :companies) AS c
        """,
    ),
    (
        "members",
        """
        INSERT INTO members (id, member_id, company_id, kind, employment_type, status,
                             password_hash, created_at, retired_at)
        SELECT g, 'M' || lpad(g::text, 10, '0'), 1 + (g - 1) % :companies, 'employee',
               CASE WHEN g % 5 = 0 THEN 'part_time' ELSE 'full_time' END,
               CASE WHEN g % 97 = 0 THEN 'retired' ELSE 'active' END,
               'x', TIMESTAMPTZ '2023-01-01 00:00+00',
               CASE WHEN g % 97 = 0 THEN TIMESTAMPTZ '2026-03-31 00:00+00' END
        FROM generate_series(1, :members) AS g
        """,
    ),
    (
        "line_users",
        """
        INSERT INTO line_users (line_user_id, member_pk, blocked, language, reminders_opt_out,
                                first_seen_at, followed_at, linked_at)
        SELECT 'U' || md5('bench-' || g), g, g % 31 = 0, 'ja', g % 43 = 0,
               TIMESTAMPTZ '2024-01-01 00:00+00', TIMESTAMPTZ '2024-01-01 00:00+00',
               TIMESTAMPTZ '2024-01-01 00:01+00'
        FROM generate_series(1, :members) AS g
        """,
    ),
    (
        "point_accounts",
        """
        INSERT INTO point_accounts (member_pk, debt_yen, last_occurred_at)
        SELECT g, 0, TIMESTAMPTZ '2025-06-15 03:00+00' FROM generate_series(1, :members) AS g
        """,
    ),
    # Lots: a = one expiring this month (90 % of members), b = a second one expiring this month
    # (25 %), c = one expiring next year (33 %), d = spent (remaining 0), e = still pending.
    (
        "point_lots",
        """
        INSERT INTO point_lots (member_pk, kind, source_ref, reason, amount, remaining, status,
                                occurred_at, available_at, expires_at, confirmed_at)
        SELECT g, kind, tag || g, NULL, amount,
               CASE WHEN full_lot THEN amount ELSE 1 + floor(partial * amount)::bigint END,
               'active', occurred, occurred, expires, occurred
        FROM (
            SELECT g, tag, kind, expires,
                   (ARRAY[100, 300, 500, 1000, 1500, 2000, 3000, 5000, 10000])
                       [1 + floor(random() * 9)::int] AS amount,
                   random() < :round_share AS full_lot, random() AS partial,
                   TIMESTAMPTZ '2023-06-15 03:00+00'
                       + (random() * 300)::int * INTERVAL '1 day' AS occurred
            FROM generate_series(1, :members) AS g,
                 LATERAL (VALUES ('a-', 'grant', :expires, g % 10 <> 0),
                                 ('b-', 'earning', :expires, g % 4 = 0),
                                 ('c-', 'grant', :later, g % 3 = 0)) AS v(tag, kind, expires, keep)
            WHERE keep
        ) AS s
        """,
    ),
    (
        "point_lots (spent, pending)",
        """
        INSERT INTO point_lots (member_pk, kind, source_ref, amount, remaining, status,
                                occurred_at, available_at, expires_at, confirmed_at)
        SELECT g, 'grant', 'd-' || g, 500, 0, 'active', TIMESTAMPTZ '2023-06-15 03:00+00',
               TIMESTAMPTZ '2023-06-15 03:00+00', :expires, TIMESTAMPTZ '2023-06-15 03:00+00'
        FROM generate_series(1, :members) AS g WHERE g % 29 = 0
        UNION ALL
        SELECT g, 'earning', 'e-' || g, 700, 700, 'active', TIMESTAMPTZ '2026-06-05 03:00+00',
               TIMESTAMPTZ '2026-06-20 03:00+00', :expires, NULL
        FROM generate_series(1, :members) AS g WHERE g % 41 = 0
        """,
    ),
]


def load(engine: Engine, members: int, round_share: float) -> dict[str, float]:
    params = {
        "members": members,
        "companies": max(1, members // 5000),
        "round_share": round_share,
        "expires": EXPIRES,
        "later": LATER,
    }
    timings: dict[str, float] = {}
    models.Base.metadata.create_all(engine)
    with engine.begin() as conn:
        for name, sql in LOAD_STEPS:
            started = time.perf_counter()
            conn.execute(text(sql), {k: v for k, v in params.items() if f":{k}" in sql})
            timings[name] = time.perf_counter() - started
    started = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    timings["vacuum analyze"] = time.perf_counter() - started
    return timings


def table_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            table: int(conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar() or 0)
            for table in ("companies", "members", "line_users", "point_lots")
        }


def truncate_run_state(engine: Engine) -> None:
    """What earlier runs wrote: claimed reminder slots and the outbox."""
    with engine.begin() as conn:
        conn.exec_driver_sql("TRUNCATE reminder_sends, outgoing_messages RESTART IDENTITY")


# -- the due set, summarised in SQL (not part of any measurement) ------------------------------


@dataclass
class DueShape:
    due: int
    distinct_points: int
    pushes: int
    multicasts: int
    multicast_recipients: int


def due_shape(engine: Engine, policy: ReminderPolicy) -> DueShape:
    """What `_groups` will make of the due set: runs of equal points, at most batch_size."""
    window = ReminderWindow.on(AS_OF, policy)
    due = due_reminders_query(AS_OF, window, policy).subquery()
    stmt = select(due.c.points, func.count()).group_by(due.c.points)
    shape = DueShape(0, 0, 0, 0, 0)
    size = policy.batch_size
    with engine.connect() as conn:
        for _points, count in conn.execute(stmt):
            shape.due += count
            shape.distinct_points += 1
            full, rest = divmod(count, size)
            shape.multicasts += full + (1 if rest > 1 else 0)
            shape.pushes += 1 if rest == 1 else 0
            shape.multicast_recipients += count - (1 if rest == 1 else 0)
    return shape


def explain(engine: Engine, policy: ReminderPolicy) -> list[str]:
    window = ReminderWindow.on(AS_OF, policy)
    compiled = due_reminders_query(AS_OF, window, policy).compile(dialect=engine.dialect)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "EXPLAIN (ANALYZE, BUFFERS) " + str(compiled), dict(compiled.params)
        ).all()
    return [row[0] for row in rows]


# -- the emulator in its own process -----------------------------------------------------------


def tree_peak_rss_mb(root_pid: int) -> float | None:
    """The largest peak RSS among a process and its children (gunicorn serves in a child)."""
    pids = [root_pid, *_children(root_pid)]
    peaks = [kb for kb in (_status_kb("VmHWM", pid) for pid in pids) if kb is not None]
    return max(peaks) / 1024 if peaks else None


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]


# -- measurements ------------------------------------------------------------------------------


def emulator_ceiling(settings: Settings, seconds: float) -> tuple[float, float]:
    """Sequential push / multicast(500) calls/s through LineClient: no rate limit, no DB."""
    line = LineClient(settings, retry=RetryPolicy(max_retries=0), limiter=TokenBucket(1e9))
    message = expiry_reminder(1234, date(2026, 6, 30), 1)
    users = [f"U{n:032x}" for n in range(500)]
    rates = []
    for kind in ("push", "multicast"):
        calls, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            key = f"00000000-0000-4000-8000-{calls:012x}"
            if kind == "push":
                line.push(users[calls % 500], [message], key.replace("-4000-", "-4001-"))
            else:
                line.multicast(users, [message], key)
            calls += 1
        rates.append(calls / (time.perf_counter() - started))
    return rates[0], rates[1]


def timed(fn: Callable[[], Any], profile: cProfile.Profile | None = None) -> tuple[Any, float]:
    started = time.perf_counter()
    if profile is not None:
        profile.enable()
    try:
        result = fn()
    finally:
        if profile is not None:
            profile.disable()
    return result, time.perf_counter() - started


def print_profile(profile: cProfile.Profile, limit: int = 30) -> None:
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    stats.sort_stats("cumulative").print_stats(limit)
    stats.sort_stats("tottime").print_stats(limit)
    print(out.getvalue())


def fmt_s(seconds: float) -> str:
    return f"{seconds:.2f} s"


@contextlib.contextmanager
def deadline(seconds: int) -> Iterator[None]:
    """The whole bench is bounded in time: SIGALRM raises TimeoutError in the main thread."""

    def _expired(signum: int, frame: object) -> None:
        raise TimeoutError(f"bench/reminders.py: over --timeout {seconds} s")

    previous = signal.signal(signal.SIGALRM, _expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bench/reminders.py", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--rate", type=float, default=2000.0, help="LINE client calls/s limit")
    parser.add_argument("--send", type=int, default=20_000, help="recipients to really send to")
    parser.add_argument(
        "--keep", action="store_true", help="reuse a loaded database (skip loading)"
    )
    parser.add_argument(
        "--round-share",
        type=float,
        default=0.6,
        help="share of lots still holding their whole round amount (the rest: a random part)",
    )
    parser.add_argument(
        "--push-send",
        type=int,
        default=1000,
        help="then a run that meets only one-recipient messages, stopped after this many (0: skip)",
    )
    parser.add_argument("--profile", action="store_true", help="cProfile the send runs")
    parser.add_argument("--skip-ceiling", action="store_true", help="skip the emulator ceiling")
    parser.add_argument("--timeout", type=int, default=1800, help="give up after this many s")
    args = parser.parse_args(argv)
    url = args.database_url
    if make_url(normalize_database_url(url)).host not in {"127.0.0.1", "localhost"}:
        raise SystemExit("--database-url: this bench runs against 127.0.0.1 only")

    with deadline(args.timeout):
        return run_bench(args, url)


def run_bench(args: argparse.Namespace, url: str) -> int:
    policy = ReminderPolicy()  # the defaults: batch 500, quiet hours 21-9 JST, no own budget
    window = ReminderWindow.on(AS_OF, policy)
    print(
        f"as_of {AS_OF.isoformat()} (JST 2026-06-10 10:00): expiry {window.expiry_date}, "
        f"stage {window.stage}; database {make_url(normalize_database_url(url)).database}"
    )

    # 1. load ------------------------------------------------------------------------------------
    if args.keep and database_exists(url):
        engine = make_engine(url)
        counts = table_counts(engine)
        print(f"load: skipped (--keep); {counts}")
    else:
        if args.keep:
            print("load: --keep but no database yet; loading")
        recreate_database(url)
        engine = make_engine(url)
        started = time.perf_counter()
        timings = load(engine, args.members, args.round_share)
        total = time.perf_counter() - started
        counts = table_counts(engine)
        steps = ", ".join(f"{k} {v:.1f}s" for k, v in timings.items() if k != "seed")
        print(f"load: {fmt_s(total)} ({steps}); {counts}")
    truncate_run_state(engine)

    counter = StatementCounter()
    counter.install(engine)
    shape = due_shape(engine, policy)
    share = shape.multicast_recipients / shape.due if shape.due else 0.0
    print(
        f"due set: {shape.due:,} recipients, {shape.distinct_points:,} distinct point values -> "
        f"{shape.multicasts:,} multicasts + {shape.pushes:,} pushes = "
        f"{shape.multicasts + shape.pushes:,} calls; multicast share {share:.1%} of recipients; "
        f"{(shape.multicasts + shape.pushes) / max(1, shape.due):.4f} calls/recipient"
    )

    log_dir = Path(tempfile.mkdtemp(prefix="bench-reminders-"))
    emulator, emulator_url = start_emulator(log_dir / "emulator.log", CHANNEL_SECRET, ACCESS_TOKEN)
    try:
        settings = Settings(
            channel_secret=CHANNEL_SECRET,
            channel_access_token=ACCESS_TOKEN,
            database_url=url,
            line_api_base_url=emulator_url,
            line_rate_limit_per_second=args.rate,
        )
        runtime = build_runtime(settings, engine=engine, clock=FixedClock(AS_OF))
        control = EmulatorClient(emulator_url)
        line = LineClient(settings, limiter=TokenBucket(args.rate))
        deliverer = Deliverer(runtime, line)

        # 2. selection: the dry run streams the whole due set ------------------------------------
        counter.reset()
        reset_peak_rss()
        base_rss = rss_mb()
        dry, dry_seconds = timed(
            lambda: ReminderRun(runtime, line, deliverer, policy).run(AS_OF, dry_run=True)
        )
        dry_peak = peak_rss_mb()
        print(
            f"selection (dry run): {fmt_s(dry_seconds)} for {dry.due:,} due "
            f"({dry.due / dry_seconds:,.0f} rows/s), {dry.api_calls:,} calls planned; "
            f"SQL statements {counter.count} {counter.kinds}; "
            f"peak RSS {dry_peak:.0f} MB (at start {base_rss:.0f} MB)"
        )
        plan = explain(engine, policy)
        top = re.search(r"actual time=([\d.]+)\.\.([\d.]+)", plan[0])
        first_row = f"{float(top.group(1)) / 1000:.2f} s" if top else "?"
        print(f"EXPLAIN (ANALYZE, BUFFERS) of due_reminders_query (first row after {first_row}):")
        for line_text in plan[:28]:
            print("   " + line_text)
        if len(plan) > 28:
            print(f"   ... ({len(plan) - 28} more lines)")
            for line_text in plan[-3:]:
                print("   " + line_text)

        # 3. sending ------------------------------------------------------------------------------
        if not args.skip_ceiling:
            control.set_quota(10**12)
            push_ceiling, multicast_ceiling = emulator_ceiling(settings, seconds=3.0)
            print(
                f"emulator ceiling (one sender, no rate limit, no DB): push {push_ceiling:,.0f}"
                f" calls/s, multicast(500) {multicast_ceiling:,.0f} calls/s"
                f" = {multicast_ceiling * 500:,.0f} recipients/s"
            )
        phases = [("head", args.send)]
        if args.push_send > 0:
            phases.append(("pushes", args.push_send))
        for phase, quota in phases:
            truncate_run_state(engine)
            if phase == "pushes":
                preclaimed = preclaim_shared(engine, policy)
                print(
                    f"send [pushes]: {preclaimed:,} members whose points another member shares "
                    "marked as already told, so the run meets only one-recipient messages"
                )
            control.reset()
            control.set_quota(quota)
            measure_send(args, phase, quota, runtime, line, deliverer, policy, counter, control)
        emulator_peak = tree_peak_rss_mb(emulator.pid)
        if emulator_peak is not None:
            print(f"emulator process peak RSS {emulator_peak:.0f} MB (not ours)")
    finally:
        emulator.stop()
    print(
        f"this process: lifetime peak RSS {peak_rss_mb():.0f} MB since the last reset; "
        f"emulator log {emulator.log_path}"
    )
    engine.dispose()
    return 0


def measure_send(
    args: argparse.Namespace,
    phase: str,
    quota: int,
    runtime: Any,
    line: LineClient,
    deliverer: Deliverer,
    policy: ReminderPolicy,
    counter: StatementCounter,
    control: EmulatorClient,
) -> None:
    """One real run against the emulator, stopped by the emulator's quota (`quota` messages);
    the send figures come from the calls the emulator recorded (its receive times)."""
    counter.reset()
    reset_peak_rss()
    profile = cProfile.Profile() if args.profile else None
    started_wall = time.time()
    report, seconds = timed(
        lambda: ReminderRun(runtime, line, deliverer, policy).run(AS_OF), profile
    )
    peak = peak_rss_mb()
    _limit, used = line.message_quota()
    calls = [
        c
        for c in control.calls(MESSAGE_PATH)
        if c["status"] == 200 and c["path"].endswith(("/push", "/multicast"))
    ]
    print_send(args, phase, quota, report, seconds, started_wall, calls, counter, peak, used)
    if profile is not None:
        print_profile(profile)


def preclaim_shared(engine: Engine, policy: ReminderPolicy) -> int:
    """Claim (as if told) every due member whose points value another due member has."""
    window = ReminderWindow.on(AS_OF, policy)
    due = due_reminders_query(AS_OF, window, policy).subquery()
    counted = select(
        due.c.id,
        due.c.line_user_id,
        due.c.points,
        func.count().over(partition_by=due.c.points).label("n"),
    ).subquery()
    rows = select(
        counted.c.id,
        counted.c.line_user_id,
        literal(window.expiry_date),
        literal(window.stage),
        counted.c.points,
        literal(AS_OF),
    ).where(counted.c.n > 1)
    table = ReminderSend.__table__
    stmt = table.insert().from_select(
        [
            "member_pk",
            "line_user_id",
            "expiry_date",
            "stage",
            "points",
            "created_at",
        ],
        rows,
    )
    with engine.begin() as conn:
        conn.execute(stmt)
        claimed = int(conn.execute(select(func.count()).select_from(table)).scalar() or 0)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE reminder_sends")
    return claimed


def print_send(
    args: argparse.Namespace,
    phase: str,
    quota: int,
    report: ReminderReport,
    seconds: float,
    started_wall: float,
    calls: list[dict[str, Any]],
    counter: StatementCounter,
    peak: float,
    emulator_usage: int,
) -> None:
    tag = f"send [{phase}, quota {quota:,}]"
    print(
        f"{tag}: {fmt_s(seconds)} in all; sent {report.sent:,}, failed {report.failed:,}, "
        f"deferred {report.deferred:,}, skipped {report.skipped:,}, not sent {report.not_sent:,}"
        f" (stopped: {report.stopped}); {report.api_calls:,} API calls for "
        f"{report.messages:,} recipients; the emulator counted {emulator_usage:,} messages"
    )
    if not calls:
        print(f"{tag}: nothing was sent")
        return
    calls.sort(key=lambda c: c["at"])
    pushes = [c for c in calls if c["path"].endswith("/push")]
    multicasts = [c for c in calls if c["path"].endswith("/multicast")]
    multicast_recipients = sum(len(c["body"]["to"]) for c in multicasts)
    recipients = len(pushes) + multicast_recipients
    window = calls[-1]["at"] - calls[0]["at"]
    # Rates over the intervals between the first and the last call the emulator received.
    calls_rate = (len(calls) - 1) / window if window > 0 else float("nan")
    first_recipients = len(calls[0]["body"].get("to", [])) if calls[0] in multicasts else 1
    recipients_rate = (recipients - first_recipients) / window if window > 0 else float("nan")
    print(
        f"{tag}: first send {calls[0]['at'] - started_wall:.2f} s after the run began (the "
        f"query's sort); sending window (first to last call received) {window:.2f} s"
    )
    print(
        f"{tag}: send rate {calls_rate:,.1f} API calls/s vs configured {args.rate:,.0f} "
        f"({calls_rate / args.rate:.1%}; target >= 90%); {recipients_rate:,.0f} recipients/s"
    )
    print(
        f"{tag}: {len(pushes):,} pushes, {len(multicasts):,} multicasts with "
        f"{multicast_recipients:,} recipients; multicast share "
        f"{multicast_recipients / max(1, recipients):.1%} of recipients"
    )
    print(
        f"{tag}: LINE API calls per recipient {len(calls) / max(1, recipients):.4f};"
        f" SQL statements per API call {counter.count / max(1, len(calls)):.2f}"
        f" (whole run, selection included); all statements {counter.count:,} {counter.kinds}"
    )
    print(f"{tag}: peak RSS {peak:.0f} MB (target < 300 MB)")


if __name__ == "__main__":
    sys.exit(main())
