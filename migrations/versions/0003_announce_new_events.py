"""Announce new webhook events to listening workers (PostgreSQL NOTIFY from a trigger).

A statement-level trigger on webhook_events says NOTIFY benesapo_new_events when an INSERT
added rows (a redelivered event, skipped by ON CONFLICT DO NOTHING, adds none). PostgreSQL
delivers it on commit; `benesapo worker` LISTENs (bot/wakeups.py) and claims at once instead
of at its next poll. The webhook needs no extra round trip for it. SQLite: nothing to do.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 08:30:00

"""
from typing import Sequence, Union

from alembic import op


revision: str = "0003"
down_revision: Union[str, Sequence[str], None] = "0002"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE FUNCTION benesapo_announce_new_events() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF EXISTS (SELECT 1 FROM new_events) THEN
                PERFORM pg_notify('benesapo_new_events', '');
            END IF;
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER webhook_events_announce
        AFTER INSERT ON webhook_events
        REFERENCING NEW TABLE AS new_events
        FOR EACH STATEMENT EXECUTE FUNCTION benesapo_announce_new_events()
        """
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER webhook_events_announce ON webhook_events")
    op.execute("DROP FUNCTION benesapo_announce_new_events()")
