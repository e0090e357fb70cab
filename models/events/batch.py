"""UPDATE many rows by id in one round trip, shared by the inbox and the outbox."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session


def update_rows(
    session: Session,
    statements: tuple[Any, Any],
    names: Sequence[str],
    rows: Sequence[Sequence[Any]],
    **shared: Any,
) -> None:
    """UPDATE many rows by id, each with values of its own (`rows`: tuples in `names` order):
    on PostgreSQL one statement over one array per name, elsewhere an executemany.
    `statements`: (the executemany one, the PostgreSQL one); `shared`: values for all rows."""
    generic, postgres = statements
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        arrays = [list(column) for column in zip(*rows, strict=True)]
        conn.execute(postgres, {**dict(zip(names, arrays, strict=True)), **shared})
    else:
        conn.execute(generic, [{**dict(zip(names, row, strict=True)), **shared} for row in rows])
