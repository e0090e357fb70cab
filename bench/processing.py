"""Processing bench: CPU per event of the worker side alone, drained from a recorded backlog.

    .venv/bin/python bench/processing.py --database-url postgresql://postgres@127.0.0.1/bench
    .venv/bin/python bench/processing.py --events 2000 --rounds 5

bench/webhook.py measures the whole path under load, where everything shares the machine and
one process's CPU moves with the others'. This one isolates the worker: each round records
`--events` text-message events (spread over `--users` users, each with a reply token the
emulator issued) straight into the database, then drains them in this process, one thread, with
the real router, LINE client and emulator (its own process, over HTTP). It prints per round:
events/s, this process's CPU ms per event, the emulator's and PostgreSQL's, the replies the
emulator recorded, and the machine reference (bench._procs.reference_ms: the machine's speed
drifts; compare rounds taken at similar references). It asserts nothing. The schema is migrated
to head if it is not; run tags are unique per run, so a database can be reused.
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

from bench._procs import (  # noqa: E402
    command_cpu_seconds,
    reference_ms,
    self_cpu_seconds,
    start_emulator,
    tree_cpu_seconds,
)
from bench.webhook import (  # noqa: E402
    ACCESS_TOKEN,
    CHANNEL_SECRET,
    REPLY_PATH,
    _base_env,
    bench_runtime,
    build_events,
    issue_tokens,
    prepare_database,
)
from emulator.client import EmulatorClient  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    import json

    from bot.services import Services
    from models.db import transaction
    from models.events import record_events

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--text", default="使い方")
    args = parser.parse_args(argv)

    run = f"{int(time.time()):x}"  # unique webhookEventIds per run
    workdir = Path(tempfile.mkdtemp(prefix="bench-processing-"))
    url = prepare_database(args.database_url, workdir)  # migrated; warns of a backlog
    emulator, emulator_url = start_emulator(
        workdir / "emulator.log", CHANNEL_SECRET, ACCESS_TOKEN, env=_base_env()
    )
    try:
        client = EmulatorClient(emulator_url)
        client.set_webhook_url(None)
        users = [client.create_user(f"bench{i:04d}")["user_id"] for i in range(args.users)]
        runtime = bench_runtime(url, workdir / "worker.log", emulator_url)
        services = Services(runtime)
        print(f"database {runtime.engine.url}; emulator {emulator_url}; logs in {workdir}")
        print(
            " round  events  events/s  ours ms/ev  emulator ms/ev  postgres ms/ev  replies"
            "  machine reference"
        )
        ours: list[float] = []
        for round_no in range(args.rounds):
            client.reset()
            run_users = [users[i % len(users)] for i in range(args.events)]
            tokens = issue_tokens(emulator_url, run_users)
            events = build_events(f"P{run}{round_no}", run_users, tokens, args.text, 1000.0)
            with transaction(runtime.session_factory) as session:
                record_events(
                    session,
                    [json.loads(e.body)["events"][0] for e in events],
                    runtime.clock.now(),
                )
            reference = reference_ms()
            before = (
                self_cpu_seconds(),
                tree_cpu_seconds(emulator.pid),
                command_cpu_seconds("postgres"),
            )
            started = time.perf_counter()
            done = services.processor.run_until_idle(max_events=10 * args.events)
            wall = time.perf_counter() - started
            cpu = (
                self_cpu_seconds() - before[0],
                tree_cpu_seconds(emulator.pid) - before[1],
                command_cpu_seconds("postgres") - before[2],
            )
            replies = len(client.calls(REPLY_PATH))
            per = [c / max(1, done) * 1000 for c in cpu]
            ours.append(per[0])
            print(
                f"{round_no + 1:>6}  {done:>6}  {done / wall:>8.0f}  {per[0]:>10.2f}  "
                f"{per[1]:>14.2f}  {per[2]:>14.2f}  {replies:>7}  {reference}"
            )
        if len(ours) > 1:
            print(f"ours ms/event: median {statistics.median(ours):.2f}, min {min(ours):.2f}")
        runtime.engine.dispose()
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
