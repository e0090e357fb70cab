"""Bounds on what a console request types: search terms and path keys are cut to a length and
lose control characters (PostgreSQL refuses a NUL in a text parameter: that would be a 500)."""

from __future__ import annotations

QUERY_MAX = 50


def term(value: str | None, limit: int = QUERY_MAX) -> str:
    text = "".join(c for c in (value or "")[: limit * 4] if ord(c) >= 0x20 and ord(c) != 0x7F)
    return text.strip()[:limit]
