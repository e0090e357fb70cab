"""TF-IDF cosine over character 1–2-grams: deterministic, pure Python, robust to typos.

Text is normalised (`common.textnorm.normalize`), then the synonym table maps kana spellings and
paraphrases onto the words the data uses, noise characters are dropped and stop phrases
(question endings that say nothing about the subject) are removed.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence

from common.textnorm import normalize

# Characters that carry no meaning for matching (punctuation, symbols, spaces).
_NOISE = re.compile(r"[^0-9a-z\u3041-\u3096\u30fc\u3400-\u9fff\uf900-\ufaff々〆]+")
GRAM_SIZES = (1, 2)


def grams(value: str, sizes: Sequence[int] = GRAM_SIZES) -> Counter[str]:
    counts: Counter[str] = Counter()
    for n in sizes:
        counts.update(value[i : i + n] for i in range(len(value) - n + 1))
    return counts


class TextPreparer:
    """normalize → synonyms → noise removed → stop phrases removed (unless nothing is left)."""

    def __init__(self, synonyms: Mapping[str, str], stopwords: Sequence[str]) -> None:
        table = {normalize(k): normalize(v) for k, v in synonyms.items()}
        self._synonyms = table
        self._synonym_re = (
            re.compile("|".join(re.escape(k) for k in sorted(table, key=len, reverse=True)))
            if table
            else None
        )
        stops = sorted({normalize(w) for w in stopwords if w}, key=len, reverse=True)
        self._stop_re = re.compile("|".join(re.escape(w) for w in stops)) if stops else None
        # For the sentence-embedding model: the same synonyms, matched whatever the kana, but
        # replaced by the values as written (katakana and kanji kept: the model reads those,
        # not hiragana spellings such as ぽいんと or たいしょく).
        self._written = {
            normalize(k): unicodedata.normalize("NFKC", v) for k, v in synonyms.items()
        }
        self._written_re = (
            re.compile(
                "|".join(_any_kana(k) for k in sorted(table, key=len, reverse=True)), re.IGNORECASE
            )
            if table
            else None
        )

    def __call__(self, value: str) -> str:
        value = normalize(value)
        if self._synonym_re is not None:
            value = self._synonym_re.sub(lambda m: self._synonyms[m.group()], value)
        value = _NOISE.sub("", value)
        if self._stop_re is not None:
            stripped = self._stop_re.sub("", value)
            value = stripped or value
        return value

    def for_cues(self, value: str) -> str:
        """normalize → synonyms → noise removed, stop phrases kept (「連携したい」 stays itself)."""
        value = normalize(value)
        if self._synonym_re is not None:
            value = self._synonym_re.sub(lambda m: self._synonyms[m.group()], value)
        return _NOISE.sub("", value)

    def for_model(self, value: str) -> str:
        """NFKC with the synonyms applied, katakana and kanji as written (the model's input)."""
        value = unicodedata.normalize("NFKC", value)
        if self._written_re is None:
            return value
        return self._written_re.sub(lambda m: self._written[normalize(m.group())], value)


def _any_kana(key: str) -> str:
    """A pattern for `key` (normalised: hiragana) that also matches its katakana spelling."""
    parts = []
    for char in key:
        code = ord(char)
        if 0x3041 <= code <= 0x3096:
            parts.append(f"[{char}{chr(code + 0x60)}]")
        elif char == "ー":
            parts.append("[ーｰ-]")
        else:
            parts.append(re.escape(char))
    return "".join(parts)


class LexicalIndex:
    """Documents (texts) indexed by n-gram; `cosines(query)` → {document number: cosine}."""

    def __init__(self, texts: Sequence[str], prepare: TextPreparer) -> None:
        self.prepare = prepare
        counts = [grams(prepare(t)) for t in texts]
        df: Counter[str] = Counter()
        for c in counts:
            df.update(c.keys())
        n_docs = len(texts)
        self._idf = {g: math.log((n_docs + 1) / (d + 1)) + 1.0 for g, d in df.items()}
        self._unseen_idf = math.log(n_docs + 1) + 1.0
        self._postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for i, c in enumerate(counts):
            for gram, weight in self._unit_vector(c).items():
                self._postings[gram].append((i, weight))

    def _unit_vector(self, counts: Counter[str]) -> dict[str, float]:
        weights = {
            g: (1.0 + math.log(tf)) * self._idf.get(g, self._unseen_idf) for g, tf in counts.items()
        }
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        return {g: w / norm for g, w in weights.items()}

    def knows(self, query: str) -> bool:
        """Whether the query shares a character pair with the indexed texts (one character: the
        character itself). Keyboard mashing (asdfghjkl, ｈｓｊｋ) shares none."""
        value = self.prepare(query)
        pairs = grams(value, (2,)) if len(value) >= 2 else grams(value, (1,))
        return any(gram in self._postings for gram in pairs)

    def cosines(self, query: str) -> dict[int, float]:
        """Cosine with every document sharing an n-gram with the query."""
        dots: dict[int, float] = defaultdict(float)
        for gram, weight in self._unit_vector(grams(self.prepare(query))).items():
            for doc, doc_weight in self._postings.get(gram, ()):
                dots[doc] += weight * doc_weight
        return dots
