"""What the index matches: intents and small talk (intents.yaml), the FAQ (models/faq.yaml:
entries, off-topic subjects, synonyms, stop phrases), and the tuned numbers (tuning.yaml)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from chat.understanding.index import AUDIENCES, Bands, Fusion, Kind, Label, Understanding
from chat.understanding.lexical import TextPreparer
from chat.understanding.semantic import CachedEmbedder, default_store, load_embedder
from models.faq import FaqIndex, default_index

HERE = Path(__file__).parent
INTENTS_PATH = HERE / "intents.yaml"
TUNING_PATH = HERE / "tuning.yaml"
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_LABEL = 20


class UnderstandingDataError(ValueError):
    """intents.yaml or tuning.yaml is malformed (the message says where)."""


@dataclass(frozen=True)
class Intent:
    id: str
    label: str
    examples: tuple[str, ...]
    audiences: frozenset[str] = frozenset()
    cues: tuple[str, ...] = ()


def _load(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as fh:
        return yaml.load(fh, Loader=_Loader) or {}


def _audiences(raw: Any, where: str) -> frozenset[str]:
    values = frozenset(str(a) for a in (raw or ()))
    unknown = values - set(AUDIENCES)
    if unknown:
        raise UnderstandingDataError(f"{where}: unknown audience {sorted(unknown)}")
    return values


def intents_from(data: Mapping[str, Any]) -> list[Intent]:
    out = []
    for raw in data.get("intents") or []:
        intent_id = str(raw.get("id") or "")
        examples = tuple(str(e) for e in raw.get("examples") or ())
        label = str(raw.get("label") or "")
        if not intent_id or not label or len(label) > MAX_LABEL:
            raise UnderstandingDataError(f"intent {intent_id or '?'}: id and a label ≤ 20 chars")
        if len(examples) < 10:
            raise UnderstandingDataError(f"intent {intent_id}: needs 10 or more examples")
        cues = tuple(str(c) for c in raw.get("cues") or ())
        audiences = _audiences(raw.get("audiences"), intent_id)
        out.append(Intent(intent_id, label, examples, audiences, cues))
    if len({i.id for i in out}) != len(out):
        raise UnderstandingDataError("duplicate intent id")
    return out


def smalltalk_from(data: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    return {str(s["id"]): tuple(str(e) for e in s["examples"]) for s in data.get("smalltalk") or []}


def labels_from(faq: FaqIndex, intents_data: Mapping[str, Any]) -> list[Label]:
    labels = [
        Label(Kind.INTENT, i.id, i.examples, audiences=i.audiences, cues=i.cues)
        for i in intents_from(intents_data)
    ]
    labels += [
        Label(Kind.FAQ, e.id, e.all_phrasings, answer=e.answer, audiences=e.audiences, cues=e.cues)
        for e in faq.entries
    ]
    labels += [Label(Kind.SMALLTALK, k, v) for k, v in smalltalk_from(intents_data).items()]
    labels += [
        Label(Kind.OFFTOPIC, k, v, cues=faq.off_topic_cues.get(k, ()))
        for k, v in faq.off_topic.items()
    ]
    return labels


def build(
    faq: FaqIndex | None = None,
    intents_data: Mapping[str, Any] | None = None,
    tuning: Mapping[str, Any] | None = None,
    embedder: CachedEmbedder | None = None,
) -> Understanding:
    faq = faq or default_index()
    intents_data = intents_data if intents_data is not None else _load(INTENTS_PATH)
    tuning = tuning if tuning is not None else _load(TUNING_PATH)
    return Understanding(
        labels_from(faq, intents_data),
        TextPreparer(faq.synonyms, faq.stopwords),
        embedder,
        Fusion(**(tuning.get("fusion") or {})),
        Bands.from_data(tuning.get("bands")),
        Bands.from_data(tuning.get("lexical_only_bands")),
    )


@lru_cache(maxsize=1)
def default_embedder() -> CachedEmbedder | None:
    return load_embedder(default_store())


@lru_cache(maxsize=1)
def default_understanding() -> Understanding:
    """The shipped data and model, built once per process."""
    return build(embedder=default_embedder())


@lru_cache(maxsize=1)
def intents() -> dict[str, Intent]:
    return {i.id: i for i in intents_from(_load(INTENTS_PATH))}
