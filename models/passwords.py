"""Passwords: generated with `secrets`, stored only as Argon2id hashes (memory-hard).

The parameters follow OWASP's Argon2id recommendation (19 MiB, 2 passes, 1 lane). Hashes carry
their own parameters, so raising them later only needs `needs_rehash` at the next login.
"""

from __future__ import annotations

import contextlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# Letters and digits without look-alikes (no O/0, I/1/l, no lower-case L), for codes and IDs
# that people read off paper and type on phones.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
# Passwords add lower case (still without look-alikes): 10 characters ≈ 57 bits.
PASSWORD_ALPHABET = CODE_ALPHABET + "abcdefghjkmnpqrstuvwxyz"
PASSWORD_LENGTH = 10

DEFAULT_PARAMETERS = {"time_cost": 2, "memory_cost": 19456, "parallelism": 1}
_hasher = PasswordHasher(**DEFAULT_PARAMETERS)
_dummy_hash: str | None = None


def configure(*, time_cost: int, memory_cost: int, parallelism: int) -> None:
    """Change the hashing cost (tests use a cheap one; production keeps the default)."""
    global _hasher, _dummy_hash
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)
    _dummy_hash = None


def random_string(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def generate_password(length: int = PASSWORD_LENGTH) -> str:
    """A random initial password with at least one upper-case letter, lower-case letter, digit."""
    while True:
        value = random_string(PASSWORD_ALPHABET, length)
        if (
            any(c.isupper() for c in value)
            and any(c.islower() for c in value)
            and any(c.isdigit() for c in value)
        ):
            return value


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True if `password` matches. With no hash (unknown user) a dummy hash is still checked,
    so that the answer takes the same time whether the user exists or not."""
    global _dummy_hash
    if password_hash is None:
        if _dummy_hash is None:
            _dummy_hash = _hasher.hash(secrets.token_urlsafe(16))
        password_hash = _dummy_hash
        password = password + "\x00never"
        with contextlib.suppress(VerificationError, InvalidHashError):
            _hasher.verify(password_hash, password)
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
