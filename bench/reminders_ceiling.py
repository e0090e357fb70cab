"""The reminder sender's own ceiling: `benesapo reminders run [--processes N]` against a
receiver that does nothing but answer 200 (bench/null_line.py), on PostgreSQL.

    .venv/bin/python bench/reminders_ceiling.py --database-url postgresql://postgres@127.0.0.1/bench_x
    .venv/bin/python bench/reminders_ceiling.py --processes 1,2,3 --rate 2000 --send 20000

Loads `--members` members (bench/reminders.py's loader) with one lot each expiring this month
and a points value no other member has, so every reminder is a one-recipient push. Then, for
each process count: a real run stopped by the receiver's quota after `--send` pushes, at the
configured LINE rate `--rate` (calls/s for the whole channel; each process gets its part), and
a dry run of the same processes (start-up and the due-set query, no sends). It prints:

- pushes/s: push calls the receiver answered per second of the sending window (its first to
  last call), and that as a share of `--rate` (target: >= 90 %);
- CPU ms per push: all CPU of the run's processes (the parent and its shard processes) per
  push call, and the marginal figure (run minus dry run: what sending costs, without Python's
  start-up and the selection query; target <= 0.5 ms, so 2,000 calls/s needs one core);
- PostgreSQL's CPU during the run, and a machine reference (bench/_procs.reference_ms).

It asserts nothing: it prints figures.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select, text  # noqa: E402

from bench._procs import Proc, command_cpu_seconds, reference_ms  # noqa: E402
from bench.reminders import AS_OF, load, recreate_database, truncate_run_state  # noqa: E402
from models.db import make_engine  # noqa: E402
from models.reminders import ReminderPolicy, ReminderWindow, due_reminders_query  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/bench_reminders_ceiling"
RUN_DATE = "2026-06-10"  # bench/reminders.py's AS_OF day (10:00 JST)

UNIQUE_POINTS = [
    # One lot per member this month, its points the member's own (member_pk + 100,000).
    "DELETE FROM point_lots WHERE source_ref LIKE 'b-%'",
    "UPDATE point_lots SET amount = member_pk + 100000, remaining = member_pk + 100000"
    " WHERE source_ref LIKE 'a-%'",
]


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def get_json(url: str, method: str = "GET") -> dict:
    request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def run_senders(processes: int, env: dict[str, str], dry_run: bool) -> tuple[dict, float, float]:
    """One `benesapo reminders run`; (its JSON report, CPU s of its processes, wall s)."""
    argv = [str(Path(sys.executable).with_name("benesapo")), "reminders", "run"]
    argv += ["--date", RUN_DATE, "--json", "--processes", str(processes)]
    argv += ["--dry-run"] if dry_run else []
    cpu_before, started = children_cpu(), time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, check=False)
    wall, cpu = time.perf_counter() - started, children_cpu() - cpu_before
    if done.returncode:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{done.stderr.decode()[-2000:]}")
    return json.loads(done.stdout.decode().strip().splitlines()[-1]), cpu, wall


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The reminder sender's own ceiling.")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--members", type=int, default=40_000)
    parser.add_argument("--rate", type=float, default=2000.0, help="LINE calls/s (the channel)")
    parser.add_argument("--send", type=int, default=20_000, help="pushes per run (the quota)")
    parser.add_argument("--processes", default="1,2", help="process counts, comma-separated")
    parser.add_argument("--keep", action="store_true", help="reuse the loaded database")
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.processes.split(",")]

    engine = make_engine(args.database_url)
    if not args.keep:
        engine.dispose()
        recreate_database(args.database_url)
        engine = make_engine(args.database_url)
        load(engine, args.members, round_share=0.0)
        with engine.begin() as conn:
            for statement in UNIQUE_POINTS:
                conn.execute(text(statement))
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    truncate_run_state(engine)
    policy = ReminderPolicy()
    window = ReminderWindow.on(AS_OF, policy)
    with engine.connect() as conn:
        due = conn.execute(
            select(func.count()).select_from(due_reminders_query(AS_OF, window, policy).subquery())
        ).scalar_one()
    print(f"due: {due:,} members, each a one-recipient push; {args.send:,} pushes per run")
    if due < args.send:
        print("warning: fewer due than --send; the run ends when everyone is told")

    workdir = Path(tempfile.mkdtemp(prefix="bench-reminders-ceiling-"))
    receiver = Proc(
        "null_line",
        [sys.executable, str(ROOT / "bench" / "null_line.py"), "--quota", str(args.send)],
        log_path=workdir / "null_line.log",
        stdout_pipe=True,
    )
    try:
        url = receiver.read_line(30)
        env = {
            **os.environ,
            "DATABASE_URL": args.database_url,
            "LINE_API_BASE_URL": url,
            "LINE_CHANNEL_SECRET": "bench-secret",
            "LINE_CHANNEL_ACCESS_TOKEN": "bench-token",
            "LINE_RATE_LIMIT_PER_SECOND": str(args.rate),
        }
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        print(f"receiver {url}; logs in {workdir}; machine reference {reference_ms()}")
        for processes in counts:
            truncate_run_state(engine)
            _dry, dry_cpu, dry_wall = run_senders(processes, env, dry_run=True)
            get_json(url + "/_reset", "POST")
            pg_before = command_cpu_seconds("postgres")
            report, cpu, wall = run_senders(processes, env, dry_run=False)
            pg = command_cpu_seconds("postgres") - pg_before
            stats = get_json(url + "/_stats")
            pushes = stats["calls"].get("/v2/bot/message/push", 0)
            window_s = (stats["last"] - stats["first"]) if pushes > 1 else float("nan")
            per_s = (pushes - 1) / window_s if pushes > 1 else 0.0
            print(
                f"processes {processes}: {pushes:,} pushes (report: sent {report['sent']:,}, "
                f"failed {report['failed']}, calls {report['api_calls']:,}) in {window_s:.2f} s "
                f"-> {per_s:,.0f} pushes/s = {per_s / args.rate:.0%} of {args.rate:,.0f}/s "
                f"configured; run {wall:.1f} s wall, CPU {cpu:.2f} s = "
                f"{1000 * cpu / max(1, pushes):.3f} ms/push; dry run {dry_wall:.1f} s wall, "
                f"CPU {dry_cpu:.2f} s -> marginal "
                f"{1000 * (cpu - dry_cpu) / max(1, pushes):.3f} ms CPU/push; "
                f"postgres {pg:.2f} s CPU ({1000 * pg / max(1, pushes):.3f} ms/push)",
                flush=True,
            )
    finally:
        receiver.stop()
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
