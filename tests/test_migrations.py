"""Alembic migrations build exactly the schema the models describe, on this backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

import models
from bot.migrate import upgrade_database
from models.db import is_postgres, make_engine


def test_migrations_match_the_models(database_url, tmp_path):
    if database_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'migrated.sqlite3'}"
        engine = make_engine(url)
    else:
        engine = make_engine(database_url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS migration_check CASCADE"))
            conn.execute(text("CREATE SCHEMA migration_check"))
        engine.dispose()
        engine = make_engine(
            database_url, connect_args={"options": "-csearch_path=migration_check"}
        )
    try:
        upgrade_database(engine)
        upgrade_database(engine)  # a second upgrade is a no-op
        with engine.connect() as conn:
            diff = compare_metadata(
                MigrationContext.configure(conn, opts={"compare_type": True}),
                models.Base.metadata,
            )
            tables = set(inspect(conn).get_table_names())
        assert diff == []
        assert {t.name for t in models.Base.metadata.sorted_tables} <= tables
    finally:
        if is_postgres(engine):
            with engine.begin() as conn:
                conn.execute(text("DROP SCHEMA IF EXISTS migration_check CASCADE"))
        engine.dispose()
