"""bench/webhook.py --profile: where our processes spend their CPU per event, and how many SQL
statements and round trips an event costs.

- py-spy samples the web server (gunicorn and its workers) and each worker process during the
  load (`py-spy record --nonblocking --format raw`); each sample is put in the stage of the
  deepest frame that names one (STAGES), and a stage's share of the samples times the process
  kind's measured CPU gives its milliseconds per event.
- `bench/_statcount/sitecustomize.py`, put on the processes' PYTHONPATH, counts the statements,
  transactions (not autocommit), pool checkouts and pings each process sends (SQLAlchemy
  engine and pool events). Round trips are estimated as statements + 2 per transaction (BEGIN,
  COMMIT) + pings.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

STATCOUNT_DIR = Path(__file__).resolve().parent / "_statcount"

# (stage, substrings of a py-spy frame "function (file:line)"); the deepest matching frame wins.
STAGES: dict[str, list[tuple[str, tuple[str, ...]]]] = {
    "web": [
        ("verify", ("validate (linebot/", "_verify_signature", "compare_digest")),
        ("parse", ("parse_webhook_body", "_decode (bot/webhook.py")),
        ("record", ("record_events", "record_retrying")),
        ("logging", ("logging/__init__.py", "log_fields", "access_log.py")),
        ("flask+gunicorn", ("flask/", "werkzeug/", "gunicorn/")),
    ],
    "worker": [
        ("claim", ("claim_next_events", "prefetch (bot/event_routing")),
        ("route", ("route_event",)),
        ("handler", ("dispatch (chat/router", "handlers/", "chat/")),
        ("outbox", ("queue_claimed", "_outbox_row", "new_outbox_row")),
        ("record", ("mark_done", "finish_replying", "record_sent")),
        ("send", ("send_many", "line_client", "urllib3/", "http/client")),
        ("commit", ("commit (sqlalchemy", "_commit_impl")),
        ("logging", ("logging/__init__.py", "log_fields", "_log_event", "_observe")),
        ("metrics", ("prometheus_client/",)),
        ("idle/poll", ("wait_for_work", "has_due", "LISTEN", "notifies", "wait (threading")),
    ],
}


def available() -> bool:
    return shutil.which("py-spy", path=str(Path(sys.executable).parent)) is not None


def statement_env(directory: Path) -> dict[str, str]:
    """Environment for our processes: the statement counter on."""
    directory.mkdir(parents=True, exist_ok=True)
    path = os.environ.get("PYTHONPATH")
    return {
        "BENESAPO_BENCH_STATEMENTS": str(directory),
        "PYTHONPATH": f"{STATCOUNT_DIR}{os.pathsep}{path}" if path else str(STATCOUNT_DIR),
    }


def statement_counts(directory: Path) -> dict[str, Counter[str]]:
    """{role: counts} summed over the processes' files."""
    totals: dict[str, Counter[str]] = {}
    for path in directory.glob("*.json"):
        role = path.name.split("-", 1)[0]
        try:
            counts = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        totals.setdefault(role, Counter()).update(counts)
    return totals


def backend_cpu_seconds(database_url: str) -> float:
    """CPU of the PostgreSQL backends connected to our database (not the whole server's, which
    other databases on a shared machine load too)."""
    from sqlalchemy import text

    from bench._procs import tree_cpu_seconds
    from models.db import make_engine

    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            pids = conn.execute(
                text(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid()"
                )
            ).scalars()
            return sum(tree_cpu_seconds(pid) for pid in pids)
    finally:
        engine.dispose()


class Sampler:
    """py-spy record on one process (and its children), stopped with SIGINT."""

    def __init__(self, kind: str, pid: int, output: Path) -> None:
        self.kind = kind
        self.output = output
        py_spy = str(Path(sys.executable).with_name("py-spy"))
        self.popen = subprocess.Popen(
            [py_spy, "record", "--pid", str(pid), "--subprocesses", "--nonblocking"]
            + ["--rate", "200", "--format", "raw", "--output", str(output)],
            stdout=subprocess.DEVNULL,
            stderr=open(output.with_suffix(".log"), "wb"),  # noqa: SIM115 - closed with the process
            start_new_session=True,
        )

    def stop(self) -> Counter[str]:
        """Samples per stage."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGINT)
        try:
            self.popen.wait(30)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(5)
        return classify(self.kind, self.output)


def classify(kind: str, raw: Path) -> Counter[str]:
    stages = STAGES[kind]
    counts: Counter[str] = Counter()
    if not raw.exists():
        return counts
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, number = line.rpartition(" ")
        if not number.isdigit():
            continue
        counts[_stage(stack.split(";"), stages)] += int(number)
    return counts


def _stage(frames: list[str], stages: list[tuple[str, tuple[str, ...]]]) -> str:
    for frame in reversed(frames):  # deepest first
        for stage, needles in stages:
            if any(needle in frame for needle in needles):
                return stage
    return "other"


def breakdown_lines(
    samples: dict[str, Counter[str]],
    cpu_seconds: dict[str, float],
    statements: dict[str, Counter[str]],
    events: int,
) -> list[str]:
    """The printed per-event figures."""
    lines = []
    for kind, counts in samples.items():
        total = sum(counts.values())
        cpu_ms = cpu_seconds.get(kind, 0.0) * 1000 / events
        if not total:
            lines.append(f"  {kind}: no samples")
            continue
        parts = ", ".join(
            f"{stage} {cpu_ms * n / total:.2f}"
            for stage, n in sorted(counts.items(), key=lambda item: -item[1])
        )
        lines.append(f"  {kind} CPU {cpu_ms:.2f} ms/event: {parts} (ms/event, py-spy shares)")
    for role, counts in sorted(statements.items()):
        names = ("statements", "transactions", "checkouts", "pings")
        per = {name: counts[name] / events for name in names}
        trips = per["statements"] + 2 * per["transactions"] + per["pings"]
        lines.append(
            f"  {role} SQL per event: {per['statements']:.2f} statements, "
            f"{per['transactions']:.2f} transactions, {per['checkouts']:.2f} pool checkouts, "
            f"{per['pings']:.2f} pings; ~{trips:.2f} round trips"
        )
    return lines
