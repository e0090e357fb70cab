"""The simulated users kept in a JSON file, so that they survive a restart of the emulator (the
bot's database keeps their links; `make run` keeps the file under instance/).

The file is a list of users ({user_id, display_name, language, following}); it is rewritten
whole (to a temporary file, then renamed) after every change, so a crash leaves the old or the
new list, never half of one. A file that cannot be read is set aside (renamed `*.bad`) and the
emulator starts with no users, as it would without a file.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

USER_ID_RE = re.compile(r"^U[0-9a-f]{32}$")
MAX_NAME = 100


def _valid(entry: Any) -> bool:
    return (
        isinstance(entry, dict)
        and isinstance(entry.get("user_id"), str)
        and USER_ID_RE.match(entry["user_id"]) is not None
        and isinstance(entry.get("display_name"), str)
        and 0 < len(entry["display_name"]) <= MAX_NAME
    )


def load_users(path: Path) -> list[dict[str, Any]]:
    """The users stored in `path` ([] when there is no file, or it is unreadable)."""
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    try:
        data = json.loads(raw)
        if not isinstance(data, list) or not all(_valid(entry) for entry in data):
            raise ValueError("not a list of users")
    except ValueError:
        os.replace(path, path.with_name(path.name + ".bad"))
        return []
    return [
        {
            "user_id": entry["user_id"],
            "display_name": entry["display_name"],
            "language": str(entry.get("language") or "ja"),
            "following": bool(entry.get("following", True)),
        }
        for entry in data
    ]


def save_users(path: Path, users: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(users, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(temporary, path)
