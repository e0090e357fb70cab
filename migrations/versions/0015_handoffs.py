"""Live chats handed to a person: handoffs and their transcripts; a user's recent events.

Revision ID: 0015
Revises: 0013
Create Date: 2026-12-02 18:40:00

"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = "0015"
down_revision: Union[str, Sequence[str], None] = "0013"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _id() -> sa.types.TypeEngine:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "handoffs",
        sa.Column("id", _id(), nullable=False),
        sa.Column("line_user_id", sa.String(length=64), nullable=False),
        sa.Column("open_key", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("live", sa.Boolean(), nullable=False),
        sa.Column("member_pk", sa.Integer(), nullable=True),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("out_of_hours", sa.Boolean(), nullable=False),
        sa.Column("last_activity_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_user_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reply_token", sa.String(length=200), nullable=True),
        sa.Column("reply_deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=300), nullable=True),
        sa.Column("close_reason", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_pk"], ["members.id"], name=op.f("fk_handoffs_member_pk_members")
        ),
        sa.ForeignKeyConstraint(
            ["assignee_id"], ["operators.id"], name=op.f("fk_handoffs_assignee_id_operators")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handoffs")),
        sa.UniqueConstraint("open_key", name=op.f("uq_handoffs_open_key")),
    )
    op.create_index(op.f("ix_handoffs_line_user_id"), "handoffs", ["line_user_id"])
    op.create_index(op.f("ix_handoffs_status"), "handoffs", ["status"])
    op.create_index(op.f("ix_handoffs_last_activity_at"), "handoffs", ["last_activity_at"])
    op.create_table(
        "handoff_messages",
        sa.Column("id", _id(), nullable=False),
        sa.Column("handoff_id", _id(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sender", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=True),
        sa.Column("client_key", sa.String(length=64), nullable=True),
        sa.Column("read_token", sa.String(length=300), nullable=True),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("before_handoff", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["handoff_id"], ["handoffs.id"], name=op.f("fk_handoff_messages_handoff_id_handoffs")
        ),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["operators.id"],
            name=op.f("fk_handoff_messages_operator_id_operators"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handoff_messages")),
        sa.UniqueConstraint("client_key", name=op.f("uq_handoff_messages_client_key")),
    )
    op.create_index(op.f("ix_handoff_messages_handoff_id"), "handoff_messages", ["handoff_id"])
    op.create_index(op.f("ix_handoff_messages_at"), "handoff_messages", ["at"])
    op.create_index("ix_webhook_events_user_recent", "webhook_events", ["user_key", "occurred_at"])


def downgrade() -> None:
    op.drop_index("ix_webhook_events_user_recent", table_name="webhook_events")
    op.drop_index(op.f("ix_handoff_messages_at"), table_name="handoff_messages")
    op.drop_index(op.f("ix_handoff_messages_handoff_id"), table_name="handoff_messages")
    op.drop_table("handoff_messages")
    op.drop_index(op.f("ix_handoffs_last_activity_at"), table_name="handoffs")
    op.drop_index(op.f("ix_handoffs_status"), table_name="handoffs")
    op.drop_index(op.f("ix_handoffs_line_user_id"), table_name="handoffs")
    op.drop_table("handoffs")
