"""Webhook path bench: CPU per acknowledged request of the web side alone, in this process.

    .venv/bin/python bench/webhook_path.py --database-url postgresql://postgres@127.0.0.1/bench
    .venv/bin/python bench/webhook_path.py --requests 3000 --rounds 5

bench/webhook.py measures the web process under load through gunicorn, where its CPU moves with
everything else on the machine. This one calls the app's WSGI entry point directly (Flask's
test client: no socket, no gunicorn), one thread, no workers, with signed one-event webhook
bodies as LINE sends them, and prints per round the CPU ms per request of this process and of
PostgreSQL, with the machine reference (bench._procs.reference_ms). It asserts nothing. The
schema is migrated to head if it is not; run tags are unique per run, so a database can be
reused.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench._procs import command_cpu_seconds, reference_ms, self_cpu_seconds  # noqa: E402
from bench.webhook import (  # noqa: E402
    bench_runtime,
    build_events,
    prepare_database,
)


def main(argv: list[str] | None = None) -> int:
    from bot.app import create_app

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)

    run = f"{int(time.time()):x}"  # unique webhookEventIds per run
    workdir = Path(tempfile.mkdtemp(prefix="bench-webhook-path-"))
    url = prepare_database(args.database_url, workdir)  # migrated
    # LINE is never called: no workers here.
    runtime = bench_runtime(url, workdir / "web.log", "http://127.0.0.1:9", webhook_workers=0)
    client = create_app(runtime=runtime, start_workers=False).test_client()
    users = [f"U{n:032x}" for n in range(args.users)]
    print(f"database {runtime.engine.url}; logs in {workdir}")
    print(" round  requests  ours ms/req  postgres ms/req  machine reference")
    ours: list[float] = []
    for round_no in range(args.rounds):
        run_users = [users[i % len(users)] for i in range(args.requests)]
        events = build_events(f"H{run}{round_no}", run_users, ["t"] * len(run_users), "使い方", 1e3)
        reference = reference_ms()
        before = self_cpu_seconds(), command_cpu_seconds("postgres")
        for event in events:
            response = client.post(
                "/callback",
                data=event.body,
                headers={"X-Line-Signature": event.signature, "Content-Type": "application/json"},
            )
            if response.status_code != 200:
                raise SystemExit(f"webhook answered {response.status_code}: {response.data!r}")
        per = [
            (self_cpu_seconds() - before[0]) / len(events) * 1000,
            (command_cpu_seconds("postgres") - before[1]) / len(events) * 1000,
        ]
        ours.append(per[0])
        print(f"{round_no + 1:>6}  {len(events):>8}  {per[0]:>11.3f}  {per[1]:>15.3f}  {reference}")
    if len(ours) > 1:
        print(f"ours ms/request: median {statistics.median(ours):.3f}, min {min(ours):.3f}")
    runtime.engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
