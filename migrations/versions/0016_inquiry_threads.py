"""Ticket threads: the messages a requester and the back office exchange on a ticket.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 09:30:00

"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = "0016"
down_revision: Union[str, Sequence[str], None] = "0015"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _id() -> sa.types.TypeEngine:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "inquiry_messages",
        sa.Column("id", _id(), nullable=False),
        sa.Column("inquiry_id", _id(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sender", sa.String(length=16), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("source_key", sa.String(length=100), nullable=False),
        sa.Column("via", sa.String(length=10), nullable=True),
        sa.ForeignKeyConstraint(
            ["inquiry_id"], ["inquiries.id"], name=op.f("fk_inquiry_messages_inquiry_id_inquiries")
        ),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["operators.id"],
            name=op.f("fk_inquiry_messages_operator_id_operators"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inquiry_messages")),
        sa.UniqueConstraint("source_key", name=op.f("uq_inquiry_messages_source_key")),
    )
    op.create_index(op.f("ix_inquiry_messages_inquiry_id"), "inquiry_messages", ["inquiry_id"])
    op.create_index(
        "ix_outgoing_messages_reply_token", "outgoing_messages", ["reply_token"]
    )


def downgrade() -> None:
    op.drop_index("ix_outgoing_messages_reply_token", table_name="outgoing_messages")
    op.drop_index(op.f("ix_inquiry_messages_inquiry_id"), table_name="inquiry_messages")
    op.drop_table("inquiry_messages")
