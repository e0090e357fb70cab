"""The band grid search of bench/understanding.py, vectorised with numpy.

Each item is scored ONCE (`Understanding.candidates`: the lexical and semantic score of every
label and whether a cue word of it is in the message). `Scores` holds those as arrays (items ×
labels). For one fusion setting (lexical weight, hiragana cutoff, cue bonus) `features` fuses
and ranks them and keeps what `index.decide` looks at (best, runner-up, best off-topic subject,
disagreement, the first "もしかして" candidate); `evaluate` then applies every band setting of
the grid at once, over arrays of shape (settings × items), and returns the counts the bench
reports. `index.decide` stays the one definition of the decision: the bench checks the chosen
setting through it (bench/understanding.py `apply`).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from chat.understanding.index import Bands, Candidate, Kind

# The grid (bench/understanding.py --tune and --cv). Bands.candidates is not tuned.
GRID = {
    "answer": (0.15, 0.2, 0.25),
    "margin": (0.0, 0.02, 0.03, 0.04, 0.05, 0.06, 0.08),
    "close": (0.2, 0.25),
    "off_topic": (0.1, 0.15, 0.2, 0.25),
    "off_near": (0.03, 0.06, 0.09, 0.12),
    "smalltalk": (0.3, 1.01),
    "answer_alone": (0.45, 0.5, 0.55, 0.6, 0.65, 1.01),
    "min_lexical": (0.0, 0.05, 0.1, 0.15, 0.2),
}
WEIGHTS = (0.4, 0.5, 0.6)
CUTOFFS = (0.8, 1.01)
CUE_BONUSES = (0.03, 0.05, 0.08, 0.12)
NEG = -1e9


@dataclass(frozen=True)
class Scores:
    """Every item's raw scores over every label (columns sorted by key, as `fuse` breaks ties)."""

    keys: tuple[str, ...]
    lexical: np.ndarray  # items × labels; NEG where the label is not offered to the item
    semantic: np.ndarray
    cue: np.ndarray  # bool
    offered: np.ndarray  # bool
    hiragana: np.ndarray  # items: hiragana share of the model's input
    want: np.ndarray  # items: column of the expected label, -1 for out of scope
    semantic_enabled: bool
    known: np.ndarray  # bool, items: the message shares a character pair with the index

    @property
    def kinds(self) -> list[Kind]:
        return [Kind(k.split(":", 1)[0]) for k in self.keys]

    def subset(self, rows: np.ndarray) -> Scores:
        return Scores(
            self.keys,
            self.lexical[rows],
            self.semantic[rows],
            self.cue[rows],
            self.offered[rows],
            self.hiragana[rows],
            self.want[rows],
            self.semantic_enabled,
            self.known[rows],
        )


def scores(
    ranked: Sequence[Sequence[Candidate]],
    wants: Sequence[str],
    shares: Sequence[float],
    semantic_enabled: bool,
    known: Sequence[bool] | None = None,
) -> Scores:
    """Arrays from each item's `Understanding.candidates` (the labels offered to its audience)."""
    keys = tuple(sorted({c.key for r in ranked for c in r} | {w for w in wants if w != "oos"}))
    column = {k: i for i, k in enumerate(keys)}
    shape = (len(ranked), len(keys))
    lexical = np.zeros(shape)
    semantic = np.zeros(shape)
    cue = np.zeros(shape, dtype=bool)
    offered = np.zeros(shape, dtype=bool)
    for row, candidates in enumerate(ranked):
        for c in candidates:
            j = column[c.key]
            lexical[row, j], semantic[row, j], cue[row, j] = c.lexical, c.semantic, c.cue
            offered[row, j] = True
    want = np.array([column.get(w, -1) if w != "oos" else -1 for w in wants])
    known_rows = np.ones(len(ranked), dtype=bool) if known is None else np.asarray(known, bool)
    return Scores(
        keys,
        lexical,
        semantic,
        cue,
        offered,
        np.asarray(shares),
        want,
        semantic_enabled,
        known_rows,
    )


@dataclass(frozen=True)
class Features:
    """What the decision looks at, per item, for one fusion setting."""

    best: np.ndarray  # column of the best intent / entry / small talk
    s1: np.ndarray
    s2: np.ndarray
    lex1: np.ndarray
    small1: np.ndarray
    top3: np.ndarray  # items × 3 columns
    off: np.ndarray  # best off-topic score
    disagree: np.ndarray
    known: np.ndarray  # unknown outright when False (Understanding.decide)
    offer: dict[float, np.ndarray]  # min_lexical → score of the first "もしかして" candidate


def features(
    s: Scores, weight: float, cutoff: float, cue_bonus: float, min_lexicals: Sequence[float]
) -> Features:
    semantic = s.semantic_enabled & (s.hiragana < cutoff)
    w = np.where(semantic, weight, 1.0)[:, None]
    fused = w * s.lexical + (1 - w) * s.semantic + cue_bonus * s.cue
    fused = np.where(s.offered, fused, NEG)
    kinds = s.kinds
    is_off = np.array([k is Kind.OFFTOPIC for k in kinds])
    is_small = np.array([k is Kind.SMALLTALK for k in kinds])
    order = np.argsort(-fused, axis=1, kind="stable")  # ties by key, as `fuse`
    rows = np.arange(len(fused))[:, None]
    sorted_scores = fused[rows, order]
    sorted_off = is_off[order]
    sorted_lex = s.lexical[rows, order]
    # The first three labels that are not off-topic subjects, in ranked order.
    rank_in = np.where(~sorted_off & (sorted_scores > NEG / 2), 1, 0)
    pos = np.cumsum(rank_in, axis=1)
    top = []
    for k in (1, 2, 3):
        hit = (pos == k) & (rank_in == 1)
        idx = np.argmax(hit, axis=1)
        top.append(np.where(hit.any(axis=1), order[rows[:, 0], idx], -1))
    best = top[0]
    safe = np.maximum(best, 0)
    s1 = np.where(best >= 0, fused[rows[:, 0], safe], NEG)
    s2 = np.where(top[1] >= 0, fused[rows[:, 0], np.maximum(top[1], 0)], 0.0)
    off = np.where(is_off[None, :] & s.offered, fused, NEG).max(axis=1)
    # `agree`: the first label (in ranked order) of the highest lexical and of the highest
    # semantic score; every offered label counts, off-topic subjects too.
    sorted_sem = s.semantic[rows, order]
    valid = sorted_scores > NEG / 2
    lex_first = order[rows[:, 0], np.argmax(np.where(valid, sorted_lex, -np.inf), axis=1)]
    sem_first = order[rows[:, 0], np.argmax(np.where(valid, sorted_sem, -np.inf), axis=1)]
    disagree = semantic & (lex_first != sem_first)
    offer = {}
    sorted_small = is_small[order]
    for m in min_lexicals:
        ok = valid & ~sorted_off & ~sorted_small & (sorted_lex >= m / 2)
        first = np.argmax(ok, axis=1)
        offer[m] = np.where(ok.any(axis=1), sorted_scores[rows[:, 0], first], NEG)
    return Features(
        best,
        s1,
        s2,
        s.lexical[rows[:, 0], safe],
        is_small[safe] & (best >= 0),
        np.stack(top, axis=1),
        off,
        disagree,
        s.known,
        offer,
    )


def band_grid(grid: dict[str, Sequence[float]] = GRID) -> list[Bands]:
    names = list(grid)
    out = []
    for values in itertools.product(*(grid[n] for n in names)):
        bands = Bands(**dict(zip(names, values, strict=True)))
        if bands.close <= bands.answer:
            out.append(bands)
    return out


@dataclass(frozen=True)
class Counts:
    """Per band setting (arrays over the grid): the bench's figures."""

    n_in: int
    n_out: int
    answered: np.ndarray
    close: np.ndarray
    oos_ok: np.ndarray
    wrong: np.ndarray

    def objective(self) -> np.ndarray:
        """bench/understanding.py `objective`, over the grid."""
        answered = self.answered / max(self.n_in, 1)
        oos = self.oos_ok / max(self.n_out, 1)
        wrong = self.wrong / max(self.n_in + self.n_out, 1)
        good = (wrong <= 0.01) & (oos >= 0.90)
        return np.where(good, 10 + answered, answered + oos - 4 * wrong)


def evaluate(f: Features, want: np.ndarray, bands: Sequence[Bands]) -> Counts:
    def col(name: str) -> np.ndarray:
        return np.array([getattr(b, name) for b in bands])[:, None]

    answer, margin, close, off_topic = col("answer"), col("margin"), col("close"), col("off_topic")
    off_near, small, alone, min_lex = (
        col("off_near"),
        col("smalltalk"),
        col("answer_alone"),
        col("min_lexical"),
    )
    s1, s2, lex1 = f.s1[None, :], f.s2[None, :], f.lex1[None, :]
    redirect = (f.off[None, :] >= off_topic) & (f.off[None, :] >= s1)
    near = (f.off[None, :] >= off_topic) & (f.off[None, :] >= s1 - off_near)
    has_best = (f.best >= 0)[None, :] & f.known[None, :]
    confident = (s1 >= answer) & (s1 - s2 >= margin)
    confident &= ~(f.disagree[None, :] & (s1 < alone))
    confident &= lex1 >= min_lex
    lenient = f.small1[None, :] & (s1 >= small) & (lex1 >= min_lex)
    sure = ~redirect & has_best & (confident | lenient)
    answered = sure & ~near
    offer = np.stack([f.offer[b.min_lexical] for b in bands])
    close_call = ~redirect & has_best & ~sure & (offer >= close)
    in_scope = want >= 0
    right = (f.best == want)[None, :]
    return Counts(
        int(in_scope.sum()),
        int((~in_scope).sum()),
        (answered & right & in_scope).sum(axis=1),
        (close_call & in_scope).sum(axis=1),
        (~answered & ~close_call & ~in_scope).sum(axis=1),
        (answered & ~(right & in_scope)).sum(axis=1),
    )


@dataclass(frozen=True)
class Tuned:
    weight: float
    cutoff: float
    cue_bonus: float
    bands: Bands
    objective: float


def search(
    s: Scores, grid: dict[str, Sequence[float]] = GRID, lexical_only_cue_bonus: float = 0.0
) -> Tuned:
    """The best fusion setting and bands on these items (ties: the first in grid order).
    Lexical only, the cue bonus is the shipped one (`fusion.cue_bonus` is shared)."""
    bands = band_grid(grid)
    weights = WEIGHTS if s.semantic_enabled else (1.0,)
    cutoffs = CUTOFFS if s.semantic_enabled else (1.01,)
    cues = CUE_BONUSES if s.semantic_enabled else (lexical_only_cue_bonus,)
    best: Tuned | None = None
    for weight, cutoff, cue_bonus in itertools.product(weights, cutoffs, cues):
        f = features(s, weight, cutoff, cue_bonus, grid["min_lexical"])
        values = evaluate(f, s.want, bands).objective()
        i = int(np.argmax(values))
        if best is None or values[i] > best.objective:
            best = Tuned(weight, cutoff, cue_bonus, bands[i], float(values[i]))
    assert best is not None
    return best


def top_k(f: Features, want: np.ndarray) -> tuple[int, int]:
    """(top-1, top-3) counts of the in-scope items."""
    in_scope = want >= 0
    top1 = int(((f.top3[:, 0] == want) & in_scope).sum())
    top3 = int(((f.top3 == want[:, None]).any(axis=1) & in_scope).sum())
    return top1, top3
