"""Link requests are found by the bot's own key; LINE's link token is issued by the login page.

The chat handler no longer asks LINE for a link token (a LINE call inside the event's
transaction); it gives the user a login-page URL with a random key, and the page asks LINE for
the token when it is opened. Link requests live ten minutes, so the table is simply rebuilt:
one opened during the upgrade must be asked for again in chat.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 15:00:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = "0006"
down_revision: Union[str, Sequence[str], None] = "0005"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _create(key_column: str, with_token: bool) -> None:
    columns = [
        sa.Column(key_column, sa.String(length=64), nullable=False),
        sa.Column("line_user_id", sa.String(length=64), nullable=False),
        sa.Column("company_code", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
    ]
    if with_token:
        columns.append(sa.Column("link_token_hash", sa.String(length=64), nullable=True))
    op.create_table(
        "link_requests",
        *columns,
        sa.PrimaryKeyConstraint(key_column, name=op.f("pk_link_requests")),
    )
    with op.batch_alter_table("link_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_link_requests_line_user_id"), ["line_user_id"], unique=False
        )


def _drop() -> None:
    with op.batch_alter_table("link_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_link_requests_line_user_id"))
    op.drop_table("link_requests")


def upgrade() -> None:
    _drop()
    _create("key_hash", with_token=True)


def downgrade() -> None:
    _drop()
    _create("token_hash", with_token=False)
