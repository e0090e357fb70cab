"""Queueing outbox rows on PostgreSQL: one INSERT ... SELECT from one JSON parameter.

SQLAlchemy's executemany with RETURNING writes a VALUES list as long as the batch (a new
statement text for every batch size, which psycopg parses again each time), and arrays of
JSON texts are escaped by psycopg element by element in Python: either was a fifth of the
reminder sender's CPU. The rows go as one JSON document (encoded by json.dumps in C) that
PostgreSQL unpacks with json_to_recordset: one statement text, one parameter.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
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
_NAMES = ", ".join(f'"{name}"' for name, _ in _COLUMNS)

_INSERT = text(
    f"INSERT INTO outgoing_messages ({_NAMES}) SELECT {_NAMES}"
    " FROM json_to_recordset(CAST(:rows AS json)) AS t("
    + ", ".join(f'"{name}" {kind}' for name, kind in _COLUMNS)
    + ") ON CONFLICT (dedupe_key) DO NOTHING RETURNING id, dedupe_key"
)


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def insert_outbox_rows(conn: Connection, rows: Sequence[dict[str, Any]]) -> list[tuple[int, str]]:
    """(id, dedupe_key) of the rows inserted; rows whose dedupe key is queued are skipped."""
    document = json.dumps(
        [{name: row[name] for name, _ in _COLUMNS} for row in rows],
        ensure_ascii=False,
        separators=(",", ":"),
        default=_iso,
    )
    return [(int(row_id), key) for row_id, key in conn.execute(_INSERT, {"rows": document})]
