"""gunicorn's access log without log-line injection (the Procfile's `--logger-class`).

gunicorn writes `%(U)s` (and headers) decoded, so `/%0D%0Afake` would start a forged line.
Every control character (C0, DEL, C1, the Unicode line separators) and the backslash is
written escaped (`\\x0d`, `\\\\`), as nginx does; gunicorn still escapes `"`.
"""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger, SafeAtoms

_CONTROL = [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)]
_TABLE = {code: f"\\x{code:02x}" for code in _CONTROL}
_TABLE.update({0x5C: "\\\\", 0x2028: "\\u2028", 0x2029: "\\u2029"})


def escape(value: str) -> str:
    """`value` with no character that could end or forge a log line."""
    return value.translate(_TABLE)


class EscapedAtoms(SafeAtoms):
    def __init__(self, atoms: dict[str, Any]) -> None:
        escaped = {k: escape(v) if isinstance(v, str) else v for k, v in atoms.items()}
        super().__init__(escaped)


class AccessLogger(Logger):
    """gunicorn's logger whose access-log fields are escaped."""

    atoms_wrapper_class = EscapedAtoms
