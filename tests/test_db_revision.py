"""`benesapo db revision -m "…"`: Alembic autogenerate against the models, on a temporary copy
of migrations/. A model change gives the next numbered file, chained to the head, which applied
makes the schema match the models (test_migrations' comparison); no change writes nothing."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from click.testing import CliRunner
from sqlalchemy import Column, Engine, ForeignKey, Integer, MetaData, String, Table, text

import models
from bot import migrate
from bot.cli import cli
from bot.migrate import MIGRATIONS_DIR, alembic_config, new_revision, upgrade_database
from models.base import NAMING_CONVENTION, UTCDateTime
from models.db import is_postgres, make_engine


@pytest.fixture
def copy(tmp_path) -> Path:
    """migrations/ copied aside: what the command writes lands here, never in the tree."""
    target = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def _changed_models() -> MetaData:
    """The models plus a new table (FK, index, UTC time) and a new column on api_keys."""
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    for table in models.Base.metadata.sorted_tables:
        table.to_metadata(metadata)
    Table(
        "probe_notes",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("api_key_id", Integer, ForeignKey("api_keys.id"), nullable=False, index=True),
        Column("text", String(200), nullable=False),
        Column("noted_at", UTCDateTime(), nullable=False),
    )
    metadata.tables["api_keys"].append_column(Column("note", String(50), nullable=True))
    return metadata


@pytest.fixture
def target(database_url, tmp_path) -> Iterator[Engine]:
    """An empty database of the run's backend (a schema of its own on PostgreSQL)."""
    if database_url.startswith("sqlite"):
        engine = make_engine(f"sqlite:///{tmp_path / 'applied.sqlite3'}")
    else:
        engine = make_engine(database_url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS revision_check CASCADE"))
            conn.execute(text("CREATE SCHEMA revision_check"))
        engine.dispose()
        engine = make_engine(database_url, connect_args={"options": "-csearch_path=revision_check"})
    yield engine
    if is_postgres(engine):
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS revision_check CASCADE"))
    engine.dispose()


def _diff(engine: Engine, metadata: MetaData) -> list:
    with engine.connect() as conn:
        return compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), metadata
        )


def _files(copy: Path) -> set[str]:
    return {p.name for p in (copy / "versions").glob("*.py")}


def test_a_model_change_becomes_the_next_numbered_migration_that_applies(copy, target):
    head = ScriptDirectory.from_config(alembic_config(script_location=copy)).get_current_head()
    numbers = [int(name[:4]) for name in _files(copy) if name[:4].isdigit()]
    expected = f"{max(numbers) + 1:04d}_add_probe_notes_and_a_key_note.py"
    changed = _changed_models()
    before = _files(copy)

    path = new_revision("Add probe notes, and a key note!", metadata=changed, script_location=copy)

    assert path is not None and path.name == expected
    assert _files(copy) == before | {expected}
    source = path.read_text()
    assert f"revision: str = '{expected[:4]}'" in source
    assert f"down_revision: Union[str, Sequence[str], None] = '{head}'" in source
    assert "op.f('pk_probe_notes')" in source  # the naming convention, as in our migrations
    assert "fk_probe_notes_api_key_id_api_keys" in source
    assert "sa.DateTime(timezone=True)" in source and "models" not in source
    upgrade_database(target, script_location=copy)
    assert _diff(target, changed) == []
    assert _diff(target, models.Base.metadata) != []  # the new table is there
    command.downgrade(alembic_config(target, script_location=copy), head)
    assert _diff(target, models.Base.metadata) == []
    # Once written, the same models need nothing more.
    assert new_revision("Again", metadata=changed, script_location=copy) is None
    assert _files(copy) == before | {expected}


def test_no_model_change_says_nothing_to_do_and_writes_nothing(copy, monkeypatch):
    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", copy)
    before = {p.name: p.read_bytes() for p in (copy / "versions").iterdir() if p.is_file()}
    result = CliRunner().invoke(cli, ["db", "revision", "-m", "Nothing changed"])
    assert result.exit_code == 0, result.output
    assert "nothing to do" in result.output
    after = {p.name: p.read_bytes() for p in (copy / "versions").iterdir() if p.is_file()}
    assert after == before


def test_the_command_writes_the_file_and_refuses_a_message_without_a_slug(copy, monkeypatch):
    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", copy)
    changed = _changed_models()
    real = migrate.new_revision
    monkeypatch.setattr(
        "bot.commands.core.new_revision",
        lambda message, engine=None: real(message, engine=engine, metadata=changed),
    )
    for bad in ("!!!", "   ", "x" * 201):
        result = CliRunner().invoke(cli, ["db", "revision", "-m", bad])
        assert result.exit_code == 2 and "-m" in result.output
    assert not [n for n in _files(copy) if "probe" in n]
    result = CliRunner().invoke(cli, ["db", "revision", "-m", "Probe notes"])
    assert result.exit_code == 0, result.output
    assert "_probe_notes.py: review it" in result.output
    assert [n for n in _files(copy) if n.endswith("_probe_notes.py")]


def test_a_database_behind_the_head_is_refused_politely(copy, monkeypatch, tmp_path):
    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", copy)
    url = f"sqlite:///{tmp_path / 'behind.sqlite3'}"
    engine = make_engine(url)
    try:
        upgrade_database(engine, "0009", script_location=copy)
    finally:
        engine.dispose()
    before = _files(copy)
    result = CliRunner().invoke(cli, ["db", "revision", "-m", "x", "--url", url])
    assert result.exit_code == 1 and "not up to date" in result.output
    assert _files(copy) == before
