"""One-click actions are claimed by a unique row; mail bodies with credentials are marked.

`inquiry_events.action` names the action of an "action" entry, and a unique index on
(inquiry_id, action) lets each action run at most once per ticket, atomically (issue 16.1).
Existing action entries are backfilled from `details`; where the old race already recorded an
action twice, only the first entry gets the name (the later ones stay in the history).

`outgoing_mail.sensitive` marks a mail whose body holds credentials: its body is redacted
once it is sent or given up (issue 16.11).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 15:30:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = "0008"
down_revision: Union[str, Sequence[str], None] = "0007"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_events = sa.table(
    "inquiry_events",
    sa.column("id", sa.Integer),
    sa.column("inquiry_id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("action", sa.String),
    sa.column("details", sa.JSON),
)


def _backfill() -> None:
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(_events.c.id, _events.c.inquiry_id, _events.c.details)
        .where(_events.c.kind == "action")
        .order_by(_events.c.id)
    ).all()
    seen: set[tuple[int, str]] = set()
    for row in rows:
        name = (row.details or {}).get("action")
        if not isinstance(name, str) or not name or (row.inquiry_id, name) in seen:
            continue
        seen.add((row.inquiry_id, name))
        conn.execute(
            sa.update(_events).where(_events.c.id == row.id).values(action=name[:30])
        )


def upgrade() -> None:
    with op.batch_alter_table("inquiry_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("action", sa.String(length=30), nullable=True))
    _backfill()
    with op.batch_alter_table("inquiry_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_inquiry_events_action_once", ["inquiry_id", "action"], unique=True
        )
    with op.batch_alter_table("outgoing_mail", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("sensitive", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("outgoing_mail", schema=None) as batch_op:
        batch_op.drop_column("sensitive")
    with op.batch_alter_table("inquiry_events", schema=None) as batch_op:
        batch_op.drop_index("ix_inquiry_events_action_once")
        batch_op.drop_column("action")
