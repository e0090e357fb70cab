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


def test_0008_names_each_recorded_action_once_even_where_the_old_race_ran_it_twice(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'backfill.sqlite3'}")
    try:
        upgrade_database(engine, "0007")
        now = "2026-12-01 00:00:00"
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO inquiries (id, type, status, requester_kind, line_user_id, "
                    "answers, created_at, updated_at) VALUES (1, 'add_seats', 'new', "
                    "'hr_contact', 'U1', '{}', :now, :now)"
                ),
                {"now": now},
            )
            for details in ('{"action": "add_seats"}', '{"action": "add_seats"}', "{}"):
                kind = "action" if details != "{}" else "created"
                conn.execute(
                    text(
                        "INSERT INTO inquiry_events (inquiry_id, at, actor, kind, details) "
                        "VALUES (1, :now, 'operator:x', :kind, :details)"
                    ),
                    {"now": now, "kind": kind, "details": details},
                )
        upgrade_database(engine)
        with engine.connect() as conn:
            names = conn.execute(text("SELECT action FROM inquiry_events ORDER BY id")).all()
            sensitive = conn.execute(text("SELECT count(*) FROM outgoing_mail")).scalar()
        assert [n[0] for n in names] == ["add_seats", None, None]
        assert sensitive == 0
        command_downgrade(engine, "0007")
        with engine.connect() as conn:
            columns = {c["name"] for c in inspect(conn).get_columns("inquiry_events")}
        assert "action" not in columns
    finally:
        engine.dispose()


def command_downgrade(engine, revision: str) -> None:
    from alembic import command

    from bot.migrate import alembic_config

    command.downgrade(alembic_config(engine), revision)
