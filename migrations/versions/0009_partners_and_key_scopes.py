"""Partners own their API keys and the points operations they create; keys carry scopes.

Every existing key becomes a partner of the same name with every scope (what it could do
before). Operations made through a key (idempotency key "api:<key id>:…") are attributed to
that key and its partner, and so are the lots, purchases and exchanges they created. The audit
log's actor and target grow to 300 characters (an operator's e-mail may have 254).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 15:00:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = "0009"
down_revision: Union[str, Sequence[str], None] = "0008"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

ALL_SCOPES = "read earn redeem grant revoke"
OWNED = ("point_lots", "point_purchases", "point_exchanges")


def upgrade() -> None:
    op.create_table(
        "partners",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partners")),
        sa.UniqueConstraint("name", name=op.f("uq_partners_name")),
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("partner_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("scopes", sa.String(length=100), nullable=True))
        batch_op.add_column(
            sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True)
        )
    op.execute(
        "INSERT INTO partners (name, created_at) SELECT name, created_at FROM api_keys"
    )
    op.execute(
        "UPDATE api_keys SET scopes = '" + ALL_SCOPES + "', partner_id = "
        "(SELECT p.id FROM partners p WHERE p.name = api_keys.name)"
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.alter_column("partner_id", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("scopes", existing_type=sa.String(length=100), nullable=False)
        batch_op.create_index(batch_op.f("ix_api_keys_partner_id"), ["partner_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_api_keys_partner_id_partners"), "partners", ["partner_id"], ["id"]
        )

    with op.batch_alter_table("point_operations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("partner_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("api_key_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_point_operations_partner_id"), ["partner_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_point_operations_partner_id_partners"),
            "partners",
            ["partner_id"],
            ["id"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_point_operations_api_key_id_api_keys"),
            "api_keys",
            ["api_key_id"],
            ["id"],
        )
    op.execute(
        "UPDATE point_operations SET api_key_id = (SELECT k.id FROM api_keys k"
        " WHERE point_operations.idempotency_key LIKE 'api:' || k.id || ':%')"
        " WHERE idempotency_key LIKE 'api:%'"
    )
    op.execute(
        "UPDATE point_operations SET partner_id = (SELECT k.partner_id FROM api_keys k"
        " WHERE k.id = point_operations.api_key_id) WHERE api_key_id IS NOT NULL"
    )

    for table in OWNED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("partner_id", sa.Integer(), nullable=True))
            batch_op.create_foreign_key(
                batch_op.f(f"fk_{table}_partner_id_partners"), "partners", ["partner_id"], ["id"]
            )
    creator = (
        "SELECT o.partner_id FROM point_entries e"
        " JOIN point_operations o ON o.id = e.operation_id WHERE {match}"
    )
    op.execute(
        "UPDATE point_lots SET partner_id = ("
        + creator.format(match="e.lot_id = point_lots.id AND e.kind IN ('earn', 'grant')")
        + " LIMIT 1)"
    )
    op.execute(
        "UPDATE point_purchases SET partner_id = ("
        + creator.format(
            match="e.source_ref = point_purchases.purchase_ref AND e.kind = 'redeem'"
        )
        + " LIMIT 1)"
    )
    op.execute(
        "UPDATE point_exchanges SET partner_id = ("
        + creator.format(
            match="e.source_ref = point_exchanges.reward_ref AND e.kind = 'exchange'"
        )
        + " LIMIT 1)"
    )

    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        for column in ("actor", "target"):
            batch_op.alter_column(
                column,
                existing_type=sa.String(length=100),
                type_=sa.String(length=300),
                existing_nullable=False,
            )


def downgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        for column in ("actor", "target"):
            batch_op.alter_column(
                column,
                existing_type=sa.String(length=300),
                type_=sa.String(length=100),
                existing_nullable=False,
            )
    for table in OWNED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(f"fk_{table}_partner_id_partners", type_="foreignkey")
            batch_op.drop_column("partner_id")
    with op.batch_alter_table("point_operations", schema=None) as batch_op:
        batch_op.drop_constraint("fk_point_operations_api_key_id_api_keys", type_="foreignkey")
        batch_op.drop_constraint("fk_point_operations_partner_id_partners", type_="foreignkey")
        batch_op.drop_index("ix_point_operations_partner_id")
        batch_op.drop_column("api_key_id")
        batch_op.drop_column("partner_id")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_constraint("fk_api_keys_partner_id_partners", type_="foreignkey")
        batch_op.drop_index("ix_api_keys_partner_id")
        batch_op.drop_column("revoked_at")
        batch_op.drop_column("scopes")
        batch_op.drop_column("partner_id")
    op.drop_table("partners")
