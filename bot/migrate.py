"""Schema migrations through Alembic: `benesapo db upgrade` applies them, `benesapo db revision`
writes the next one by comparing the models with the migrated schema (autogenerate)."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.operations.ops import MigrationScript
from sqlalchemy import Engine, MetaData

from models.db import make_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
_NUMBERED = re.compile(r"^(\d{4})_\w+\.py$")  # the project's numbering: 0013_unanswered_...


def alembic_config(
    engine: Engine | None = None, url: str | None = None, script_location: Path | None = None
) -> Config:
    config = Config()
    config.set_main_option("script_location", str(script_location or MIGRATIONS_DIR))
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if engine is not None:
        config.attributes["engine"] = engine
    return config


def upgrade_database(
    engine: Engine, revision: str = "head", script_location: Path | None = None
) -> None:
    command.upgrade(alembic_config(engine, script_location=script_location), revision)


def next_revision_id(script_location: Path | None = None) -> str:
    """One more than the highest numbered file in versions/ ("0014" after 0013_…)."""
    versions = (script_location or MIGRATIONS_DIR) / "versions"
    numbers = [int(m.group(1)) for p in versions.iterdir() if (m := _NUMBERED.match(p.name))]
    return f"{max(numbers, default=0) + 1:04d}"


def _nothing_to_do(context: object, revision: object, directives: list[MigrationScript]) -> None:
    ops = directives[0].upgrade_ops if directives else None
    if ops is not None and ops.is_empty():
        directives[:] = []


def new_revision(
    message: str,
    *,
    engine: Engine | None = None,
    metadata: MetaData | None = None,
    script_location: Path | None = None,
) -> Path | None:
    """Write the next numbered migration (`NNNN_slug.py`, down_revision the current head) for
    what the models (`metadata`, default models.Base.metadata) have and the migrated schema
    lacks; None, writing nothing, when they agree.

    The schema compared is `engine`'s (it must be at head), by default a scratch SQLite
    database migrated to head, so neither a developer's database nor its state matters.
    """
    location = script_location or MIGRATIONS_DIR
    if engine is None:
        with tempfile.TemporaryDirectory(prefix="benesapo-revision-") as scratch:
            scratch_engine = make_engine(f"sqlite:///{Path(scratch) / 'schema.sqlite3'}")
            try:
                upgrade_database(scratch_engine, script_location=location)
                return new_revision(
                    message, engine=scratch_engine, metadata=metadata, script_location=location
                )
            finally:
                scratch_engine.dispose()
    config = alembic_config(engine, script_location=location)
    if metadata is not None:
        config.attributes["metadata"] = metadata
    script = command.revision(
        config,
        message=message,
        autogenerate=True,
        rev_id=next_revision_id(location),
        process_revision_directives=_nothing_to_do,
    )
    if not script or isinstance(script, list):
        return None
    return Path(script.path)
