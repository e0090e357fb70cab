"""How well the bot understands people, measured on the evaluation set's TEST half.

    python bench/understanding.py                 # figures on the test half (the honest ones)
    python bench/understanding.py --half dev      # the same on the dev half
    python bench/understanding.py --cv [--folds 4]  # held-out figures: tune on k-1 dev folds
    python bench/understanding.py --tune          # grid-search on all of DEV, write tuning.yaml
    python bench/understanding.py --tune --dry-run  # … without writing it
    python bench/understanding.py --lexical-only  # without the sentence-embedding model

Prints top-1 / top-3 (intents, FAQ entries and small talk ranked first / in the first three),
answered (confident and right), close calls, OOS recall (out-of-scope questions not answered and
offered no candidates), wrong answers (confident and wrong, over every question), per-intent
accuracy, in-form control words, latency p50/p99 per message, cold start and RSS.

Label equivalences (documented choices of the data, not tuning): `faq:points_balance` ("where do
I see my balance") is the balance intent since the FAQ entry became it; for employees and guests
`faq:hr_lost_credentials` is answered by its employee version `faq:employee_lost_credentials`.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import yaml  # noqa: E402

from bench import understanding_grid as grid  # noqa: E402
from chat.understanding import data  # noqa: E402
from chat.understanding.index import (  # noqa: E402
    Candidate,
    Decision,
    Kind,
    Outcome,
    Understanding,
    agree,
    decide,
    fuse,
    hiragana_share,
)
from tests.understanding_eval import ALIASES, load  # noqa: E402

IN_SCOPE = ("intent", "faq", "smalltalk")
TARGETS = {"top1": 0.95, "oos_recall": 0.90, "wrong_rate": 0.03, "p99_ms": 10.0}


def expected(item: dict) -> str:
    """The label the bot should give (see the module docstring for the equivalences)."""
    label = ALIASES.get(item["label"], item["label"])
    if label == "faq:hr_lost_credentials" and item["audience"] in ("employee", "guest"):
        return "faq:employee_lost_credentials"
    return label


@dataclass
class Report:
    n_in: int = 0
    n_out: int = 0
    top1: int = 0
    top3: int = 0
    answered: int = 0
    close: int = 0
    oos_ok: int = 0
    wrong: int = 0
    per_label: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    misses: list[str] = field(default_factory=list)

    def rate(self, name: str) -> float:
        n = self.n_out if name == "oos_ok" else self.n_in
        if name == "wrong":
            n = self.n_in + self.n_out
        return getattr(self, name) / max(n, 1)


def score(items: Sequence[dict], decisions: Sequence[tuple[list[Candidate], Decision]]) -> Report:
    report = Report()
    for item, (ranked, decision) in zip(items, decisions, strict=True):
        want = expected(item)
        kind = want.split(":", 1)[0]
        answer = decision.best.key if decision.outcome is Outcome.ANSWER and decision.best else None
        if kind == "oos":
            report.n_out += 1
            ok = decision.outcome in (Outcome.OFF_TOPIC, Outcome.UNKNOWN)
            report.oos_ok += ok
            report.wrong += answer is not None
            if not ok:
                report.misses.append(f"[oos] {item['q']} → {decision.outcome} {answer or ''}")
            continue
        report.n_in += 1
        keys = [c.key for c in ranked if c.kind is not Kind.OFFTOPIC][:3]
        report.top1 += bool(keys) and keys[0] == want
        report.top3 += want in keys
        report.answered += answer == want
        report.close += decision.outcome is Outcome.CLOSE_CALL
        report.wrong += answer is not None and answer != want
        stats = report.per_label[want]
        stats[0] += answer == want
        stats[1] += 1
        if answer != want:
            got = answer or f"{decision.outcome.value} {keys[:2]}"
            report.misses.append(f"[{want}] {item['q']} → {got}")
    return report


def questions(half: str) -> list[dict]:
    return [i for i in load(half) if i["label"].split(":", 1)[0] in (*IN_SCOPE, "oos")]


def run(understanding: Understanding, items: Sequence[dict]) -> list[tuple[list, Decision]]:
    out = []
    for item in items:
        ranked = understanding.candidates(item["q"], item["audience"])
        out.append((ranked, understanding.decide(item["q"], item["audience"])))
    return out


# -- tuning (dev half only) ---------------------------------------------------------------------
def objective(report: Report) -> float:
    """Most answered right among the settings that keep wrong answers ≤ 1% and OOS recall
    ≥ 0.90 on the tuning items (held out, wrong answers come out higher: --cv); otherwise a
    heavy price per wrong answer. bench/understanding_grid.py computes the same over the grid."""
    if report.rate("wrong") <= 0.01 and report.rate("oos_ok") >= 0.90:
        return 10 + report.rate("answered")
    return report.rate("answered") + report.rate("oos_ok") - 4 * report.rate("wrong")


def grid_scores(understanding: Understanding, items: Sequence[dict]) -> grid.Scores:
    """Every item scored once, as arrays for the vectorised grid search."""
    ranked = [understanding.candidates(i["q"], i["audience"]) for i in items]
    shares = [hiragana_share(understanding.prepare.for_model(i["q"])) for i in items]
    wants = [expected(i) if not i["label"].startswith("oos") else "oos" for i in items]
    known = [understanding.lexical.knows(i["q"]) for i in items]
    return grid.scores(ranked, wants, shares, understanding.semantic_enabled, known)


def tune(understanding: Understanding, items: Sequence[dict]) -> tuple[grid.Tuned, Report]:
    tuned = grid.search(
        grid_scores(understanding, items), grid.GRID, understanding.fusion.cue_bonus
    )
    return tuned, apply(understanding, items, tuned)


def apply(understanding: Understanding, items: Sequence[dict], tuned: grid.Tuned) -> Report:
    """The figures of `items` under a tuned setting, through `index.decide` itself."""
    decisions = []
    for item in items:
        scored = understanding.candidates(item["q"], item["audience"])
        if not understanding.lexical.knows(item["q"]):
            decisions.append((scored, Decision(Outcome.UNKNOWN, None)))
            continue
        share = hiragana_share(understanding.prepare.for_model(item["q"]))
        semantic = understanding.semantic_enabled and share < tuned.cutoff
        fused = fuse(scored, tuned.weight if semantic else 1.0, tuned.cue_bonus)
        disagree = semantic and not agree(fused)
        decisions.append((fused, decide(fused, tuned.bands, disagree)))
    return score(items, decisions)


def folds(items: Sequence[dict], k: int, seed: int = 14) -> list[list[int]]:
    """Item numbers in `k` folds, stratified by label: each label's items shuffled with a fixed
    seed and dealt round the folds (the dealing starts where the previous label's stopped)."""
    by_label: dict[str, list[int]] = defaultdict(list)
    for n, item in enumerate(items):
        by_label[item["label"]].append(n)
    rng = random.Random(seed)
    out: list[list[int]] = [[] for _ in range(k)]
    turn = 0
    for label in sorted(by_label):
        members = by_label[label]
        rng.shuffle(members)
        for n in members:
            out[turn % k].append(n)
            turn += 1
    return [sorted(f) for f in out]


def cross_validate(
    understanding: Understanding, items: Sequence[dict], k: int = 4
) -> list[tuple[grid.Tuned, Report]]:
    """Tune on k-1 folds of the DEV half, measure the held-out fold, for each fold: an estimate
    of the figures on unseen questions that the in-sample fit overstates."""
    scores = grid_scores(understanding, items)
    out = []
    for held in folds(items, k):
        held_set = set(held)
        train = np.array([n for n in range(len(items)) if n not in held_set])
        tuned = grid.search(scores.subset(train), grid.GRID, understanding.fusion.cue_bonus)
        out.append((tuned, apply(understanding, [items[n] for n in held], tuned)))
    return out


def mean_report(reports: Sequence[Report]) -> Report:
    """The held-out folds pooled (each item is held out exactly once)."""
    total = Report()
    for r in reports:
        for name in ("n_in", "n_out", "top1", "top3", "answered", "close", "oos_ok", "wrong"):
            setattr(total, name, getattr(total, name) + getattr(r, name))
        for label, (right, n) in r.per_label.items():
            total.per_label[label][0] += right
            total.per_label[label][1] += n
        total.misses += r.misses
    return total


# -- speed and size -----------------------------------------------------------------------------
def latency(understanding: Understanding, items: Sequence[dict]) -> tuple[float, float]:
    times = []
    for _ in range(3):
        for item in items:
            start = time.perf_counter()
            understanding.decide(item["q"], item["audience"])
            times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99) - 1]


COLD = """
import time, sys
sys.path.insert(0, {root!r})


def rss_mb():  # the current resident set (ru_maxrss would carry the parent's over the exec)
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024


before = rss_mb()
start = time.perf_counter()
from chat.understanding.data import default_understanding
u = default_understanding()
u.decide("ポイント残高を見たい", "employee")
ready = time.perf_counter() - start
print(ready, before, rss_mb(), u.semantic_enabled)
"""


def cold_start() -> tuple[float, float, float]:
    out = subprocess.run(
        [sys.executable, "-c", COLD.format(root=str(ROOT))],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return float(out[0]), float(out[1]), float(out[2])


def control_figures(half: str) -> str:
    """In-form control words, through the flows' recogniser when it exists."""
    try:
        from chat.control import recognize
    except ImportError:
        return "in-form control words: recogniser not available in this build"
    items = [i for i in load(half) if i["label"].startswith("control:")]
    ok = Counter()
    for item in items:
        want = item["label"].split(":", 1)[1]
        got = recognize(item["q"])
        got_name = getattr(got, "value", got) or "none"
        ok[want, got_name == want] += 1
    total = sum(ok.values())
    right = sum(v for (_, good), v in ok.items() if good)
    return f"in-form control words: {right}/{total} = {right / max(total, 1):.3f}"


def describe(tuned: grid.Tuned) -> str:
    bands = {k: v for k, v in tuned.bands.__dict__.items() if k != "candidates"}
    return (
        f"lexical_weight={tuned.weight} hiragana_cutoff={tuned.cutoff} "
        f"cue_bonus={tuned.cue_bonus} bands={bands}"
    )


def print_report(name: str, report: Report, show_misses: int) -> None:
    print(f"== {name}: {report.n_in} in scope, {report.n_out} out of scope")
    print(f"top-1            {report.rate('top1'):.3f}   (target ≥ {TARGETS['top1']})")
    print(f"top-3            {report.rate('top3'):.3f}")
    print(f"answered right   {report.rate('answered'):.3f}")
    print(f"close calls      {report.rate('close'):.3f}")
    print(f"OOS recall       {report.rate('oos_ok'):.3f}   (target ≥ {TARGETS['oos_recall']})")
    print(f"wrong answers    {report.rate('wrong'):.3f}   (target ≤ {TARGETS['wrong_rate']})")
    groups: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for label, (right, n) in report.per_label.items():
        groups[label.split(":", 1)[0]][0] += right
        groups[label.split(":", 1)[0]][1] += n
    for group, (right, n) in sorted(groups.items()):
        print(f"  {group:<10} answered right {right}/{n} = {right / n:.3f}")
    print("per intent (answered right / asked):")
    for label, (right, n) in sorted(report.per_label.items()):
        if label.startswith("intent:"):
            print(f"  {label:<24} {right}/{n} = {right / n:.2f}")
    for miss in report.misses[:show_misses]:
        print("  miss:", miss)


def main(
    argv: Sequence[str] | None = None, build: Callable[[], Understanding] | None = None
) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--half", choices=("dev", "test"), default="test")
    parser.add_argument("--tune", action="store_true", help="grid-search on the DEV half")
    parser.add_argument(
        "--dry-run", action="store_true", help="with --tune: do not write tuning.yaml"
    )
    parser.add_argument("--lexical-only", action="store_true")
    parser.add_argument(
        "--cv",
        action="store_true",
        help="k-fold cross-validation on the DEV half (tune on k-1 folds, measure the other)",
    )
    parser.add_argument("--folds", type=int, default=4, help="with --cv: the number of folds")
    parser.add_argument("--misses", type=int, default=0, help="print this many misses")
    parser.add_argument("--no-cold", action="store_true", help="skip the cold-start subprocess")
    args = parser.parse_args(argv)

    if build is None:
        embedder = None if args.lexical_only else data.default_embedder()
        understanding = data.build(embedder=embedder)
    else:
        understanding = build()
    print(f"semantic model: {'on' if understanding.semantic_enabled else 'off (lexical only)'}")

    if args.cv:
        results = cross_validate(understanding, questions("dev"), args.folds)
        for k, (tuned, report) in enumerate(results):
            print(
                f"fold {k + 1}: top-1 {report.rate('top1'):.3f} answered "
                f"{report.rate('answered'):.3f} OOS {report.rate('oos_ok'):.3f} wrong "
                f"{report.rate('wrong'):.3f}  (tuned: {describe(tuned)})"
            )
        pooled = mean_report([r for _, r in results])
        print_report(f"dev, {args.folds}-fold held out (pooled)", pooled, args.misses)
        return 0

    if args.tune:
        dev = questions("dev")
        tuned, report = tune(understanding, dev)
        print(f"tuned on dev: {describe(tuned)}")
        print_report(
            "dev, in-sample (tuned on these: see --cv and the test half)", report, args.misses
        )
        if not args.dry_run:
            tuning = yaml.safe_load(data.TUNING_PATH.read_text(encoding="utf-8"))
            key = "lexical_only_bands" if not understanding.semantic_enabled else "bands"
            values = {k: v for k, v in tuned.bands.__dict__.items() if k != "candidates"}
            tuning[key] = values
            if understanding.semantic_enabled:
                tuning["fusion"]["lexical_weight"] = tuned.weight
                tuning["fusion"]["hiragana_cutoff"] = tuned.cutoff
                tuning["fusion"]["cue_bonus"] = tuned.cue_bonus
            header = "".join(
                line + "\n"
                for line in data.TUNING_PATH.read_text(encoding="utf-8").splitlines()
                if line.startswith("#")
            )
            data.TUNING_PATH.write_text(
                header + yaml.safe_dump(tuning, sort_keys=False), encoding="utf-8"
            )
            print(f"wrote {data.TUNING_PATH.relative_to(ROOT)}")
        return 0

    items = questions(args.half)
    report = score(items, run(understanding, items))
    print_report(args.half, report, args.misses)
    print(control_figures(args.half))
    p50, p99 = latency(understanding, items)
    print(f"latency per message: p50 {p50:.2f} ms, p99 {p99:.2f} ms (target p99 ≤ 10 ms)")
    if not args.no_cold:
        ready, before, after = cold_start()
        print(
            f"cold start: ready {ready:.2f} s after import (target ≤ 3 s); "
            f"RSS {before:.0f} → {after:.0f} MB (+{after - before:.0f} MB, target ≤ +200 MB)"
        )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"bench_process_max_rss_mb": round(rss)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
