"""Is this a person's name? Pure: `name_problem(text)` is None for a plausible name, else the
reason ("empty", "too_long", "no_letters", "control_word")."""

from __future__ import annotations

import unicodedata

from chat.control import is_control_word

NAME_MAX = 50


def clean_name(text: str) -> str:
    """NFKC, spaces collapsed (a full-width space between family and given name stays one)."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


def name_problem(text: str, max_chars: int = NAME_MAX) -> str | None:
    value = clean_name(text)
    if not value:
        return "empty"
    if len(value) > max_chars:
        return "too_long"
    if not any(unicodedata.category(c).startswith("L") for c in value):
        return "no_letters"  # emoji, symbols or digits only: 🙂, ！！, 1234
    if is_control_word(value):
        return "control_word"
    return None
