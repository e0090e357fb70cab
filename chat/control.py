"""Recognise the words that steer a flow (cancel, back, help, start over), however typed.

Pure: `recognize(text)` returns the control it means, or None. The word lists are data
(`control_words.yaml`); matching runs on `common.textnorm.normalize`d text, kanji spellings read
as kana (戻って = もどって), without punctuation or emoji, with up to two leading fillers
(やっぱり, もう, …) and polite or casual endings and conjugations (です, ます, してください, ね,
って, …) dropped; one slip is forgiven in kana or Latin words of four characters or more. A
short utterance that contains one of `contains` (やり直, 最初から, …) or matches one of
`patterns` (何…書けば, …) means that control too, and a lone question mark asks for help.
What the control acts on may lead (申請取りやめで, この依頼はやめておきます: `objects`), and an
utterance of several clauses (一旦やめます、また今度にします) is that control when every clause
says it.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from enum import StrEnum
from functools import lru_cache
from importlib import resources

import yaml

from common.textnorm import normalize

TYPO_MIN_CHARS = 4  # shorter words must match exactly: one slip in 3 characters is another word
TYPO_MIN_RATIO = 0.8
CONTAINS_MAX_CHARS = 16  # `contains` fragments steer short utterances only, never a sentence
PATTERN_MAX_CHARS = 20  # `patterns` likewise
_CLAUSES = re.compile(r"[、。,.!！\s]+|ので|けど")


class Control(StrEnum):
    CANCEL = "cancel"
    BACK = "back"
    HELP = "help"
    RESTART = "restart"


@lru_cache(maxsize=1)
def _data() -> dict[str, list[str]]:
    raw = resources.files("chat").joinpath("control_words.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(raw)


@lru_cache(maxsize=1)
def _affixes() -> tuple[tuple[str, ...], tuple[str, ...]]:
    data = _data()
    endings = sorted({normalize(e) for e in data["endings"]}, key=len, reverse=True)
    fillers = sorted({normalize(f) for f in data["fillers"]}, key=len, reverse=True)
    return tuple(e for e in endings if e), tuple(f for f in fillers if f)


@lru_cache(maxsize=1)
def _readings() -> tuple[tuple[str, str], ...]:
    pairs = {normalize(k): normalize(v) for k, v in _data()["readings"].items()}
    return tuple(sorted(pairs.items(), key=lambda kv: len(kv[0]), reverse=True))


def _read(value: str) -> str:
    for kanji, kana in _readings():
        value = value.replace(kanji, kana)
    return value


def _strip_marks(value: str) -> str:
    """Only letters, digits and the long-vowel mark: no punctuation, symbols, emoji or spaces."""
    return "".join(c for c in value if unicodedata.category(c)[0] in "LN" or c == "ー")


def _drop_endings(value: str) -> str:
    endings, _ = _affixes()
    changed = True
    while changed:
        changed = False
        for ending in endings:
            if len(value) > len(ending) and value.endswith(ending):
                value = value[: -len(ending)]
                changed = True
                break
    return value


def reduce(text: str) -> str:
    """The core of a short utterance: normalised, without marks and endings."""
    return _drop_endings(_strip_marks(_read(normalize(text))))


@lru_cache(maxsize=1)
def _words() -> dict[str, Control]:
    words: dict[str, Control] = {}
    for control in Control:
        for word in _data()[control.value]:
            core = reduce(str(word))
            if core in words and words[core] is not control:
                raise ValueError(f"control word {word!r} means both {words[core]} and {control}")
            words[core] = control
    return words


@lru_cache(maxsize=1)
def _fragments() -> tuple[tuple[str, Control], ...]:
    pairs = [
        (_drop_endings(_read(normalize(str(fragment)))), Control(name))
        for name, fragments in (_data().get("contains") or {}).items()
        for fragment in fragments
    ]
    return tuple(sorted(pairs, key=lambda p: len(p[0]), reverse=True))


@lru_cache(maxsize=1)
def _objects() -> re.Pattern[str]:
    """A leading 「(この)申請(を|は)」: what the control acts on."""
    data = _data().get("objects") or {}
    alternatives = [
        "|".join(re.escape(_read(normalize(str(w)))) for w in sorted(words, key=len, reverse=True))
        for words in (data["determiners"], data["nouns"], data["particles"])
    ]
    determiners, nouns, particles = alternatives
    return re.compile(f"^(?:{determiners})?(?:{nouns})(?:{particles})?")


@lru_cache(maxsize=1)
def _patterns() -> tuple[tuple[re.Pattern[str], Control], ...]:
    return tuple(
        (re.compile(_read(normalize(str(pattern)))), Control(name))
        for name, patterns in (_data().get("patterns") or {}).items()
        for pattern in patterns
    )


def _cores(core: str) -> list[str]:
    """`core` without leading fillers (up to two) and what the control acts on."""
    _, fillers = _affixes()
    found = [core]
    for _ in range(2):
        filler = next((f for f in fillers if len(core) > len(f) and core.startswith(f)), None)
        if filler is None:
            break
        core = core[len(filler) :]
        found.append(core)
    objects = _objects()
    for value in list(found):
        match = objects.match(value)
        if match and 0 < match.end() < len(value):
            found.append(value[match.end() :])
    return [_drop_endings(value) for value in found]


def _candidates(text: str) -> list[str]:
    return _cores(_strip_marks(_read(normalize(text))))


def _kana_or_latin(value: str) -> bool:
    """Typing slips are forgiven in kana and Latin words only: a different kanji is a
    different word."""
    return all("\u3041" <= c <= "\u309f" or c == "ー" or c.isascii() for c in value)


def recognize(text: str) -> Control | None:
    """The control word `text` means, or None (then it is an ordinary answer)."""
    if len(text) > 40:  # a sentence, not a control word
        return None
    if text.strip() and set(normalize(text).replace(" ", "")) <= {"?"}:
        return Control.HELP  # 「?」「？？」 alone
    found = _recognize(_candidates(text))
    if found is not None:
        return found
    clauses = [c for c in _CLAUSES.split(_read(normalize(text))) if _strip_marks(c)]
    if len(clauses) < 2:
        return None
    said = {_recognize(_cores(_strip_marks(clause))) for clause in clauses}
    return said.pop() if len(said) == 1 else None  # every clause, the same control


def _recognize(candidates: list[str]) -> Control | None:
    words = _words()
    for core in candidates:
        if core in words:
            return words[core]
    for core in candidates:
        if len(core) <= CONTAINS_MAX_CHARS:
            for fragment, control in _fragments():
                if fragment in core:
                    return control
    for core in candidates:
        if len(core) <= PATTERN_MAX_CHARS:
            for pattern, control in _patterns():
                if pattern.search(core):
                    return control
    for core in candidates:
        if len(core) < TYPO_MIN_CHARS or not _kana_or_latin(core):
            continue
        close = difflib.get_close_matches(core, words, n=1, cutoff=TYPO_MIN_RATIO)
        if close and len(close[0]) >= TYPO_MIN_CHARS:
            return words[close[0]]
    return None


def is_control_word(text: str) -> bool:
    return recognize(text) is not None
