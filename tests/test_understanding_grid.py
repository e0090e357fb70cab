"""The bench's vectorised band grid decides exactly as `index.decide` does; its folds are
stratified and fixed; cue words and the near-miss off-topic band change the decision as said."""

from __future__ import annotations

import importlib.util
import random
import sys
from collections import Counter
from pathlib import Path

import pytest

from bench import understanding_grid as grid
from chat.understanding.index import Bands, Candidate, Kind, Outcome, agree, decide, fuse

KEYS = [
    "intent:balance",
    "intent:expiry",
    "intent:history",
    "faq:points_expiry",
    "faq:points_earn",
    "smalltalk:thanks",
    "smalltalk:greeting",
    "offtopic:other_points",
    "offtopic:payroll",
]


def _bench():  # type: ignore[no-untyped-def]
    path = Path(__file__).resolve().parent.parent / "bench" / "understanding.py"
    spec = importlib.util.spec_from_file_location("bench_understanding_cv", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _items(n: int, seed: int) -> tuple[list[list[Candidate]], list[str], list[float]]:
    rng = random.Random(seed)
    ranked, wants, shares = [], [], []
    for _ in range(n):
        offered = [k for k in KEYS if rng.random() > 0.1]
        ranked.append(
            [
                Candidate(
                    k,
                    0.0,
                    round(rng.random() * 0.8, 2),  # coarse values: ties happen
                    round(rng.random() * 0.8, 2),
                    rng.random() < 0.2,
                )
                for k in offered
            ]
        )
        in_scope = [k for k in offered if not k.startswith("offtopic")]
        wants.append(rng.choice(in_scope) if rng.random() < 0.8 and in_scope else "oos")
        shares.append(rng.choice([0.0, 0.5, 0.9]))
    return ranked, wants, shares


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_grid_counts_what_index_decide_decides(seed: int) -> None:
    ranked, wants, shares = _items(150, seed)
    scores = grid.scores(ranked, wants, shares, semantic_enabled=True)
    small = {
        "answer": (0.3, 0.45),
        "margin": (0.0, 0.05),
        "close": (0.2,),
        "off_topic": (0.25, 0.4),
        "off_near": (0.0, 0.05),
        "smalltalk": (0.3, 1.01),
        "answer_alone": (0.5, 1.01),
        "min_lexical": (0.0, 0.2),
    }
    bands = grid.band_grid(small)
    for weight, cutoff, cue_bonus in [(0.5, 0.8, 0.05), (0.3, 1.01, 0.0)]:
        f = grid.features(scores, weight, cutoff, cue_bonus, small["min_lexical"])
        counts = grid.evaluate(f, scores.want, bands)
        for i, b in enumerate(bands):
            expected = Counter()
            for candidates, want, share in zip(ranked, wants, shares, strict=True):
                semantic = share < cutoff
                fused = fuse(candidates, weight if semantic else 1.0, cue_bonus)
                d = decide(fused, b, semantic and not agree(fused))
                answer = d.best.key if d.outcome is Outcome.ANSWER and d.best else None
                if want == "oos":
                    expected["oos_ok"] += d.outcome in (Outcome.OFF_TOPIC, Outcome.UNKNOWN)
                    expected["wrong"] += answer is not None
                else:
                    expected["answered"] += answer == want
                    expected["close"] += d.outcome is Outcome.CLOSE_CALL
                    expected["wrong"] += answer is not None and answer != want
            got = {
                name: int(getattr(counts, name)[i])
                for name in ("answered", "close", "oos_ok", "wrong")
            }
            assert got == {k: expected[k] for k in got}, b


def test_top_k_counts_the_ranking() -> None:
    ranked, wants, shares = _items(80, 7)
    scores = grid.scores(ranked, wants, shares, semantic_enabled=True)
    f = grid.features(scores, 0.5, 0.8, 0.05, (0.0,))
    top1 = top3 = 0
    for candidates, want, share in zip(ranked, wants, shares, strict=True):
        fused = fuse(candidates, 0.5 if share < 0.8 else 1.0, 0.05)
        keys = [c.key for c in fused if c.kind is not Kind.OFFTOPIC][:3]
        top1 += want != "oos" and keys[:1] == [want]
        top3 += want != "oos" and want in keys
    assert grid.top_k(f, scores.want) == (top1, top3)


def test_search_returns_the_best_setting_of_the_grid() -> None:
    ranked, wants, shares = _items(60, 4)
    scores = grid.scores(ranked, wants, shares, semantic_enabled=True)
    tuned = grid.search(scores)
    f = grid.features(
        scores, tuned.weight, tuned.cutoff, tuned.cue_bonus, (tuned.bands.min_lexical,)
    )
    value = grid.evaluate(f, scores.want, [tuned.bands]).objective()[0]
    assert value == pytest.approx(tuned.objective)
    assert tuned.bands in grid.band_grid()


def test_folds_are_stratified_fixed_and_cover_every_item_once() -> None:
    bench = _bench()
    items = [{"q": f"q{i}", "label": f"l{i % 5}", "audience": "employee"} for i in range(43)]
    folds = bench.folds(items, 4)
    assert folds == bench.folds(items, 4)
    assert sorted(n for f in folds for n in f) == list(range(43))
    for label in {i["label"] for i in items}:
        per_fold = [sum(items[n]["label"] == label for n in f) for f in folds]
        assert max(per_fold) - min(per_fold) <= 1, (label, per_fold)


def test_a_cue_word_adds_the_bonus_to_its_label_only() -> None:
    plain = Candidate("intent:balance", 0.0, 0.4, 0.4)
    cued = Candidate("intent:history", 0.0, 0.4, 0.4, cue=True)
    fused = fuse([plain, cued], 0.5, cue_bonus=0.05)
    assert [c.key for c in fused] == ["intent:history", "intent:balance"]
    assert fused[0].score == pytest.approx(0.45)
    assert fused[1].score == pytest.approx(0.4)


def test_a_near_miss_off_topic_subject_redirects_instead_of_answering() -> None:
    answer = Candidate("intent:balance", 0.52, 0.52, 0.52)
    off = Candidate("offtopic:other_points", 0.5, 0.5, 0.5)
    runner_up = Candidate("faq:points_earn", 0.2, 0.2, 0.2)
    scored = [answer, off, runner_up]
    bands = Bands(answer=0.4, margin=0.05, close=0.3, off_topic=0.3)
    assert decide(scored, bands).outcome is Outcome.ANSWER
    near = decide(scored, Bands(answer=0.4, margin=0.05, close=0.3, off_topic=0.3, off_near=0.03))
    assert (near.outcome, near.label) == (Outcome.OFF_TOPIC, "offtopic:other_points")
    # Never below the off-topic band itself.
    low = Bands(answer=0.4, margin=0.05, close=0.3, off_topic=0.55, off_near=0.1)
    assert decide(scored, low).outcome is Outcome.ANSWER


def test_the_shipped_cues_mark_their_labels() -> None:
    from chat.understanding import data

    u = data.build(embedder=None)
    cued = {c.key for c in u.candidates("ポイントの利用明細が見たい", "employee") if c.cue}
    assert "intent:history" in cued
    assert "intent:balance" not in cued
    assert 0 < u.fusion.cue_bonus < 0.2  # tuned (tuning.yaml): a small bonus
