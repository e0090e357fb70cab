"""The FAQ: entries loaded from `faq.yaml` (with its off-topic subjects, synonyms and stop
phrases) and feedback per entry. Matching lives in the understanding layer
(`chat/understanding/`), which indexes these entries together with the bot's intents.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Boolean, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Base

FAQ_PATH = Path(__file__).with_name("faq.yaml")
_YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class FaqDataError(ValueError):
    """faq.yaml is malformed (the message names the entry and the field)."""


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
    audiences: frozenset[str] = frozenset()  # guest / employee / hr; empty: everyone
    cues: tuple[str, ...] = ()  # words that strongly mark the entry (a small ranking bonus)

    @property
    def all_phrasings(self) -> tuple[str, ...]:
        return (self.question, *self.phrasings)


class FaqIndex:
    """All entries, their categories, the off-topic subjects and the matching vocabulary."""

    def __init__(
        self,
        categories: Sequence[FaqCategory],
        entries: Sequence[FaqEntry],
        off_topic: Mapping[str, Sequence[str]] | None = None,
        synonyms: Mapping[str, str] | None = None,
        stopwords: Sequence[str] = (),
        off_topic_cues: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.categories = tuple(categories)
        self.entries = tuple(entries)
        self.by_id = {e.id: e for e in self.entries}
        if len(self.by_id) != len(self.entries):
            raise FaqDataError("duplicate entry id")
        self.off_topic = {k: tuple(v) for k, v in (off_topic or {}).items()}
        self.synonyms = dict(synonyms or {})
        self.stopwords = tuple(stopwords)
        # Words that mark an off-topic subject (楽天, Ponta…): the same bonus as an entry's cues.
        self.off_topic_cues = {k: tuple(v) for k, v in (off_topic_cues or {}).items()}

    @classmethod
    def from_yaml(cls, path: Path = FAQ_PATH) -> FaqIndex:
        with path.open(encoding="utf-8") as fh:
            data = yaml.load(fh, Loader=_YamlLoader)
        return cls.from_data(data)

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> FaqIndex:
        categories = [FaqCategory(str(c["id"]), str(c["label"])) for c in data["categories"]]
        known = {c.id for c in categories}
        entries = [_entry(raw, known) for raw in data["entries"]]
        off_topic = {
            str(s["id"]): [str(p) for p in s["phrasings"]] for s in data.get("offtopic", [])
        }
        return cls(
            categories,
            entries,
            off_topic,
            data.get("synonyms") or {},
            stopwords=data.get("stopwords") or (),
            off_topic_cues={
                str(s["id"]): [str(c) for c in s["cues"]]
                for s in data.get("offtopic", [])
                if s.get("cues")
            },
        )

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
        audiences=frozenset(str(a) for a in raw.get("audiences") or ()),
        cues=tuple(str(c) for c in raw.get("cues") or ()),
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
