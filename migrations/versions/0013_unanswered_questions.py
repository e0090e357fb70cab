"""Questions the bot did not understand, counted per normalised text and audience.

Revision ID: 0013
Revises: 0009
Create Date: 2026-12-02 15:30:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = "0013"
down_revision: Union[str, Sequence[str], None] = "0009"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "unanswered_questions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(length=200), nullable=False),
        sa.Column("audience", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unanswered_questions")),
        sa.UniqueConstraint(
            "text", "audience", name=op.f("uq_unanswered_questions_text_audience")
        ),
    )
    op.create_index(
        op.f("ix_unanswered_questions_last_seen"),
        "unanswered_questions",
        ["last_seen"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_unanswered_questions_last_seen"), table_name="unanswered_questions")
    op.drop_table("unanswered_questions")
