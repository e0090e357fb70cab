"""LINE-style identifiers the emulator mints (webhook event ids are ULIDs)."""

from __future__ import annotations

import secrets
import time

CROCKFORD32 = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_ulid(now: float | None = None) -> str:
    """A 26-character ULID (48-bit ms timestamp + 80 random bits, Crockford base32)."""
    ms = int((time.time() if now is None else now) * 1000) & ((1 << 48) - 1)
    value = (ms << 80) | secrets.randbits(80)
    chars = []
    for _ in range(26):
        chars.append(CROCKFORD32[value & 31])
        value >>= 5
    return "".join(reversed(chars))
