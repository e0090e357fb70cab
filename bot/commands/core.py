"""Core commands: database, servers, workers."""

from __future__ import annotations

import click

from bot.migrate import upgrade_database


@click.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.pass_obj
def db_upgrade(lazy) -> None:  # type: ignore[no-untyped-def]
    """Apply all Alembic migrations."""
    upgrade_database(lazy.get().engine)
    click.echo("database is up to date")


COMMANDS = [db]
