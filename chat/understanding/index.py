"""The ranked index: every label (intent, FAQ entry, small talk, off-topic subject) scored by a
fusion of its lexical and semantic similarity to the message, then one decision.

A label scores the best of its phrasings; a FAQ entry's lexical score also counts its answer
text (`answer_weight`). The fused score is `lexical_weight * lexical + (1 - lexical_weight) *
semantic`. `decide` turns the ranking into: a confident answer (best ≥ `answer` and `margin`
ahead of the runner-up), "もしかして" (best ≥ `close`: the 2–3 best intents/entries as buttons), a
known off-topic subject (polite redirect; also instead of an answer when the subject is only
`off_near` behind it), or unknown. A label's cue words (intents.yaml `cues`) add `cue_bonus` to
its fused score. The bands are tuned on the dev half of the evaluation set only
(bench/understanding.py --tune).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chat.understanding.lexical import LexicalIndex, TextPreparer
from chat.understanding.semantic import CachedEmbedder, SemanticIndex

AUDIENCES = ("guest", "employee", "hr")


class Kind(enum.StrEnum):
    INTENT = "intent"
    FAQ = "faq"
    SMALLTALK = "smalltalk"
    OFFTOPIC = "offtopic"


class Outcome(enum.StrEnum):
    ANSWER = "answer"
    CLOSE_CALL = "close_call"
    OFF_TOPIC = "off_topic"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Label:
    """One thing a message can mean, with the texts it is recognised by."""

    kind: Kind
    id: str
    phrasings: tuple[str, ...]
    answer: str = ""  # a FAQ entry's answer text (scored lexically with answer_weight)
    audiences: frozenset[str] = frozenset()  # empty: everyone
    cues: tuple[str, ...] = ()  # words that strongly mark it (Fusion.cue_bonus when present)

    @property
    def key(self) -> str:
        return f"{self.kind.value}:{self.id}"

    def offered_to(self, audience: str) -> bool:
        return not self.audiences or audience in self.audiences


@dataclass(frozen=True)
class Bands:
    answer: float = 0.5
    margin: float = 0.05
    close: float = 0.3
    off_topic: float = 0.4
    # A near miss: an answer with the best off-topic subject (at least `off_topic`) this close
    # behind becomes a polite redirect instead (楽天ポイントの残高); a "もしかして" stays one.
    off_near: float = 0.0
    smalltalk: float = 1.01  # small talk at least this is answered even without the margin
    # When the lexical and the semantic score each rank another label first, the best is
    # answered only at this score or above (else "もしかして"): most wrong answers on the dev
    # half came from such disagreements.
    answer_alone: float = 1.01
    # A confident answer also needs this much lexical evidence: the model finds random strings
    # (asdfghjkl) "similar" to short small talk.
    min_lexical: float = 0.0
    candidates: int = 3

    @classmethod
    def from_data(cls, data: Mapping[str, Any] | None) -> Bands:
        return cls(**(data or {}))


@dataclass(frozen=True)
class Fusion:
    lexical_weight: float = 0.7
    answer_weight: float = 0.5  # share of a FAQ entry's lexical score that is its answer text
    # The model cannot read words spelt in hiragana (ぽいんと, たいしょく): a message whose
    # letters are at least this share hiragana is ranked by its lexical score alone.
    hiragana_cutoff: float = 1.01
    # Added to a label's fused score when one of its cue words is in the normalised message.
    cue_bonus: float = 0.0


_HIRAGANA = re.compile("[\u3041-\u3096]")
_LETTERS = re.compile("[0-9A-Za-z\u3041-\u3096\u30a1-\u30fa\u3400-\u9fff\uf900-\ufaff]")


def hiragana_share(text: str) -> float:
    letters = len(_LETTERS.findall(text))
    return len(_HIRAGANA.findall(text)) / letters if letters else 0.0


@dataclass(frozen=True)
class Candidate:
    key: str
    score: float
    lexical: float
    semantic: float
    cue: bool = False  # one of the label's cue words is in the message

    @property
    def kind(self) -> Kind:
        return Kind(self.key.split(":", 1)[0])

    @property
    def id(self) -> str:
        return self.key.split(":", 1)[1]

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.key, "score": round(self.score, 4)}


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    best: Candidate | None  # the answer (ANSWER), the off-topic subject (OFF_TOPIC), else top
    candidates: tuple[Candidate, ...] = ()  # "もしかして" buttons (CLOSE_CALL)

    @property
    def label(self) -> str | None:
        """What to run: set for ANSWER and OFF_TOPIC only."""
        if self.outcome in (Outcome.ANSWER, Outcome.OFF_TOPIC) and self.best is not None:
            return self.best.key
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome.value,
            "label": self.label,
            "score": round(self.best.score, 4) if self.best else 0.0,
            "candidates": [c.to_dict() for c in self.candidates],
        }


class Understanding:
    def __init__(
        self,
        labels: Sequence[Label],
        prepare: TextPreparer,
        embedder: CachedEmbedder | None,
        fusion: Fusion,
        bands: Bands,
        lexical_only_bands: Bands | None = None,
    ) -> None:
        self.labels = {label.key: label for label in labels}
        if len(self.labels) != len(labels):
            raise ValueError("duplicate label")
        self.prepare = prepare
        self.fusion = fusion
        self.embedder = embedder
        self.bands = bands if embedder is not None else (lexical_only_bands or bands)
        # One document per phrasing (owner = label key); FAQ answers are documents of their own.
        self._owners: list[str] = []
        self._answer_of: dict[int, str] = {}
        texts: list[str] = []
        for label in labels:
            for phrasing in label.phrasings:
                self._owners.append(label.key)
                texts.append(phrasing)
        self._n_phrasings = len(texts)
        self._cues = {
            label.key: tuple(c for c in (prepare.for_cues(cue) for cue in label.cues) if c)
            for label in labels
            if label.cues
        }
        for label in labels:
            if label.answer:
                self._answer_of[len(texts)] = label.key
                texts.append(label.answer)
        self.lexical = LexicalIndex(texts, prepare)
        self.semantic = (
            SemanticIndex([prepare.for_model(t) for t in texts[: self._n_phrasings]], embedder)
            if embedder is not None
            else None
        )

    @property
    def semantic_enabled(self) -> bool:
        return self.semantic is not None

    # -- scoring ----------------------------------------------------------------------------
    def candidates(self, text: str, audience: str) -> list[Candidate]:
        """Every label offered to `audience`, best first (ties by key: a stable order)."""
        lexical: dict[str, float] = {}
        answers: dict[str, float] = {}
        for doc, cosine in self.lexical.cosines(text).items():
            if doc in self._answer_of:
                answers[self._answer_of[doc]] = cosine
            else:
                owner = self._owners[doc]
                if cosine > lexical.get(owner, 0.0):
                    lexical[owner] = cosine
        semantic: dict[str, float] = {}
        if self.semantic is not None:
            for doc, cosine in enumerate(
                self.semantic.cosines(
                    self.prepare.for_model(text), text, self.prepare.for_model
                ).tolist()
            ):
                owner = self._owners[doc]
                if cosine > semantic.get(owner, -1.0):
                    semantic[owner] = cosine
        a = self.fusion.answer_weight
        prepared = self.prepare.for_cues(text)
        cued = {key for key, cues in self._cues.items() if any(c in prepared for c in cues)}
        out = []
        for key, label in self.labels.items():
            if not label.offered_to(audience):
                continue
            lex = lexical.get(key, 0.0)
            if label.answer:
                lex = (1 - a) * lex + a * answers.get(key, 0.0)
            out.append(Candidate(key, 0.0, lex, max(semantic.get(key, 0.0), 0.0), key in cued))
        return fuse(out, self.lexical_weight(text), self.fusion.cue_bonus)

    def lexical_weight(self, text: str) -> float:
        share = hiragana_share(self.prepare.for_model(text))
        if self.semantic is None or share >= self.fusion.hiragana_cutoff:
            return 1.0
        return self.fusion.lexical_weight

    def rank(self, text: str, audience: str, limit: int | None = None) -> list[Candidate]:
        """What the message may ask for (intents, entries, small talk), best first."""
        ranked = [c for c in self.candidates(text, audience) if c.kind is not Kind.OFFTOPIC]
        return ranked if limit is None else ranked[:limit]

    # -- the decision -----------------------------------------------------------------------
    def decide(self, text: str, audience: str) -> Decision:
        if not self.prepare(text) or not self.lexical.knows(text):
            return Decision(Outcome.UNKNOWN, None)  # nothing, or keyboard mashing
        scored = self.candidates(text, audience)
        disagree = self.lexical_weight(text) < 1.0 and not agree(scored)
        return decide(scored, self.bands, disagree)


def fuse(
    candidates: Sequence[Candidate], lexical_weight: float, cue_bonus: float = 0.0
) -> list[Candidate]:
    """Scores `lexical_weight * lexical + (1 - lexical_weight) * semantic` (+ `cue_bonus` when
    a cue word of the label is in the message), best first (ties by key: a stable order)."""
    w = lexical_weight
    out = [
        Candidate(
            c.key,
            w * c.lexical + (1 - w) * c.semantic + (cue_bonus if c.cue else 0.0),
            c.lexical,
            c.semantic,
            c.cue,
        )
        for c in candidates
    ]
    out.sort(key=lambda c: (-c.score, c.key))
    return out


def agree(scored: Sequence[Candidate]) -> bool:
    """Whether the lexical and the semantic score rank the same label first."""
    if not scored:
        return True
    return max(scored, key=lambda c: c.lexical).key == max(scored, key=lambda c: c.semantic).key


def decide(scored: Sequence[Candidate], b: Bands, disagree: bool = False) -> Decision:
    """The decision over fused candidates (best first): see the module's docstring.
    `disagree`: the lexical and the semantic score each rank another label first."""
    ranked = [c for c in scored if c.kind is not Kind.OFFTOPIC]
    off = next((c for c in scored if c.kind is Kind.OFFTOPIC), None)
    best = ranked[0] if ranked else None
    best_score = best.score if best else 0.0
    if off is not None and off.score >= b.off_topic and off.score >= best_score:
        return Decision(Outcome.OFF_TOPIC, off)
    if best is None:
        return Decision(Outcome.UNKNOWN, None)
    runner_up = ranked[1].score if len(ranked) > 1 else 0.0
    confident = best.score >= b.answer and best.score - runner_up >= b.margin
    if confident and disagree and best.score < b.answer_alone:
        confident = False
    if best.lexical < b.min_lexical:
        confident = False
    # Small talk that is not quite sure is still answered: a friendly reply costs nothing.
    lenient = best.kind is Kind.SMALLTALK and best.score >= b.smalltalk
    if confident or (lenient and best.lexical >= b.min_lexical):
        # A near miss: rather a polite redirect than a confident wrong answer.
        if off is not None and off.score >= b.off_topic and off.score >= best.score - b.off_near:
            return Decision(Outcome.OFF_TOPIC, off)
        return Decision(Outcome.ANSWER, best, tuple(ranked[: b.candidates]))
    # "もしかして": intents and entries only (never small talk), each with some lexical evidence
    # (half the answer's), the two best and a third only if it is plausible too.
    offer = [c for c in ranked if c.kind is not Kind.SMALLTALK and c.lexical >= b.min_lexical / 2][
        : b.candidates
    ]
    if offer and offer[0].score >= b.close:
        close = tuple(c for i, c in enumerate(offer) if i < 2 or c.score >= b.close)
        return Decision(Outcome.CLOSE_CALL, best, close)
    return Decision(Outcome.UNKNOWN, best)
