"""Alembic environment: uses the engine handed in by bot.migrate, or DATABASE_URL; compares
against models.Base.metadata unless bot.migrate hands in another (its tests do)."""

from __future__ import annotations

from alembic import context

import models
from models.base import UTCDateTime
from models.db import make_engine

config = context.config
target_metadata = config.attributes.get("metadata", models.Base.metadata)


def render_item(type_: str, obj: object, autogen_context: object) -> str | bool:
    """Render our UTCDateTime as the plain type it stores (migrations must not import models)."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations_online() -> None:
    engine = config.attributes.get("engine")
    if engine is None:
        from common.config import load_settings

        url = (
            config.get_main_option("sqlalchemy.url")
            or load_settings(require_secrets=False).database_url
        )
        engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            render_item=render_item,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()
