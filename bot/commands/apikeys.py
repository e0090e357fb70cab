"""`benesapo apikey create|list|revoke`: partners' API keys and their scopes."""

from __future__ import annotations

import click

from models.apikey import SCOPES, create_api_key, list_api_keys, revoke_api_key


@click.group()
def apikey() -> None:
    """Partner API keys (each belongs to a partner and carries scopes)."""


@apikey.command("create")
@click.argument("name")
@click.option(
    "--scopes",
    help=f"Comma-separated scopes (default: all of {','.join(SCOPES)}).",
)
@click.option("--partner", help="Add the key to this existing partner (default: a new one).")
@click.pass_obj
def apikey_create(lazy, name: str, scopes: str | None, partner: str | None) -> None:  # type: ignore[no-untyped-def]
    """Create a partner API key and print it once (only its hash is stored)."""
    runtime = lazy.get()
    try:
        with runtime.session_factory() as session, session.begin():
            row, plain = create_api_key(
                session, name, runtime.clock.now(), scopes=scopes, partner=partner
            )
            scope_text = row.scopes
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"API key {row.name!r} created (scopes: {scope_text}).")
    click.echo("Store it now; it will not be shown again:")
    click.echo(plain)


@apikey.command("list")
@click.pass_obj
def apikey_list(lazy) -> None:  # type: ignore[no-untyped-def]
    """Every key: partner, scopes, state, last use (never the key itself)."""
    runtime = lazy.get()
    with runtime.session_factory() as session:
        keys = list_api_keys(session)
    if not keys:
        click.echo("no API keys")
    for k in keys:
        state = "active" if k.active else f"revoked {k.revoked_at:%Y-%m-%d %H:%M}Z"
        used = f"{k.last_used_at:%Y-%m-%d %H:%M}Z" if k.last_used_at else "never"
        click.echo(
            f"{k.name}\tpartner={k.partner}\tscopes={k.scopes.replace(' ', ',')}"
            f"\t{k.hint}…\t{state}\tlast used {used}"
        )


@apikey.command("revoke")
@click.argument("name")
@click.pass_obj
def apikey_revoke(lazy, name: str) -> None:  # type: ignore[no-untyped-def]
    """Revoke a key at once; calls with it answer 401 from now on."""
    runtime = lazy.get()
    try:
        with runtime.session_factory() as session, session.begin():
            revoke_api_key(session, name, runtime.clock.now())
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"API key {name!r} revoked")


COMMANDS = [apikey]
