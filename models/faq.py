"""The FAQ: entries loaded from `faq.yaml`, a deterministic retriever, and feedback per entry.

Retrieval is a TF-IDF cosine over character 1–2-grams of every phrasing of every entry (the
question plus its alternative phrasings), after `bot.textnorm.normalize` and the FAQ's own
synonym table (kana spellings and paraphrases → the words the entries use). An entry scores
the best cosine among its phrasings. Pure Python, no network, the same answer every time.

`FaqIndex.decide` turns the ranking into one of four outcomes: a confident answer, a close call
(2–3 candidates), a known off-topic subject (polite redirect) or unknown.
"""

from __future__ import annotations

import enum
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Boolean, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from bot.textnorm import normalize
from models.base import Base

FAQ_PATH = Path(__file__).with_name("faq.yaml")
_YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Characters that carry no meaning for matching (punctuation, symbols, spaces).
_NOISE = re.compile(r"[^0-9a-z\u3041-\u3096\u30fc\u3400-\u9fff\uf900-\ufaff々〆]+")


class FaqDataError(ValueError):
    """faq.yaml is malformed (the message names the entry and the field)."""


class Outcome(enum.StrEnum):
    ANSWER = "answer"
    CLOSE_CALL = "close_call"
    OFF_TOPIC = "off_topic"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class FaqAction:
    label: str
    postback: str | None = None
    text: str | None = None


@dataclass(frozen=True)
class FaqCategory:
    id: str
    label: str


@dataclass(frozen=True)
class FaqEntry:
    id: str
    category: str
    question: str
    short: str
    answer: str
    phrasings: tuple[str, ...] = ()
    actions: tuple[FaqAction, ...] = ()
    source: str = ""

    @property
    def all_phrasings(self) -> tuple[str, ...]:
        return (self.question, *self.phrasings)


@dataclass(frozen=True)
class Candidate:
    id: str
    question: str
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "question": self.question, "score": round(self.score, 4)}


@dataclass(frozen=True)
class Thresholds:
    """Cosine thresholds (tuned by leave-one-out over the phrasings: see bench/faq.py)."""

    answer: float = 0.5  # best score at least this …
    margin: float = 0.08  # … and this far ahead of the runner-up → confident answer
    close: float = 0.3  # best score at least this → "もしかして"
    off_topic: float = 0.3  # best off-topic phrasing at least this (and above the best entry)
    candidates: int = 3  # how many "もしかして" candidates at most


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    entry: FaqEntry | None
    score: float
    candidates: tuple[Candidate, ...] = ()
    off_topic: str | None = None  # the off-topic subject recognised, if any

    def to_dict(self) -> dict[str, Any]:
        """The CLI's shape: `id` is null unless the decision is a confident answer."""
        answered = self.outcome is Outcome.ANSWER and self.entry is not None
        others = self.candidates[1:] if answered else self.candidates
        return {
            "id": self.entry.id if answered and self.entry else None,
            "question": self.entry.question if answered and self.entry else None,
            "score": round(self.score, 4),
            "outcome": self.outcome.value,
            "off_topic": self.off_topic,
            "alternatives": [c.to_dict() for c in others],
        }


@dataclass(frozen=True)
class _Doc:
    owner: str  # entry id, or "offtopic:<subject>"
    weights: dict[str, float] = field(default_factory=dict)


def _grams(value: str, sizes: Sequence[int]) -> Counter[str]:
    grams: Counter[str] = Counter()
    for n in sizes:
        grams.update(value[i : i + n] for i in range(len(value) - n + 1))
    return grams


class FaqIndex:
    """All entries, the off-topic subjects and the n-gram index over their phrasings."""

    GRAM_SIZES = (1, 2)

    def __init__(
        self,
        categories: Sequence[FaqCategory],
        entries: Sequence[FaqEntry],
        off_topic: Mapping[str, Sequence[str]] | None = None,
        synonyms: Mapping[str, str] | None = None,
        thresholds: Thresholds | None = None,
        stopwords: Sequence[str] = (),
        answer_weight: float = 0.5,
    ) -> None:
        self.categories = tuple(categories)
        self.entries = tuple(entries)
        self.by_id = {e.id: e for e in self.entries}
        if len(self.by_id) != len(self.entries):
            raise FaqDataError("duplicate entry id")
        self.off_topic = {k: tuple(v) for k, v in (off_topic or {}).items()}
        self.thresholds = thresholds or Thresholds()
        normalized = {normalize(k): normalize(v) for k, v in (synonyms or {}).items()}
        self._synonyms = normalized
        self._synonym_re = (
            re.compile("|".join(re.escape(k) for k in sorted(normalized, key=len, reverse=True)))
            if normalized
            else None
        )
        stops = sorted({normalize(w) for w in stopwords if w}, key=len, reverse=True)
        self._stop_re = re.compile("|".join(re.escape(w) for w in stops)) if stops else None
        self.answer_weight = answer_weight
        self._build()

    # -- loading ----------------------------------------------------------------------------
    @classmethod
    def from_yaml(cls, path: Path = FAQ_PATH, thresholds: Thresholds | None = None) -> FaqIndex:
        with path.open(encoding="utf-8") as fh:
            data = yaml.load(fh, Loader=_YamlLoader)
        return cls.from_data(data, thresholds)

    @classmethod
    def from_data(cls, data: Mapping[str, Any], thresholds: Thresholds | None = None) -> FaqIndex:
        categories = [FaqCategory(str(c["id"]), str(c["label"])) for c in data["categories"]]
        known = {c.id for c in categories}
        entries = [_entry(raw, known) for raw in data["entries"]]
        off_topic = {
            str(s["id"]): [str(p) for p in s["phrasings"]] for s in data.get("offtopic", [])
        }
        if thresholds is None and "thresholds" in data:
            thresholds = Thresholds(**data["thresholds"])
        return cls(
            categories,
            entries,
            off_topic,
            data.get("synonyms") or {},
            thresholds,
            stopwords=data.get("stopwords") or (),
            answer_weight=float(data.get("answer_weight", 0.5)),
        )

    # -- text -------------------------------------------------------------------------------
    def prepare(self, value: str) -> str:
        """Normalised text with the FAQ synonyms applied and noise removed (what is indexed)."""
        value = normalize(value)
        if self._synonym_re is not None:
            value = self._synonym_re.sub(lambda m: self._synonyms[m.group()], value)
        value = _NOISE.sub("", value)
        if self._stop_re is not None:
            stripped = self._stop_re.sub("", value)
            value = stripped or value
        return value

    def _weights(self, value: str) -> dict[str, float]:
        return self._unit_vector(_grams(self.prepare(value), self.GRAM_SIZES))

    def _unit_vector(self, grams: Counter[str]) -> dict[str, float]:
        weights = {g: (1.0 + math.log(tf)) * self._idf_of(g) for g, tf in grams.items()}
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        return {g: w / norm for g, w in weights.items()}

    def _idf_of(self, gram: str) -> float:
        return self._idf.get(gram, self._unseen_idf)

    # -- index ------------------------------------------------------------------------------
    def _build(self) -> None:
        texts: list[tuple[str, str]] = []
        for entry in self.entries:
            texts.extend((entry.id, p) for p in entry.all_phrasings)
        for subject, phrasings in self.off_topic.items():
            texts.extend((f"offtopic:{subject}", p) for p in phrasings)
        if self.answer_weight > 0:
            texts.extend((f"answer:{entry.id}", entry.answer) for entry in self.entries)
        grams = [_grams(self.prepare(value), self.GRAM_SIZES) for _, value in texts]
        df: Counter[str] = Counter()
        for counts in grams:
            df.update(counts.keys())
        n_docs = len(texts)
        self._idf = {g: math.log((n_docs + 1) / (d + 1)) + 1.0 for g, d in df.items()}
        self._unseen_idf = math.log(n_docs + 1) + 1.0
        self._docs = [
            _Doc(owner, self._unit_vector(counts))
            for (owner, _), counts in zip(texts, grams, strict=True)
        ]
        self._postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for i, doc in enumerate(self._docs):
            for gram, weight in doc.weights.items():
                self._postings[gram].append((i, weight))

    # -- retrieval --------------------------------------------------------------------------
    def scores(self, value: str) -> dict[str, float]:
        """Score per owner (entry id, or "offtopic:<subject>") sharing an n-gram with the text.

        An entry scores `(1 - answer_weight) * best phrasing cosine + answer_weight * answer
        cosine`; an off-topic subject scores its best phrasing cosine.
        """
        return self.score_details(value)[0]

    def score_details(self, value: str) -> tuple[dict[str, float], dict[str, float]]:
        """(`scores`, best phrasing cosine per owner): the second is what an off-topic subject
        is compared with."""
        query = self._weights(value)
        dots: dict[int, float] = defaultdict(float)
        for gram, weight in query.items():
            for doc, doc_weight in self._postings.get(gram, ()):
                dots[doc] += weight * doc_weight
        phrasing: dict[str, float] = {}
        answers: dict[str, float] = {}
        for doc, dot in dots.items():
            owner = self._docs[doc].owner
            if owner.startswith("answer:"):
                answers[owner.removeprefix("answer:")] = dot
            elif dot > phrasing.get(owner, 0.0):
                phrasing[owner] = dot
        a = self.answer_weight
        combined = {
            owner: s if owner not in self.by_id else (1 - a) * s for owner, s in phrasing.items()
        }
        for entry_id, dot in answers.items():
            combined[entry_id] = combined.get(entry_id, 0.0) + a * dot
        return combined, phrasing

    def rank(self, value: str, limit: int | None = None) -> list[Candidate]:
        """Entries by decreasing score (ties broken by id, so the order is stable)."""
        ranked = self._rank(self.scores(value))
        return ranked if limit is None else ranked[:limit]

    def _rank(self, scores: Mapping[str, float]) -> list[Candidate]:
        ranked = sorted(
            ((s, owner) for owner, s in scores.items() if owner in self.by_id),
            key=lambda pair: (-pair[0], pair[1]),
        )
        return [Candidate(owner, self.by_id[owner].question, s) for s, owner in ranked]

    def decide(self, value: str) -> Decision:
        t = self.thresholds
        scores, phrasing = self.score_details(value)
        ranked = self._rank(scores)[: t.candidates]
        best = ranked[0].score if ranked else 0.0
        runner_up = ranked[1].score if len(ranked) > 1 else 0.0
        off_subject, off_score = max(
            (
                (o.removeprefix("offtopic:"), s)
                for o, s in scores.items()
                if o.startswith("offtopic:")
            ),
            key=lambda pair: (pair[1], pair[0]),
            default=(None, 0.0),
        )
        best_phrasing = max((s for o, s in phrasing.items() if o in self.by_id), default=0.0)
        if off_subject is not None and off_score >= t.off_topic and off_score >= best_phrasing:
            return Decision(Outcome.OFF_TOPIC, None, off_score, (), off_subject)
        if best >= t.answer and best - runner_up >= t.margin:
            return Decision(Outcome.ANSWER, self.by_id[ranked[0].id], best, tuple(ranked))
        if best >= t.close:
            # The two best, and the third only if it is a plausible reading too.
            close = tuple(c for i, c in enumerate(ranked) if i < 2 or c.score >= t.close)
            return Decision(Outcome.CLOSE_CALL, None, best, close)
        return Decision(Outcome.UNKNOWN, None, best, ())

    # -- browsing ---------------------------------------------------------------------------
    def in_category(self, category: str) -> list[FaqEntry]:
        return [e for e in self.entries if e.category == category]

    def category(self, category_id: str) -> FaqCategory | None:
        return next((c for c in self.categories if c.id == category_id), None)


def _entry(raw: Mapping[str, Any], categories: Iterable[str]) -> FaqEntry:
    entry_id = str(raw.get("id", ""))
    for name in ("id", "category", "question", "short", "answer"):
        if not raw.get(name):
            raise FaqDataError(f"entry {entry_id or '?'}: missing {name}")
    if raw["category"] not in set(categories):
        raise FaqDataError(f"entry {entry_id}: unknown category {raw['category']!r}")
    actions = []
    for action in raw.get("actions") or []:
        if bool(action.get("postback")) == bool(action.get("text")):
            raise FaqDataError(f"entry {entry_id}: an action needs a postback or a text")
        actions.append(FaqAction(str(action["label"]), action.get("postback"), action.get("text")))
    return FaqEntry(
        id=entry_id,
        category=str(raw["category"]),
        question=str(raw["question"]),
        short=str(raw["short"]),
        answer=str(raw["answer"]).strip(),
        phrasings=tuple(str(p) for p in raw.get("phrasings") or ()),
        actions=tuple(actions),
        source=str(raw.get("source", "")),
    )


@lru_cache(maxsize=1)
def default_index() -> FaqIndex:
    """The FAQ shipped in `models/faq.yaml`, loaded once per process."""
    return FaqIndex.from_yaml(FAQ_PATH)


# -- feedback --------------------------------------------------------------------------------
class FaqFeedback(Base):
    """One "役に立ちましたか？" answer: appended, never edited."""

    __tablename__ = "faq_feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[str] = mapped_column(String(64), index=True)
    line_user_id: Mapped[str] = mapped_column(String(64))
    helpful: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime]


@dataclass(frozen=True)
class FeedbackStat:
    entry_id: str
    helpful: int
    not_helpful: int

    @property
    def total(self) -> int:
        return self.helpful + self.not_helpful


def record_feedback(
    session: Session, entry_id: str, line_user_id: str, helpful: bool, now: datetime
) -> FaqFeedback:
    row = FaqFeedback(entry_id=entry_id, line_user_id=line_user_id, helpful=helpful, created_at=now)
    session.add(row)
    session.flush()
    return row


def feedback_stats(session: Session) -> list[FeedbackStat]:
    """Votes per entry, entries with feedback only, by entry id."""
    rows = session.execute(
        select(FaqFeedback.entry_id, FaqFeedback.helpful, func.count())
        .group_by(FaqFeedback.entry_id, FaqFeedback.helpful)
        .order_by(FaqFeedback.entry_id)
    ).all()
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for entry_id, helpful, count in rows:
        counts[entry_id][0 if helpful else 1] += int(count)
    return [FeedbackStat(k, v[0], v[1]) for k, v in sorted(counts.items())]


# -- evaluation ------------------------------------------------------------------------------
@dataclass(frozen=True)
class EvalReport:
    """Figures of an evaluation set (see tests/faq_eval.yaml and bench/faq.py).

    top1/top3: in-scope questions whose entry ranks first / in the first three.
    answered: in-scope questions answered confidently and correctly.
    oos_recall: out-of-scope questions not answered and not offered candidates.
    wrong_rate: confident answers that are wrong (wrong entry, or any entry for an
    out-of-scope question), over all questions.
    """

    n_in: int
    n_out: int
    top1: float
    top3: float
    answered: float
    close_calls: float
    oos_recall: float
    wrong_rate: float
    misses: tuple[str, ...] = ()


def evaluate(
    index: FaqIndex, in_scope: Sequence[tuple[str, str]], out_of_scope: Sequence[str]
) -> EvalReport:
    top1 = top3 = answered = close = wrong = oos_ok = 0
    misses: list[str] = []
    for question, label in in_scope:
        ranked = [c.id for c in index.rank(question, limit=3)]
        decision = index.decide(question)
        top1 += bool(ranked) and ranked[0] == label
        top3 += label in ranked
        if decision.outcome is Outcome.ANSWER:
            ok = decision.entry is not None and decision.entry.id == label
            answered += ok
            wrong += not ok
        close += decision.outcome is Outcome.CLOSE_CALL
        if not ranked or ranked[0] != label:
            misses.append(f"{question} → {ranked[:1]} (want {label}, {decision.outcome.value})")
    for question in out_of_scope:
        decision = index.decide(question)
        if decision.outcome in (Outcome.OFF_TOPIC, Outcome.UNKNOWN):
            oos_ok += 1
        else:
            misses.append(f"{question} → {decision.outcome.value} {decision.to_dict()['id']}")
            wrong += decision.outcome is Outcome.ANSWER
    n_in, n_out = len(in_scope), len(out_of_scope)
    return EvalReport(
        n_in=n_in,
        n_out=n_out,
        top1=top1 / max(n_in, 1),
        top3=top3 / max(n_in, 1),
        answered=answered / max(n_in, 1),
        close_calls=close / max(n_in, 1),
        oos_recall=oos_ok / max(n_out, 1),
        wrong_rate=wrong / max(n_in + n_out, 1),
        misses=tuple(misses),
    )
