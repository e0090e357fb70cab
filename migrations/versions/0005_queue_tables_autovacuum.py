"""Vacuum the queue-like tables early (PostgreSQL).

webhook_events and outgoing_messages take a row per event and per message, each updated a
few times within seconds (pending → processing → replying → done) and deleted after
RETENTION_DAYS. PostgreSQL's default waits until 20% of a table has changed before it vacuums
it: on a table of millions of rows the partial indexes of open rows then fill with dead
entries and every claim walks them. Vacuum after a fixed number of changed rows instead.
SQLite: nothing to do.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 14:00:00

"""
from typing import Sequence, Union

from alembic import op


revision: str = "0005"
down_revision: Union[str, Sequence[str], None] = "0004"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

TABLES = ("webhook_events", "outgoing_messages")
SETTINGS = (
    "autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10000, "
    "autovacuum_vacuum_insert_scale_factor = 0, autovacuum_vacuum_insert_threshold = 50000, "
    "autovacuum_analyze_scale_factor = 0.02"
)
NAMES = (
    "autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold, "
    "autovacuum_vacuum_insert_scale_factor, autovacuum_vacuum_insert_threshold, "
    "autovacuum_analyze_scale_factor"
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} SET ({SETTINGS})")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} RESET ({NAMES})")
