"""Webhook bench: our bot vs an SDK-example echo bot, both in gunicorn, against the emulator.

    .venv/bin/python bench/webhook.py                       # 3000 events at 300/s, both bots
    .venv/bin/python bench/webhook.py --events 600 --rate 100 --only ours
    .venv/bin/python bench/webhook.py --database-url postgresql://user:pw@127.0.0.1/bench
    .venv/bin/python bench/webhook.py --rates 300,400,500,600   # capacity: one load per rate

For each bot in turn: start it in gunicorn (the command is printed), warm it up, then send N
signed webhook requests (one text-message event each, a unique webhookEventId, spread over
`--users` simulated users, timestamps increasing) at `--rate` per second from `--senders`
threads with a keep-alive connection each, open loop (each request is sent at its scheduled
time whatever the answers to earlier ones). It prints, per bot:

- events/s: webhook requests acknowledged with 200, per second of the sending window;
- ack p50/p99: time from sending a request to its response (the acknowledgement LINE waits for);
- reply p50/p99: time from sending the event to the emulator receiving the bot's reply (or the
  push that replaces it) for that event — both are this machine's wall clock;
- replies/s: events answered per second, from the first send to the last answer (this one
  also counts the last reply's latency: a bot that answers every event 30 ms later than another
  scores a little lower at the same rate);
- steady/s: replies per second while the load lasts (the median over the whole seconds of the
  sending window of the answers received in each): the reply throughput. A bot "keeps up" with
  a rate when it answers every event, its steady/s is the rate (within 1%) and no backlog
  builds up (reply p50 of the last tenth of the run under 1 s); drain: last answer - last send;
- errors: requests not answered 200, events never answered, and Messaging API calls the
  emulator refused;
- CPU seconds per process (ours split into web and worker, the emulator, this load generator,
  the whole PostgreSQL server), and a machine reference taken just before sending (a fixed
  pure-Python workload: this shared machine's speed drifts, so compare runs taken at similar
  references).

Every event carries a reply token the emulator itself issued just before the run (through the
bench-only endpoint that bench/_procs.py adds to the emulator it runs), so both bots can reply;
an event answered by push is matched to its user's oldest unanswered event. The emulator runs
in its own process; everything listens on 127.0.0.1 only. It asserts nothing: it prints figures.
Targets (issue 2, section 9): ack p99 < 100 ms at 300 events/s on 2 cores; our reply
throughput no lower than the echo bot's: at each rate, ours keeps up wherever the echo bot does
(and where neither does, ours has the higher steady/s). With `--rates` each bot takes one load
per rate in turn (started and warmed up once) and the highest rate it kept up with is printed:
its capacity on this machine.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import http.client
import json
import math
import shlex
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import _profile  # noqa: E402
from bench._procs import (  # noqa: E402
    Proc,
    command_cpu_seconds,
    free_port,
    reference_ms,
    self_cpu_seconds,
    start_emulator,
    tree_cpu_seconds,
    wait_until,
)
from emulator.client import EmulatorClient  # noqa: E402

CHANNEL_SECRET = "bench-channel-secret"
BENCH_SECRET_KEY = "bench-secret-key"
ACCESS_TOKEN = "bench-channel-access-token"
MESSAGE_PATH = "/v2/bot/message/"
REPLY_PATH = "/v2/bot/message/reply"
PUSH_PATH = "/v2/bot/message/push"
BOT_USER_ID = "U" + "b" * 32
WARMUP_EVENTS = 40


def sign(body: bytes, secret: str) -> str:
    """`X-Line-Signature`: base64 of HMAC-SHA256 of the exact body with the channel secret."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


# -- events ------------------------------------------------------------------------------------


@dataclass
class Event:
    index: int
    user_id: str
    token: str
    body: bytes = b""
    signature: str = ""
    sent_wall: float = math.nan  # time.time() when the request went out
    lag: float = 0.0  # how late (s) the sender was against the schedule
    ack: float = math.nan  # seconds from send to response
    status: int | None = None
    error: str | None = None
    delivered_at: float | None = None  # the emulator's receive time of the answer
    via: str | None = None


def build_events(
    run_tag: str, user_ids: list[str], tokens: list[str], text: str, rate: float
) -> list[Event]:
    base_ms = int(time.time() * 1000)
    events = []
    for i, (user_id, token) in enumerate(zip(user_ids, tokens, strict=True)):
        payload = {
            "destination": BOT_USER_ID,
            "events": [
                {
                    "type": "message",
                    "message": {
                        "type": "text",
                        "id": str(500_000_000_000_000 + i),
                        "quoteToken": f"q{run_tag}{i}",
                        "text": text,
                    },
                    "webhookEventId": f"01BENCH{run_tag}{i:010d}",
                    "deliveryContext": {"isRedelivery": False},
                    "timestamp": base_ms + int(i * 1000 / rate),
                    "source": {"type": "user", "userId": user_id},
                    "replyToken": token,
                    "mode": "active",
                }
            ],
        }
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        events.append(Event(i, user_id, token, body, sign(body, CHANNEL_SECRET)))
    return events


def issue_tokens(emulator_url: str, user_ids: list[str]) -> list[str]:
    client = EmulatorClient(emulator_url)
    tokens: list[str] = []
    for start in range(0, len(user_ids), 1000):
        chunk = user_ids[start : start + 1000]
        response = client.session.post(
            emulator_url + "/_bench/reply-tokens", json={"user_ids": chunk}, timeout=30
        )
        response.raise_for_status()
        tokens.extend(response.json()["tokens"])
    return tokens


# -- load ----------------------------------------------------------------------------------------


def send_load(
    port: int, events: list[Event], rate: float, senders: int, stop: threading.Event
) -> tuple[float, float]:
    """Send every event at its scheduled time; returns (first send, last ack) as time.time()."""
    start = time.monotonic() + 0.2
    hard_deadline = start + len(events) / rate + 60.0
    lock = threading.Lock()
    next_index = [0]

    def sender() -> None:
        conn: http.client.HTTPConnection | None = None
        try:
            while not stop.is_set():
                with lock:
                    i = next_index[0]
                    next_index[0] += 1
                if i >= len(events):
                    return
                event = events[i]
                due = start + i / rate
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                now = time.monotonic()
                if now > hard_deadline:
                    event.error = "not sent (deadline)"
                    continue
                event.lag = max(0.0, now - due)
                headers = {
                    "Content-Type": "application/json; charset=utf-8",
                    "User-Agent": "LineBotWebhook/2.0",
                    "X-Line-Signature": event.signature,
                }
                event.sent_wall = time.time()
                t0 = time.perf_counter()
                try:
                    if conn is None:
                        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
                    conn.request("POST", "/callback", body=event.body, headers=headers)
                    response = conn.getresponse()
                    response.read()
                    event.ack = time.perf_counter() - t0
                    event.status = response.status
                    if response.will_close:
                        conn.close()
                        conn = None
                except (OSError, http.client.HTTPException) as exc:
                    event.ack = time.perf_counter() - t0
                    event.error = type(exc).__name__
                    if conn is not None:
                        conn.close()
                    conn = None
        finally:
            if conn is not None:
                conn.close()

    threads = [
        threading.Thread(target=sender, name=f"sender-{n}", daemon=True) for n in range(senders)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive():
            thread.join(0.2)  # short joins so Ctrl-C is seen
            if time.monotonic() > hard_deadline + 20:
                stop.set()
                break
    sent = [e.sent_wall for e in events if not math.isnan(e.sent_wall)]
    acked = [e.sent_wall + e.ack for e in events if not math.isnan(e.ack)]
    return (min(sent) if sent else math.nan, max(acked) if acked else math.nan)


# -- answers -------------------------------------------------------------------------------------


@dataclass
class Answers:
    calls: int = 0
    refused: int = 0  # Messaging API calls the emulator answered with an error
    refused_detail: dict[str, int] = field(default_factory=dict)


def match_answers(events: list[Event], calls: list[dict[str, Any]]) -> Answers:
    """Mark each event with the time its answer reached the emulator (reply, else push)."""
    by_token = {e.token: e for e in events}
    by_user: dict[str, list[Event]] = {}
    for event in events:
        event.delivered_at, event.via = None, None
        by_user.setdefault(event.user_id, []).append(event)
    answers = Answers(calls=len(calls))
    pushes: list[dict[str, Any]] = []
    for call in sorted(calls, key=lambda c: c["at"]):
        body = call.get("body") or {}
        if call["status"] != 200:
            answers.refused += 1
            key = f"{call['path'].rsplit('/', 1)[-1]} {call['status']}"
            answers.refused_detail[key] = answers.refused_detail.get(key, 0) + 1
            continue
        if call["path"] == REPLY_PATH:
            event = by_token.get(body.get("replyToken"))
            if event is not None and event.delivered_at is None:
                event.delivered_at, event.via = call["at"], "reply"
        elif call["path"] == PUSH_PATH:
            pushes.append(call)
    for call in pushes:  # a push answers its user's oldest event not answered yet
        for event in by_user.get(call["body"].get("to"), []):
            if event.delivered_at is None and event.sent_wall <= call["at"]:
                event.delivered_at, event.via = call["at"], "push"
                break
    return answers


class CallCollector:
    """Collects the emulator's recorded message calls in the background, a few hundred at a
    time, from the start of sending: fetching thousands at the end would keep the emulator
    busy just as the last answers arrive, and delay them."""

    def __init__(self, client: EmulatorClient, every: float = 0.25) -> None:
        self.client = client
        self.every = every
        self.calls: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="call-collector", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.collect()

    def collect(self) -> list[dict[str, Any]]:
        with self._lock:
            self.calls.extend(self.client.calls(MESSAGE_PATH, after=len(self.calls)))
            return list(self.calls)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


def wait_for_answers(
    collector: CallCollector,
    events: list[Event],
    timeout: float,
    idle: float,
    stop: threading.Event,
) -> Answers:
    """Wait until every sent event has an answer, or no progress for `idle` s."""
    expected = sum(1 for e in events if e.status == 200)
    deadline = time.monotonic() + timeout
    last_count, last_change = -1, time.monotonic()
    answers = Answers()
    while not stop.is_set():
        answers = match_answers(events, collector.collect())
        count = sum(1 for e in events if e.delivered_at is not None)
        now = time.monotonic()
        if count != last_count:
            last_count, last_change = count, now
        if count >= expected or now > deadline or now - last_change > idle:
            break
        time.sleep(0.5)
    return answers


# -- figures -------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Result:
    bot: str
    rate: float
    events: int
    acked: int
    events_per_s: float
    ack_p50: float
    ack_p99: float
    ack_max: float
    answered: int
    via_reply: int
    via_push: int
    reply_p50: float
    reply_p99: float
    replies_per_s: float
    errors: int
    error_detail: dict[str, int]
    max_lag_ms: float
    cpu: dict[str, float]
    command: str
    reference: str = "-"  # bench._procs.reference_ms just before sending
    reply_p50_by_tenth: list[float] = field(default_factory=list)  # does a backlog build up?
    out_of_order: int = 0  # answers that reached a user before the answer to an earlier event
    recorded_late: int | None = None  # ours: events recorded after a later event of their user
    steady_per_s: float = math.nan  # replies per second while the load lasts (steady_rate)
    drain_ms: float = math.nan  # last answer - last send

    @property
    def kept_up(self) -> bool:
        """Answered every event, at the offered rate (1% for the sender's own jitter), with
        no backlog building up (the last tenth's reply p50 under a second)."""
        return (
            self.errors == 0
            and self.answered == self.events
            and self.steady_per_s >= 0.99 * self.rate
            and bool(self.reply_p50_by_tenth)
            and self.reply_p50_by_tenth[-1] < 1000
        )


def steady_rate(sent: list[float], delivered: list[float]) -> float:
    """Replies per second while the load lasts: the answers received in each whole second of
    the sending window, leaving out its first second (ramp-up) and its last, partial one; the
    median over those seconds. A bot that keeps up scores the offered rate whatever its reply
    latency (that is the latency's figure); one that falls behind scores what it manages.
    Runs under 3 s: answers / (first send -> last answer)."""
    if not sent or not delivered:
        return 0.0
    start, span = min(sent), max(sent) - min(sent)
    seconds = int(span)
    if seconds < 3:
        return len(delivered) / max(1e-9, max(delivered) - start)
    counts = [0] * seconds
    for at in delivered:
        k = int(at - start)
        if 0 <= k < seconds:
            counts[k] += 1
    return float(statistics.median(counts[1:-1]))


def summarize(
    bot: str,
    rate: float,
    events: list[Event],
    answers: Answers,
    window: tuple[float, float],
    cpu: dict[str, float],
    command: str,
) -> Result:
    ok = [e for e in events if e.status == 200]
    first_send, last_ack = window
    span = last_ack - first_send if ok else math.nan
    answered = [e for e in events if e.delivered_at is not None]
    reply_lat = [e.delivered_at - e.sent_wall for e in answered]  # type: ignore[operator]
    last_answer = max((e.delivered_at for e in answered), default=math.nan)  # type: ignore[type-var]
    detail: dict[str, int] = {}
    for event in events:
        if event.status != 200:
            key = event.error or f"HTTP {event.status}"
            detail[key] = detail.get(key, 0) + 1
    unanswered = sum(1 for e in ok if e.delivered_at is None)
    if unanswered:
        detail["never answered"] = unanswered
    for key, count in answers.refused_detail.items():
        detail[f"LINE {key}"] = count
    ack = [e.ack for e in ok]
    last_answer_to: dict[str, float] = {}
    out_of_order = 0
    for event in sorted(answered, key=lambda e: e.index):
        previous = last_answer_to.get(event.user_id, -math.inf)
        if event.delivered_at < previous:  # type: ignore[operator]
            out_of_order += 1
        last_answer_to[event.user_id] = max(previous, event.delivered_at)  # type: ignore[type-var]
    tenths = []
    for tenth in range(10):
        part = events[tenth * len(events) // 10 : (tenth + 1) * len(events) // 10]
        latencies = [e.delivered_at - e.sent_wall for e in part if e.delivered_at is not None]
        tenths.append(percentile(latencies, 50) * 1000)
    return Result(
        bot=bot,
        rate=rate,
        events=len(events),
        acked=len(ok),
        events_per_s=len(ok) / span if span and span > 0 else math.nan,
        ack_p50=percentile(ack, 50) * 1000,
        ack_p99=percentile(ack, 99) * 1000,
        ack_max=max(ack, default=math.nan) * 1000,
        answered=len(answered),
        via_reply=sum(1 for e in answered if e.via == "reply"),
        via_push=sum(1 for e in answered if e.via == "push"),
        reply_p50=percentile(reply_lat, 50) * 1000,
        reply_p99=percentile(reply_lat, 99) * 1000,
        replies_per_s=(len(answered) / (last_answer - first_send) if answered else 0.0),
        errors=sum(detail.values()),
        error_detail=detail,
        max_lag_ms=max((e.lag for e in events), default=0.0) * 1000,
        cpu=cpu,
        command=command,
        out_of_order=out_of_order,
        reply_p50_by_tenth=tenths,
        steady_per_s=steady_rate(
            [e.sent_wall for e in ok],
            [e.delivered_at for e in answered],  # type: ignore[misc]
        ),
        drain_ms=(last_answer - max(e.sent_wall for e in ok)) * 1000 if ok else math.nan,
    )


def fmt(value: float, digits: int = 1) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def print_table(results: list[Result]) -> None:
    header = (
        "bot",
        "rate",
        "events/s",
        "ack p50",
        "ack p99",
        "ack max",
        "reply p50",
        "reply p99",
        "replies/s",
        "steady/s",
        "answered",
        "errors",
    )
    rows = [
        (
            r.bot,
            fmt(r.rate, 0),
            fmt(r.events_per_s),
            fmt(r.ack_p50),
            fmt(r.ack_p99),
            fmt(r.ack_max),
            fmt(r.reply_p50),
            fmt(r.reply_p99),
            fmt(r.replies_per_s),
            fmt(r.steady_per_s),
            f"{r.answered}/{r.events}",
            str(r.errors),
        )
        for r in results
    ]
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
    print()
    print("  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True)))
    for row in rows:
        print("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)))
    print("(latencies in ms; reply = event sent -> its reply or push received by the emulator)")
    for r in results:
        cpu = ", ".join(f"{k} {v:.1f}" for k, v in r.cpu.items())
        print(
            f"{r.bot} at {r.rate:g}/s: answered via reply {r.via_reply}, via push {r.via_push}, "
            f"out of order {r.out_of_order}"
            + (f" (recorded late {r.recorded_late})" if r.recorded_late is not None else "")
            + f"; drain {fmt(r.drain_ms, 0)} ms; "
            f"sender max lag {r.max_lag_ms:.0f} ms; CPU s: {cpu}; "
            f"machine reference {r.reference} (lower: faster)"
        )
        print(
            f"{r.bot} at {r.rate:g}/s: reply p50 by tenth of the run (ms): "
            + " ".join(fmt(value, 0) for value in r.reply_p50_by_tenth)
        )
        if r.error_detail:
            print(f"{r.bot}: errors: {json.dumps(r.error_detail, ensure_ascii=False)}")
    for rate in sorted({r.rate for r in results}):
        by_bot = {r.bot: r for r in results if r.rate == rate}
        ours, echo = by_bot.get("ours"), by_bot.get("echo")
        if ours is not None:
            met = ours.ack_p99 < 100 and ours.errors == 0
            print(
                f"target ack p99 < 100 ms at {rate:.0f}/s: ours {fmt(ours.ack_p99)} ms "
                f"-> {'met' if met else 'NOT met'}"
            )
        if ours is not None and echo is not None:
            # Both offered the same load: if the echo bot keeps up with it, ours must too; if
            # neither does, ours must answer at least as many per second.
            met = ours.kept_up if echo.kept_up else ours.steady_per_s >= echo.steady_per_s
            print(
                f"target reply throughput no lower than echo's at {rate:.0f}/s: ours "
                f"{fmt(ours.steady_per_s)}/s ({'kept up' if ours.kept_up else 'fell behind'}), "
                f"echo {fmt(echo.steady_per_s)}/s "
                f"({'kept up' if echo.kept_up else 'fell behind'}) -> {'met' if met else 'NOT met'}"
            )
    if len({r.rate for r in results}) > 1:
        for bot in dict.fromkeys(r.bot for r in results):
            kept = [r.rate for r in results if r.bot == bot and r.kept_up]
            best = f"{max(kept):g} events/s at most" if kept else "none of these rates"
            print(f"{bot}: kept up with {best}")


# -- one bot ---------------------------------------------------------------------------------


@dataclass
class BotSpec:
    name: str
    app: str
    env: dict[str, str]
    workers: list[list[str]] = field(default_factory=list)  # extra processes (argv each)
    procfile: bool = False  # run as the Procfile's `web` line (its gunicorn config and options)


def procfile_web_argv(port: int) -> list[str]:
    """The Procfile's `web` command, on 127.0.0.1:`port`, run with this Python."""
    line = next(
        line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:")
    )
    argv = shlex.split(line.removeprefix("web:"))
    argv[argv.index("--bind") + 1] = f"127.0.0.1:{port}"
    return [sys.executable, "-m", *argv]


def gunicorn_argv(app: str, port: int, args: argparse.Namespace) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "-w",
        str(args.workers),
        "-k",
        "gthread",
        "--threads",
        str(args.threads),
        "-b",
        f"127.0.0.1:{port}",
        "--graceful-timeout",
        "5",
        app,
    ]


def ready(port: int) -> bool:
    body = json.dumps({"destination": BOT_USER_ID, "events": []}).encode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request(
            "POST",
            "/callback",
            body=body,
            headers={
                "Content-Type": "application/json",
                "X-Line-Signature": sign(body, CHANNEL_SECRET),
            },
        )
        return conn.getresponse().status == 200
    finally:
        conn.close()


def run_bot(
    spec: BotSpec,
    args: argparse.Namespace,
    emulator: Proc,
    emulator_url: str,
    users: list[str],
    workdir: Path,
    stop: threading.Event,
) -> list[Result]:
    """Start the bot, warm it up, then send one load per rate in `args.rates`, in turn."""
    client = EmulatorClient(emulator_url)
    port = free_port()
    argv = procfile_web_argv(port) if spec.procfile else gunicorn_argv(spec.app, port, args)
    env_shown = " ".join(
        f"{k}={shlex.quote(v)}"
        for k, v in spec.env.items()
        if k in {"DATABASE_URL", "WEBHOOK_WORKERS", "LINE_API_BASE_URL"}
    )
    python = Path(sys.executable)
    shown_python = python.relative_to(ROOT) if python.is_relative_to(ROOT) else python
    command = f"{env_shown} {shlex.join([str(shown_python), *argv[1:]])}".strip()
    print(f"[{spec.name}] {command}", flush=True)
    env = {**_base_env(), **spec.env}
    if args.profile and spec.name == "ours":
        env.update(_profile.statement_env(workdir / "statements"))
    for worker_argv in spec.workers:
        print(f"[{spec.name}] {shlex.join([str(shown_python), *worker_argv[1:]])}", flush=True)
    server = Proc(f"gunicorn ({spec.name})", argv, env=env, log_path=workdir / f"{spec.name}.log")
    workers = [
        Proc(f"worker {n}", worker_argv, env=env, log_path=workdir / f"{spec.name}-worker{n}.log")
        for n, worker_argv in enumerate(spec.workers)
    ]
    processes = [server, *workers]
    try:
        wait_until(lambda: ready(port), 60, f"{spec.name} on port {port}", server)
        time.sleep(0.5)  # let every gunicorn worker come up, not only the first

        # Warm-up: a few events through every worker, answered, then forgotten.
        client.reset()
        warm_users = [users[i % len(users)] for i in range(WARMUP_EVENTS)]
        warm = build_events(
            "W" + spec.name[:2].upper(),
            warm_users,
            issue_tokens(emulator_url, warm_users),
            args.text,
            50.0,
        )
        collector = CallCollector(client)
        try:
            send_load(port, warm, 50.0, 4, stop)
            wait_for_answers(collector, warm, timeout=20, idle=5, stop=stop)
        finally:
            collector.stop()
        results = []
        for n, rate in enumerate(args.rates):
            tag = f"{spec.name[:2].upper()}{n}"
            load = Load(tag, rate, port, processes, emulator, emulator_url, client, workdir)
            results.append(run_load(spec, load, args, users, command, stop))
        return results
    finally:
        for process in processes:
            process.stop()


@dataclass
class Load:
    tag: str  # makes this load's webhookEventIds unique
    rate: float
    port: int
    processes: list[Proc]  # the bot's (gunicorn first)
    emulator: Proc
    emulator_url: str
    client: EmulatorClient
    workdir: Path


def run_load(
    spec: BotSpec,
    load: Load,
    args: argparse.Namespace,
    users: list[str],
    command: str,
    stop: threading.Event,
) -> Result:
    """One load at one rate against a running, warmed-up bot; its figures."""
    load.client.reset()
    run_users = [users[i % len(users)] for i in range(args.events)]
    tokens = issue_tokens(load.emulator_url, run_users)
    events = build_events(load.tag, run_users, tokens, args.text, load.rate)
    processes = load.processes
    cpu_before = (
        [tree_cpu_seconds(p.pid) for p in processes],
        tree_cpu_seconds(load.emulator.pid),
        command_cpu_seconds("postgres"),
    )
    reference = reference_ms()
    self_before = self_cpu_seconds()
    print(
        f"[{spec.name}] sending {args.events} events at {load.rate:g}/s "
        f"from {args.senders} threads ...",
        flush=True,
    )
    profiling = args.profile and spec.name == "ours"
    samplers = _start_samplers(load) if profiling else []
    statements_before = _profile.statement_counts(load.workdir / "statements")
    database_url = spec.env.get("DATABASE_URL", "")
    backends = profiling and "postgres" in database_url
    backends_before = _profile.backend_cpu_seconds(database_url) if backends else 0.0
    collector = CallCollector(load.client)
    try:
        window = send_load(load.port, events, load.rate, args.senders, stop)
        timeout = max(60.0, args.events / load.rate * 4)
        answers = wait_for_answers(collector, events, timeout=timeout, idle=args.idle, stop=stop)
    finally:
        collector.stop()
    ours = [tree_cpu_seconds(p.pid) - b for p, b in zip(processes, cpu_before[0], strict=True)]
    cpu = {spec.name: sum(ours)}
    if len(processes) > 1:
        cpu["of which web"] = ours[0]
    cpu["emulator"] = tree_cpu_seconds(load.emulator.pid) - cpu_before[1]
    cpu["load generator"] = self_cpu_seconds() - self_before
    postgres = command_cpu_seconds("postgres") - cpu_before[2]
    if postgres > 0:
        cpu["postgres (whole server)"] = postgres
    if profiling:
        if backends:  # the same pooled connections, before and after
            cpu["postgres (our database's backends)"] = (
                _profile.backend_cpu_seconds(database_url) - backends_before
            )
        _print_profile(load, samplers, statements_before, ours, len(events))
    if stop.is_set():
        raise KeyboardInterrupt
    result = summarize(spec.name, load.rate, events, answers, window, cpu, command)
    result.reference = reference
    if "DATABASE_URL" in spec.env:
        result.recorded_late = recorded_late(spec.env["DATABASE_URL"], load.tag)
    return result


def _start_samplers(load: Load) -> list[_profile.Sampler]:
    web, *workers = load.processes
    out = load.workdir
    return [
        _profile.Sampler("web", web.pid, out / f"pyspy-{load.tag}-web.txt"),
        *(
            _profile.Sampler("worker", w.pid, out / f"pyspy-{load.tag}-worker{n}.txt")
            for n, w in enumerate(workers)
        ),
    ]


def _print_profile(
    load: Load,
    samplers: list[_profile.Sampler],
    statements_before: dict[str, Any],
    cpu: list[float],
    events: int,
) -> None:
    time.sleep(1.0)  # the processes write their statement counts twice a second
    after = _profile.statement_counts(load.workdir / "statements")
    statements = {
        role: counts - statements_before.get(role, Counter()) for role, counts in after.items()
    }
    samples: dict[str, Counter[str]] = {}
    for sampler in samplers:
        samples.setdefault(sampler.kind, Counter()).update(sampler.stop())
    seconds = {"web": cpu[0], "worker": sum(cpu[1:])}
    print(f"[ours] profile ({load.workdir}/pyspy-{load.tag}-*.txt):", flush=True)
    for line in _profile.breakdown_lines(samples, seconds, statements, events):
        print(line, flush=True)


def recorded_late(database_url: str, tag: str) -> int:
    """Events of this load that reached our database after a later event of the same user (the
    sender's requests overtook each other): the bot can only answer a user's events in order
    among those it has, so these explain answers out of order."""
    from sqlalchemy import text

    from models.db import make_engine

    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    text(
                        "SELECT count(*) FROM (SELECT id, lag(id) OVER (PARTITION BY user_key "
                        "ORDER BY occurred_at, id) AS previous FROM webhook_events "
                        "WHERE webhook_event_id LIKE :pattern) AS t WHERE previous > id"
                    ),
                    {"pattern": f"01BENCH{tag}%"},
                ).scalar_one()
            )
    finally:
        engine.dispose()


def _base_env() -> dict[str, str]:
    import os

    env = dict(os.environ)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def bench_runtime(url: str, log_path: Path, line_api_base_url: str, **settings: Any) -> Any:
    """Our runtime in this process, as a `benesapo` process builds it: the bench's channel, its
    JSON logs to `log_path` (bench/processing.py, bench/webhook_path.py)."""
    from adapters.runtime import build_runtime
    from common.config import Settings
    from common.logging_setup import configure_logging

    configure_logging(stream=open(log_path, "w"))  # noqa: SIM115 - the process's log, to its end
    return build_runtime(
        Settings(
            channel_secret=CHANNEL_SECRET,
            channel_access_token=ACCESS_TOKEN,
            database_url=url,
            line_api_base_url=line_api_base_url,
            secret_key=BENCH_SECRET_KEY,
            **settings,
        )
    )


def prepare_database(url: str | None, workdir: Path) -> str:
    from sqlalchemy.orm import Session

    from bot.migrate import upgrade_database
    from models.db import make_engine
    from models.events import backlog_size

    url = url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    engine = make_engine(url)
    try:
        upgrade_database(engine)  # as `benesapo db upgrade` does (with the NOTIFY trigger)
        with Session(engine) as session:
            backlog = backlog_size(session)
        if backlog:
            print(
                f"warning: the database already holds {backlog} open events; the bot works "
                "them off first, which spoils the figures (use a fresh database)",
                file=sys.stderr,
            )
    finally:
        engine.dispose()
    return url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Webhook bench: our bot vs an SDK-example echo bot (gunicorn + emulator).",
    )
    parser.add_argument("--events", type=int, default=3000, help="events per bot (3000)")
    parser.add_argument("--rate", type=float, default=300.0, help="target events/s (300)")
    parser.add_argument(
        "--rates",
        help="several rates, comma-separated (e.g. 300,400,500): one load each, in turn, "
        "against the same running bot; prints the highest rate each bot kept up with",
    )
    parser.add_argument(
        "--database-url",
        help="our bot's database (default: a fresh SQLite file); tables are created if missing",
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (2)")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn gthread threads (4)")
    parser.add_argument(
        "--webhook-workers",
        type=int,
        default=2,
        help="our processing threads per process (2)",
    )
    parser.add_argument(
        "--worker-processes",
        type=int,
        default=None,
        help="run our processing in this many `benesapo worker` processes (WEBHOOK_WORKERS=0 "
        "on web, --webhook-workers threads each), as the Procfile does; 0: in the web process "
        "(WEBHOOK_WORKERS=--webhook-workers). Default: 1 on PostgreSQL (workers are woken by "
        "NOTIFY), 0 on SQLite (a separate worker could only poll)",
    )
    parser.add_argument(
        "--worker-nice", type=int, default=0, help="`benesapo worker --nice` for those processes"
    )
    parser.add_argument(
        "--procfile-web",
        action="store_true",
        help="start ours as the Procfile's `web` line (its gunicorn config, access log and "
        "--workers; on SQLite bot.gunicorn_conf makes it one process that processes events)",
    )
    parser.add_argument("--only", choices=("ours", "echo"), help="bench one bot only")
    parser.add_argument("--users", type=int, default=200, help="simulated users (200)")
    parser.add_argument("--senders", type=int, default=32, help="sending threads (32)")
    parser.add_argument("--text", default="使い方", help="the message every event carries")
    parser.add_argument(
        "--idle", type=float, default=15.0, help="stop waiting for answers after s without one"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work dir (logs, database)")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="ours: py-spy on web and worker, SQL statements counted; prints CPU per event by "
        "stage and statements / round trips per event (bench/_profile.py)",
    )
    args = parser.parse_args(argv)
    if args.worker_processes is None:
        args.worker_processes = 1 if (args.database_url or "").startswith("postgres") else 0
    args.rates = [float(r) for r in args.rates.split(",")] if args.rates else [args.rate]
    if args.events < 1 or min(args.rates) <= 0 or args.senders < 1 or args.users < 1:
        parser.error("--events, --rate(s), --senders and --users must be positive")

    workdir = Path(tempfile.mkdtemp(prefix="bench-webhook-"))
    stop = threading.Event()
    emulator: Proc | None = None
    results: list[Result] = []
    failed = False
    try:
        emulator, emulator_url = start_emulator(
            workdir / "emulator.log", CHANNEL_SECRET, ACCESS_TOKEN, env=_base_env()
        )
        client = EmulatorClient(emulator_url)
        client.set_webhook_url(None)
        users = [client.create_user(f"bench{i:04d}")["user_id"] for i in range(args.users)]
        secrets_env = {
            "LINE_CHANNEL_SECRET": CHANNEL_SECRET,
            "LINE_CHANNEL_ACCESS_TOKEN": ACCESS_TOKEN,
            "LINE_API_BASE_URL": emulator_url,
            "SECRET_KEY": BENCH_SECRET_KEY,  # the web app needs its own (never derived)
        }
        specs = []
        if args.only in (None, "ours"):
            database_url = prepare_database(args.database_url, workdir)
            separate = args.worker_processes > 0
            worker_argv = [
                str(Path(sys.executable).with_name("benesapo")),
                "worker",
                "--threads",
                str(args.webhook_workers),
                "--nice",
                str(args.worker_nice),
            ]
            specs.append(
                BotSpec(
                    "ours",
                    "bot.app:create_app()",
                    {
                        **secrets_env,
                        "DATABASE_URL": database_url,
                        "WEBHOOK_WORKERS": "0" if separate else str(args.webhook_workers),
                    },
                    [worker_argv] * args.worker_processes,
                    args.procfile_web,
                )
            )
        if args.only in (None, "echo"):
            specs.append(BotSpec("echo", "bench.echo_bot:app", secrets_env))
        print(f"emulator {emulator_url}; logs in {workdir}", flush=True)
        for spec in specs:
            results.extend(run_bot(spec, args, emulator, emulator_url, users, workdir, stop))
        print_table(results)
        return 0
    except KeyboardInterrupt:
        stop.set()
        failed = True
        print("\ninterrupted", file=sys.stderr)
        if results:
            print_table(results)
        return 130
    except Exception as exc:
        stop.set()
        failed = True
        print(f"bench failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        stop.set()
        if emulator is not None:
            emulator.stop()
        if args.keep or failed:
            print(f"work dir kept: {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
