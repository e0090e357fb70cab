"""Queueing outbox rows on PostgreSQL: one INSERT ... SELECT unnest(arrays), whatever the count.

SQLAlchemy's executemany with RETURNING writes a VALUES list as long as the batch (a new
statement text for every batch size, which psycopg parses again each time: a tenth of the
reminder sender's CPU). Arrays keep one statement text: the rows go as twelve array parameters.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, text

_COLUMNS = (
    ("dedupe_key", "text"),
    ("to", "json"),
    ("messages", "json"),
    ("reply_token", "text"),
    ("reply_deadline", "timestamptz"),
    ("retry_key", "text"),
    ("status", "text"),
    ("attempts", "int"),
    ("next_attempt_at", "timestamptz"),
    ("created_at", "timestamptz"),
    ("reply_ambiguous", "boolean"),
    ("respects_quiet_hours", "boolean"),
)
_JSON = {name for name, kind in _COLUMNS if kind == "json"}

_INSERT = text(
    "INSERT INTO outgoing_messages ("
    + ", ".join(f'"{name}"' for name, _ in _COLUMNS)
    + ") SELECT "
    + ", ".join(
        f'CAST(t."{name}" AS json)' if kind == "json" else f't."{name}"' for name, kind in _COLUMNS
    )
    + " FROM unnest("
    + ", ".join(
        f"CAST(:{name} AS {'text' if kind == 'json' else kind}[])" for name, kind in _COLUMNS
    )
    + ") AS t("
    + ", ".join(f'"{name}"' for name, _ in _COLUMNS)
    + ") ON CONFLICT (dedupe_key) DO NOTHING RETURNING id, dedupe_key"
)


def _value(name: str, row: dict[str, Any]) -> Any:
    value = row[name]
    if name in _JSON:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return value


def insert_outbox_rows(conn: Connection, rows: Sequence[dict[str, Any]]) -> list[tuple[int, str]]:
    """(id, dedupe_key) of the rows inserted; rows whose dedupe key is queued are skipped."""
    params = {name: [_value(name, row) for row in rows] for name, _ in _COLUMNS}
    return [(int(row_id), key) for row_id, key in conn.execute(_INSERT, params)]
