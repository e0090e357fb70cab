"""The one normalisation of Japanese user input, applied before any matching."""

from __future__ import annotations

import re
import unicodedata

_DASHES = re.compile("[\u2010-\u2015\u2212\u30fc\uff70\uff0d\u2500\u2501~\u301c\uff5e]")
_SPACES = re.compile(r"\s+")


def normalize(value: str) -> str:
    """NFKC, lower case, one kind of dash/long vowel, single spaces, trimmed."""
    value = unicodedata.normalize("NFKC", value).lower()
    value = _DASHES.sub("ー", value)
    return _SPACES.sub(" ", value).strip()


def normalize_code(value: str) -> str:
    """A code typed on a phone (full-width, lower case, spaces, hyphens) → upper-case ASCII."""
    value = unicodedata.normalize("NFKC", value)
    value = _DASHES.sub("", value)
    return re.sub(r"[\s\-_]", "", value).upper()
