"""The one normalisation of Japanese user input, applied before any matching.

`normalize` is applied to both sides of every comparison (router keywords and user text,
FAQ phrasings and questions), so compare `normalize(a) == normalize(b)`, never
`normalize(a) == "literal"` unless the literal is already normalised (hiragana, lower case).
"""

from __future__ import annotations

import re
import unicodedata

# Dash, minus and long-vowel look-alikes (after NFKC, which already turns ｰ into ー).
_DASH_CHARS = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc\uff70\uff0d\u2500\u2501\u02d7-"
_DASHES = re.compile(f"[{_DASH_CHARS}]")
_NON_KANA_DASHES = re.compile(f"[{_DASH_CHARS.replace(chr(0x30FC), '')}]")
_WAVES = re.compile("[\u301c\uff5e\u223c~]")
# A dash after a kana (or after another long-vowel mark) is a long vowel: パスワ-ド → ぱすわーど.
_KANA_DASH = re.compile(f"(?<=[\u3041-\u3096\u30a1-\u30fa\u30fcー])[{_DASH_CHARS}]+")
_SPACES = re.compile(r"\s+")

# Katakana (ァ..ヶ, ヽ, ヾ) → hiragana: same code point offset.
_KATA_TO_HIRA = {cp: cp - 0x60 for cp in range(0x30A1, 0x30F7)}
_KATA_TO_HIRA.update({0x30FD: 0x309D, 0x30FE: 0x309E})

# Spelling variants of the same word, applied after folding (keys are already folded).
# Keep this table small and unambiguous: it runs on every message.
SYNONYMS: dict[str, str] = {
    "問合せ": "問い合わせ",
    "問合わせ": "問い合わせ",
    "問い合せ": "問い合わせ",
    "申し込": "申込",
    "分からな": "わからな",
    "判らな": "わからな",
    "解らな": "わからな",
    "出来": "でき",
    "下さい": "ください",
    "頂け": "いただけ",
    "致し": "いたし",
    "無くし": "なくし",
    "失くし": "なくし",
    "引継": "引き継",
    "取り消": "取消",
    "払い戻": "払戻",
    "めーるあどれす": "めーる",
}
# ASCII abbreviations, matched only as whole words.
ASCII_SYNONYMS: dict[str, str] = {
    "pw": "ぱすわーど",
    "pass": "ぱすわーど",
    "password": "ぱすわーど",
    "passwd": "ぱすわーど",
    "mail": "めーる",
    "email": "めーる",
    "e-mail": "めーる",
    "pt": "ぽいんと",
    "pts": "ぽいんと",
    "point": "ぽいんと",
    "points": "ぽいんと",
}

_SYNONYM_RE = re.compile("|".join(re.escape(k) for k in sorted(SYNONYMS, key=len, reverse=True)))
_ASCII_RE = re.compile(
    r"(?<![a-z])("
    + "|".join(re.escape(k) for k in sorted(ASCII_SYNONYMS, key=len, reverse=True))
    + r")(?![a-z0-9])"
)


def fold_kana(value: str) -> str:
    """Katakana → hiragana (the long-vowel mark ー is kept)."""
    return value.translate(_KATA_TO_HIRA)


def normalize(value: str) -> str:
    """NFKC, lower case, long vowels unified, katakana folded to hiragana, spelling variants
    unified, single spaces, trimmed."""
    value = unicodedata.normalize("NFKC", value).lower()
    value = _WAVES.sub("~", value)
    value = _KANA_DASH.sub(lambda m: "ー" * len(m.group()), value)
    value = _NON_KANA_DASHES.sub("-", value)
    value = fold_kana(value)
    value = _SYNONYM_RE.sub(lambda m: SYNONYMS[m.group()], value)
    value = _ASCII_RE.sub(lambda m: ASCII_SYNONYMS[m.group(1)], value)
    return _SPACES.sub(" ", value).strip()


def normalize_code(value: str) -> str:
    """A code typed on a phone (full-width, lower case, spaces, hyphens) → upper-case ASCII."""
    value = unicodedata.normalize("NFKC", value)
    value = _DASHES.sub("", value)
    value = _WAVES.sub("", value)
    return re.sub(r"[\s\-_]", "", value).upper()
