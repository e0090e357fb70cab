"""Console operators: `benesapo operator create|list|deactivate|activate|set-password`."""

from __future__ import annotations

from typing import Any

import click
from sqlalchemy import select

from bot.commands.inquiries import _actor
from models.db import transaction
from models.operators import (
    MIN_PASSWORD_LENGTH,
    ROLE_OPERATOR,
    ROLES,
    Operator,
    OperatorError,
    create_operator,
    set_active,
    set_password,
)


def _prompt_password(allow_empty: bool) -> str | None:
    hint = "; empty to generate one" if allow_empty else ""
    value = click.prompt(
        f"password (at least {MIN_PASSWORD_LENGTH} characters{hint})",
        default="" if allow_empty else None,
        hide_input=True,
        confirmation_prompt=True,
        show_default=False,
    )
    return value or None


@click.group()
def operator() -> None:
    """Back-office console operators (roles: admin, operator)."""


@operator.command("create")
@click.argument("email")
@click.option("--generate", is_flag=True, help="generate a random password (printed once)")
@click.option(
    "--role",
    type=click.Choice(ROLES),
    default=ROLE_OPERATOR,
    show_default=True,
    help="admin: also manages operators and sees the audit log; operator: works tickets",
)
@click.pass_obj
def operator_create(lazy: Any, email: str, generate: bool, role: str) -> None:
    """Create an operator for /admin; prompts for the password unless --generate."""
    password = None if generate else _prompt_password(allow_empty=True)
    runtime = lazy.get()
    try:
        with transaction(runtime.session_factory) as session:
            created, plain = create_operator(
                session, runtime.clock, email, password, role=role, actor=_actor()
            )
            address = created.email
    except OperatorError as exc:
        raise click.ClickException(f"{exc.message} [{exc.code}]") from exc
    click.echo(f"operator created: {address} ({role})")
    if password is None:
        click.echo(f"password (shown once): {plain}")


@operator.command("list")
@click.pass_obj
def operator_list(lazy: Any) -> None:
    """Every operator with role and state."""
    runtime = lazy.get()
    with runtime.session_factory() as session:
        for row in session.scalars(select(Operator).order_by(Operator.email)):
            state = "active" if row.active else "inactive"
            click.echo(f"{row.email}\t{row.role}\t{state}")


def _change(lazy: Any, email: str, change: Any) -> str:
    runtime = lazy.get()
    try:
        with transaction(runtime.session_factory) as session:
            return str(change(session, runtime.clock).email)
    except OperatorError as exc:
        raise click.ClickException(f"{exc.message} [{exc.code}]") from exc


@operator.command("deactivate")
@click.argument("email")
@click.pass_obj
def operator_deactivate(lazy: Any, email: str) -> None:
    """Refuse this operator's logins and end their console sessions now."""
    address = _change(lazy, email, lambda s, c: set_active(s, c, email, False, actor=_actor()))
    click.echo(f"operator deactivated: {address} (sessions ended)")


@operator.command("activate")
@click.argument("email")
@click.pass_obj
def operator_activate(lazy: Any, email: str) -> None:
    """Let a deactivated operator log in again."""
    address = _change(lazy, email, lambda s, c: set_active(s, c, email, True, actor=_actor()))
    click.echo(f"operator activated: {address}")


@operator.command("set-password")
@click.argument("email")
@click.pass_obj
def operator_set_password(lazy: Any, email: str) -> None:
    """A new password (prompted); every console session of the operator ends."""
    password = _prompt_password(allow_empty=False) or ""
    address = _change(lazy, email, lambda s, c: set_password(s, c, email, password, actor=_actor()))
    click.echo(f"password changed: {address} (sessions ended)")


COMMANDS = [operator]
