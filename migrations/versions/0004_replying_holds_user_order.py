"""Events waiting for their reply to be sent ('replying') hold their user's next events back.

The partial index behind the claim's per-user order covers the new status too.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 08:30:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = "0004"
down_revision: Union[str, Sequence[str], None] = "0003"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

OLD = "status IN ('pending', 'processing')"
NEW = "status IN ('pending', 'processing', 'replying')"


def _recreate(where: str, old_where: str) -> None:
    with op.batch_alter_table("webhook_events", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_webhook_events_open_by_user",
            postgresql_where=sa.text(old_where),
            sqlite_where=sa.text(old_where),
        )
        batch_op.create_index(
            "ix_webhook_events_open_by_user",
            ["user_key", "occurred_at", "id"],
            unique=False,
            postgresql_where=sa.text(where),
            sqlite_where=sa.text(where),
        )


def upgrade() -> None:
    _recreate(NEW, OLD)


def downgrade() -> None:
    op.execute("UPDATE webhook_events SET status = 'done' WHERE status = 'replying'")
    _recreate(OLD, NEW)
