"""Console sessions kept server-side, operator roles, login guards.

- `console_sessions`: a console login's session (revocable; idle and absolute limits).
- `operators.role`: `admin` or `operator`. Operators that exist before this revision could do
  everything, so they become `admin`; new ones are `operator` unless created otherwise.
- `login_guards`: the attempt counters of the login forms (one row per scope and key).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 15:00:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = "0007"
down_revision: Union[str, Sequence[str], None] = "0006"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("operators", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("role", sa.String(length=20), nullable=False, server_default="admin")
        )
    with op.batch_alter_table("operators", schema=None) as batch_op:
        batch_op.alter_column("role", server_default=None)

    op.create_table(
        "console_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["operators.id"],
            name=op.f("fk_console_sessions_operator_id_operators"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_console_sessions")),
    )
    with op.batch_alter_table("console_sessions", schema=None) as batch_op:
        batch_op.create_index("ix_console_sessions_operator_id", ["operator_id"], unique=False)

    op.create_table(
        "login_guards",
        sa.Column("scope", sa.String(length=30), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("scope", "key", name=op.f("pk_login_guards")),
    )


def downgrade() -> None:
    op.drop_table("login_guards")
    with op.batch_alter_table("console_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_console_sessions_operator_id")
    op.drop_table("console_sessions")
    with op.batch_alter_table("operators", schema=None) as batch_op:
        batch_op.drop_column("role")
