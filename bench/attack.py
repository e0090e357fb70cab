"""Attack bench: reruns the fault, fuzz and race cases of issue 16 and prints their figures.

    .venv/bin/python bench/attack.py                     # every case, full size (a few minutes)
    .venv/bin/python bench/attack.py --small             # every case, small (about a minute)
    .venv/bin/python bench/attack.py --cases kill9 --trials 3 --events 600

It runs the production layout (gunicorn `web` with WEBHOOK_WORKERS=0 plus one `benesapo
worker`) on a PRIVATE PostgreSQL cluster it initdb's in a temp folder on a free port (never
the shared server: one case restarts it), against the LINE emulator in its own process.

Cases (a table, `CASES`: add one with a function that returns its figures):

- kill9: bursts of signed webhooks; mid-burst the worker gets SIGKILL and a new one starts at
  once. Duplicates (a user answered twice for one event) and lost events, summed over trials.
- pg_blip / pg_restart: a burst sent through the emulator (as LINE sends it) while the
  database is stopped for a moment (a blip) or for a restart of several seconds; once with
  the emulator's webhook redelivery off (LINE's default) and once with it on. 5xx answers
  and lost events of each.
- fuzz: signed bodies mutated from a valid one (wrong types, huge numbers, NUL, deep nesting,
  odd unicode, missing fields) sent to the webhook: 5xx answers.
- redeem_race: concurrent partner-API redemptions of a balance that pays for one: double spends.

Figures with an expected value print ok / NOT ok; it exits 1 when one is NOT ok.
"""

from __future__ import annotations

import argparse
import copy
import http.client
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench._pgcluster import DEFAULT_BIN, PrivateCluster  # noqa: E402
from bench._procs import Proc, free_port, start_emulator, wait_until  # noqa: E402
from bench.attack_figures import (  # noqa: E402
    Figure,
    delivered_by_user,
    double_spends,
    duplicates_and_lost,
    format_table,
    server_errors,
)
from bench.webhook import (  # noqa: E402
    ACCESS_TOKEN,
    CHANNEL_SECRET,
    CallCollector,
    Event,
    build_events,
    issue_tokens,
    ready,
    send_load,
    sign,
)
from emulator.client import EmulatorClient  # noqa: E402

BENESAPO = str(Path(sys.executable).with_name("benesapo"))


# -- the system under attack ----------------------------------------------------------------


@dataclass
class Stack:
    """The emulator, a private PostgreSQL, our web process and one worker."""

    args: argparse.Namespace
    workdir: Path
    cluster: PrivateCluster
    emulator: Proc
    emulator_url: str
    database_url: str
    env: dict[str, str]
    port: int = 0
    web: Proc | None = None
    worker: Proc | None = None
    users: list[str] = field(default_factory=list)
    _workers_started: int = 0

    @property
    def client(self) -> EmulatorClient:
        return EmulatorClient(self.emulator_url)

    def start(self) -> None:
        self.port = free_port()
        argv = [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            "2",
            "-k",
            "gthread",
            "--threads",
            "4",
            "-b",
            f"127.0.0.1:{self.port}",
            "--graceful-timeout",
            "5",
            "bot.app:create_app()",
        ]
        self.web = Proc("web", argv, env=self.env, log_path=self.workdir / "web.log")
        wait_until(lambda: ready(self.port), 60, "the web process", self.web)
        self.start_worker()
        client = self.client
        # LINE waits about 2 s for an answer (the emulator's default is a patient 10 s).
        client.set_webhook_url(f"http://127.0.0.1:{self.port}/callback", self.args.line_timeout)
        self.users = [client.create_user(f"attack{i:04d}")["user_id"] for i in range(200)]

    def start_worker(self) -> None:
        self._workers_started += 1
        n = self._workers_started
        self.worker = Proc(
            f"worker {n}",
            [BENESAPO, "worker", "--threads", "2"],
            env=self.env,
            log_path=self.workdir / f"worker{n}.log",
        )

    def kill_worker(self) -> None:
        """SIGKILL, as the OOM killer or a crashed host would: no clean-up runs."""
        assert self.worker is not None
        os.killpg(self.worker.pid, signal.SIGKILL)
        self.worker.popen.wait(10)
        self.worker.stop()

    def open_rows(self) -> int:
        """Events and outbox rows not finished yet (a later send may still come from them)."""
        from sqlalchemy import text

        from models.db import make_engine

        engine = make_engine(self.database_url)
        try:
            with engine.connect() as conn:
                return int(
                    conn.execute(
                        text(
                            "SELECT (SELECT count(*) FROM webhook_events WHERE status IN "
                            "('pending', 'processing', 'replying')) + (SELECT count(*) FROM "
                            "outgoing_messages WHERE status IN ('pending', 'sending'))"
                        )
                    ).scalar_one()
                )
        finally:
            engine.dispose()

    def stop(self) -> None:
        for proc in (self.worker, self.web):
            if proc is not None:
                proc.stop()


def settle(stack: Stack, collector: CallCollector, expected: int, timeout: float) -> None:
    """Wait until every event is answered and nothing is left open (no later send can come),
    or `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answered = sum(1 for c in collector.collect() if c["status"] == 200)
        if answered >= expected:
            try:
                if stack.open_rows() == 0:
                    return
            except Exception:  # noqa: BLE001 - the database may be starting up
                pass
        time.sleep(1.0)


def answer_figures(events: list[Event], calls: list[dict[str, Any]]) -> tuple[int, int]:
    """(duplicates, lost) of the events acknowledged with 200."""
    expected = Counter(e.user_id for e in events if e.status == 200)
    return duplicates_and_lost(
        expected, delivered_by_user(calls, {e.token: e.user_id for e in events})
    )


# -- kill -9 of the worker mid-burst ---------------------------------------------------------


def case_kill9(stack: Stack) -> list[Figure]:
    args = stack.args
    duplicates = lost = 0
    client = stack.client
    for trial in range(args.trials):
        client.reset()
        users = [stack.users[i % len(stack.users)] for i in range(args.events)]
        events = build_events(
            f"K{trial}", users, issue_tokens(stack.emulator_url, users), "使い方", args.rate
        )
        collector = CallCollector(client)
        stop = threading.Event()
        burst = args.events / args.rate
        kill_at = random.uniform(0.2, 0.8) * burst

        def killer(kill_at: float = kill_at) -> None:
            time.sleep(kill_at)
            stack.kill_worker()
            stack.start_worker()

        thread = threading.Thread(target=killer, daemon=True)
        thread.start()
        try:
            send_load(stack.port, events, args.rate, 16, stop)
            thread.join()
            settle(stack, collector, sum(1 for e in events if e.status == 200), args.settle)
            calls = collector.collect()
        finally:
            collector.stop()
        dup, miss = answer_figures(events, calls)
        print(
            f"  kill9 trial {trial + 1}: killed at {kill_at:.1f} s; duplicates {dup}, lost {miss}",
            flush=True,
        )
        duplicates += dup
        lost += miss
    return [
        Figure("kill9", f"duplicates in {args.trials} trials", duplicates),
        Figure("kill9", f"lost in {args.trials} trials", lost),
    ]


# -- PostgreSQL away mid-burst ---------------------------------------------------------------


def _deliver_burst(
    stack: Stack, events: list[Event], rate: float, outage: Callable[[], None], at: float
) -> None:
    """Send each event's body through the emulator (signed and posted as LINE does; it
    redelivers a failed one when its redelivery is on), `outage` starting `at` s in."""
    client = stack.client
    start = time.monotonic() + 0.2

    def send(event: Event) -> None:
        time.sleep(max(0.0, start + event.index / rate - time.monotonic()))
        event.sent_wall = time.time()
        result = client.deliver(json.loads(event.body))
        event.status = result.get("status")

    def outage_later() -> None:
        time.sleep(max(0.0, start + at - time.monotonic()))
        outage()

    side = threading.Thread(target=outage_later, daemon=True)
    side.start()
    with ThreadPoolExecutor(32) as pool:
        list(pool.map(send, events))
    side.join()


def tag_of(name: str) -> str:
    """pg_restart -> PR: the webhookEventId prefix of a case's events."""
    return "".join(part[0] for part in name.split("_")).upper()


def _outage_case(name: str, down: float) -> Callable[[Stack], list[Figure]]:
    def run(stack: Stack) -> list[Figure]:
        args = stack.args
        client = stack.client
        figures = []
        for redelivery in (False, True):
            client.reset()
            client.set_webhook_redelivery(redelivery)
            users = [stack.users[i % len(stack.users)] for i in range(args.pg_events)]
            tag = f"{tag_of(name)}{int(redelivery)}"  # unique: each event is new
            events = build_events(
                tag, users, issue_tokens(stack.emulator_url, users), "使い方", args.pg_rate
            )
            collector = CallCollector(client)
            away: list[float] = []
            try:
                _deliver_burst(
                    stack,
                    events,
                    args.pg_rate,
                    lambda away=away: away.append(stack.cluster.restart(down)),
                    args.pg_events / args.pg_rate / 3,
                )
                expected = len(events) if redelivery else sum(1 for e in events if e.status == 200)
                settle(stack, collector, expected, args.settle)
                if redelivery:  # the emulator's last redeliveries
                    wait_until(
                        lambda: client.pending_redeliveries() == 0, args.settle, "redeliveries"
                    )
                    settle(stack, collector, expected, args.settle)
                calls = collector.collect()
            finally:
                collector.stop()
            errors = server_errors(e.status for e in events)
            expected_users = Counter(e.user_id for e in events)  # every event LINE sent
            dup, lost = duplicates_and_lost(
                expected_users, delivered_by_user(calls, {e.token: e.user_id for e in events})
            )
            label = "redelivery on" if redelivery else "redelivery off"
            print(
                f"  {name} ({label}): database away {away[0]:.1f} s; {errors} first deliveries "
                f"answered 5xx; lost {lost}, duplicates {dup}",
                flush=True,
            )
            short = down < 1.0  # within the webhook's retry budget: nothing may be refused
            figures += [
                Figure(name, f"5xx ({label})", errors, 0 if short else None),
                Figure(name, f"lost ({label})", lost, 0 if (short or redelivery) else None),
                Figure(name, f"duplicates ({label})", dup),
            ]
        client.set_webhook_redelivery(False)
        return figures

    return run


# -- fuzzed webhook bodies -------------------------------------------------------------------


def fuzz_body(rng: random.Random, n: int) -> bytes:
    """A webhook body mutated from a valid one; some stay valid, most break a rule."""
    event: dict[str, Any] = {
        "type": "message",
        "mode": "active",
        "timestamp": int(time.time() * 1000),
        "source": {"type": "user", "userId": f"U{rng.getrandbits(128):032x}"},
        "webhookEventId": f"01FUZZ{n:020d}",
        "deliveryContext": {"isRedelivery": False},
        "replyToken": uuid.uuid4().hex,
        "message": {"id": str(n), "type": "text", "text": "使い方", "quoteToken": "q"},
    }
    odd: list[Any] = [
        None,
        True,
        -1,
        0,
        2**63,
        2**64,
        -(2**63) - 1,
        10**400,
        1e308,
        3.5,
        "",
        "\x00",
        "\ud800",
        "𠮷" * 300,
        "x" * 5000,
        [],
        {},
        [[[]]],
        {"a": {"b": {}}},
        "1700000000000",
        "NaN",
    ]
    for _ in range(rng.randint(1, 4)):
        target = rng.choice([event, *(v for v in event.values() if isinstance(v, dict))])
        key = rng.choice(list(target.keys()) + ["extra", "type", "text"])
        action = rng.random()
        if action < 0.15:
            target.pop(key, None)
        else:
            target[key] = copy.deepcopy(rng.choice(odd))
    body: Any = {"destination": "U" + "0" * 32, "events": [event]}
    shape = rng.random()
    if shape < 0.05:
        body = {"destination": "U0", "events": event}
    elif shape < 0.08:  # nested very deep: written out, json.dumps would recurse
        depth = rng.choice([100, 10_000, 100_000])
        return b'{"events": ' + b"[" * depth + b"]" * depth + b"}"
    elif shape < 0.10:
        body = rng.choice([[], "events", 1, None])
    raw = json.dumps(body, ensure_ascii=rng.random() < 0.5).encode("utf-8", "surrogatepass")
    if rng.random() < 0.03:
        raw = raw[: rng.randint(0, len(raw))]  # cut short
    return raw


def case_fuzz(stack: Stack) -> list[Figure]:
    rng = random.Random(16)
    bodies = [fuzz_body(rng, n) for n in range(stack.args.fuzz)]
    statuses: list[int | None] = [None] * len(bodies)
    local = threading.local()

    def post(index: int) -> None:
        raw = bodies[index]
        headers = {
            "Content-Type": "application/json",
            "X-Line-Signature": sign(raw, CHANNEL_SECRET),
        }
        for _ in range(2):  # a connection the server closed: once more on a new one
            conn = getattr(local, "conn", None) or http.client.HTTPConnection(
                "127.0.0.1", stack.port, timeout=30
            )
            local.conn = conn
            try:
                conn.request("POST", "/callback", body=raw, headers=headers)
                response = conn.getresponse()
                response.read()
                statuses[index] = response.status
                if response.will_close:
                    conn.close()
                    local.conn = None
                return
            except (OSError, http.client.HTTPException):
                conn.close()
                local.conn = None

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(post, range(len(bodies))))
    counts = Counter(statuses)
    print(f"  fuzz: statuses {dict(sorted(counts.items(), key=str))}", flush=True)
    return [Figure("fuzz", f"5xx or no answer of {len(bodies)} bodies", server_errors(statuses))]


# -- concurrent redemptions ------------------------------------------------------------------


def _benesapo(stack: Stack, *argv: str) -> str:
    done = subprocess.run(
        [BENESAPO, *argv], env=stack.env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    if done.returncode != 0:
        raise RuntimeError(f"benesapo {' '.join(argv)}: {done.stderr[-500:]}")
    return done.stdout


def case_redeem_race(stack: Stack) -> list[Figure]:
    n, price = stack.args.redemptions, 100
    api_key = _benesapo(stack, "apikey", "create", f"attack-{uuid.uuid4().hex[:6]}").split()[-1]
    issued = json.loads(
        _benesapo(
            stack,
            "company",
            "create",
            "--name",
            "攻撃テスト",
            "--seats",
            "1",
            "--contact-email",
            "hr@example.com",
            "--json",
        )
    )
    member_id = issued["members"][0]["member_id"]

    def call(path: str, body: dict[str, Any]) -> int:
        conn = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=30)
        try:
            conn.request(
                "POST",
                f"/api/v1{path}",
                body=json.dumps(body),
                headers={
                    "Authorization": f"Bearer {api_key}",
                    "Content-Type": "application/json",
                    "Idempotency-Key": uuid.uuid4().hex,
                },
            )
            response = conn.getresponse()
            response.read()
            return response.status
        finally:
            conn.close()

    granted = call(
        f"/members/{member_id}/grants",
        {"points": price, "source_ref": f"g-{uuid.uuid4().hex[:8]}", "reason": "attack bench"},
    )
    if granted != 201:
        raise RuntimeError(f"grant answered {granted}")
    barrier = threading.Barrier(n)

    def redeem(i: int) -> int:
        barrier.wait()
        return call(
            f"/members/{member_id}/redemptions",
            {"purchase_ref": f"p-{uuid.uuid4().hex[:8]}-{i}", "price": price, "points": price},
        )

    with ThreadPoolExecutor(n) as pool:
        statuses = list(pool.map(redeem, range(n)))
    successes = sum(1 for s in statuses if s == 201)
    print(
        f"  redeem_race: {n} concurrent redemptions of a {price}-point balance: "
        f"{dict(Counter(statuses))}",
        flush=True,
    )
    return [
        Figure(
            "redeem_race",
            f"double spends of {n} concurrent",
            double_spends(successes, price, price),
        ),
        Figure("redeem_race", "5xx", server_errors(statuses)),
    ]


@dataclass(frozen=True)
class Case:
    name: str
    what: str
    run: Callable[[Stack], list[Figure]]


CASES = [
    Case("kill9", "kill -9 of the worker mid-burst", case_kill9),
    Case("pg_blip", "PostgreSQL away 0.5 s mid-burst", _outage_case("pg_blip", 0.5)),
    Case(
        "pg_restart", "PostgreSQL restart (away 4.9 s) mid-burst", _outage_case("pg_restart", 4.9)
    ),
    Case("fuzz", "fuzzed signed webhook bodies", case_fuzz),
    Case("redeem_race", "concurrent redemptions", case_redeem_race),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Attack bench: fault, fuzz and race cases (issue 16)."
    )
    parser.add_argument(
        "--cases", default=",".join(c.name for c in CASES), help="comma-separated (all)"
    )
    parser.add_argument("--small", action="store_true", help="small runs of every case")
    parser.add_argument("--trials", type=int, default=10, help="kill9 trials (10)")
    parser.add_argument("--events", type=int, default=2000, help="events per kill9 burst (2000)")
    parser.add_argument("--rate", type=float, default=300.0, help="kill9 events/s (300)")
    parser.add_argument("--pg-events", type=int, default=600, help="events per outage burst (600)")
    parser.add_argument("--pg-rate", type=float, default=60.0, help="outage burst events/s (60)")
    parser.add_argument(
        "--line-timeout", type=float, default=2.0, help="s LINE waits for a webhook answer (2)"
    )
    parser.add_argument("--fuzz", type=int, default=10_000, help="fuzzed bodies (10000)")
    parser.add_argument("--redemptions", type=int, default=20, help="concurrent redemptions (20)")
    parser.add_argument(
        "--settle", type=float, default=420.0, help="max s to wait for answers (420)"
    )
    parser.add_argument("--pg-bin", type=Path, default=DEFAULT_BIN, help="PostgreSQL binaries")
    parser.add_argument("--keep", action="store_true", help="keep the work dir (logs)")
    args = parser.parse_args(argv)
    if args.small:
        args.trials, args.events, args.pg_events, args.fuzz = 2, 400, 240, 1000
    chosen = [c for c in CASES if c.name in args.cases.split(",")]
    unknown = set(args.cases.split(",")) - {c.name for c in CASES}
    if unknown:
        parser.error(f"unknown case(s): {', '.join(sorted(unknown))}")

    workdir = Path(tempfile.mkdtemp(prefix="bench-attack-"))
    cluster = PrivateCluster(args.pg_bin).init()
    cluster.start()
    emulator: Proc | None = None
    stack: Stack | None = None
    figures: list[Figure] = []
    try:
        database_url = cluster.create_database("attack")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        emulator, emulator_url = start_emulator(
            workdir / "emulator.log", CHANNEL_SECRET, ACCESS_TOKEN, env=env
        )
        env.update(
            {
                "LINE_CHANNEL_SECRET": CHANNEL_SECRET,
                "LINE_CHANNEL_ACCESS_TOKEN": ACCESS_TOKEN,
                "LINE_API_BASE_URL": emulator_url,
                "DATABASE_URL": database_url,
                "WEBHOOK_WORKERS": "0",
                "SECRET_KEY": "attack-bench-secret-key",
            }
        )
        _upgrade(database_url)
        stack = Stack(args, workdir, cluster, emulator, emulator_url, database_url, env)
        stack.start()
        print(
            f"private PostgreSQL on port {cluster.port}; emulator {emulator_url}; "
            f"logs in {workdir}",
            flush=True,
        )
        for case in chosen:
            print(f"[{case.name}] {case.what} ...", flush=True)
            started = time.monotonic()
            figures += case.run(stack)
            print(f"[{case.name}] {time.monotonic() - started:.0f} s", flush=True)
    finally:
        if stack is not None:
            stack.stop()
        if emulator is not None:
            emulator.stop()
        cluster.destroy()
        if args.keep:
            print(f"work dir kept: {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print()
    for line in format_table(figures):
        print(line)
    return 0 if all(f.ok is not False for f in figures) else 1


def _upgrade(url: str) -> None:
    from bot.migrate import upgrade_database
    from models.db import make_engine

    engine = make_engine(url)
    try:
        upgrade_database(engine)
    finally:
        engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
