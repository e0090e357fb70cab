"""`benesapo company …` and `benesapo member …`: the back office's commands.

Plain initial passwords appear only in this output (text or --json) and the --out workbook.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy.orm import Session

from adapters.idlist import write_id_list
from adapters.runtime import Runtime
from models import companies
from models.companies import CompanyError, IssuedIds
from models.company import CompanyStatus
from models.console_facts import company_facts, member_facts
from models.db import transaction
from models.points import PointsLedger
from models.timeutil import jst_date

T = TypeVar("T")


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 - no login name (containers): still record the channel
        return "cli"


def _run(lazy: Any, fn: Callable[[Session, Runtime], T]) -> T:
    runtime: Runtime = lazy.get()
    try:
        with transaction(runtime.session_factory) as session:
            return fn(session, runtime)
    except CompanyError as exc:
        raise click.ClickException(f"{exc.message} [{exc.code}]") from exc


def _emit(issued: IssuedIds, as_json: bool, out: Path | None, headline: str) -> None:
    if as_json:
        click.echo(json.dumps(issued.to_json(), ensure_ascii=False, indent=2))
        return
    click.echo(headline)
    if issued.members:
        click.echo("members (member ID, initial password):")
        for c in issued.members:
            click.echo(f"  {c.member_id}  {c.password}")
    if issued.hr_contacts:
        click.echo("HR contacts (member ID, initial password):")
        for c in issued.hr_contacts:
            click.echo(f"  {c.member_id}  {c.password}")
    if out is not None:
        click.echo(f"ID list written to {out}")


_out_option = click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the ID list (初期ID・パスワード一覧) as an Excel workbook.",
)
_json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


@click.group()
def company() -> None:
    """Client companies: create, add seats, suspend / resume / terminate."""


@company.command("create")
@click.option("--name", required=True, help="Company name.")
@click.option("--seats", required=True, type=click.IntRange(min=0), help="Employee IDs to issue.")
@click.option("--contact-email", required=True, help="The company's contact e-mail.")
@click.option("--hr-contacts", default=1, show_default=True, type=click.IntRange(min=0))
@click.option(
    "--seat-limit", type=click.IntRange(min=0), help="The plan's seat limit (default: --seats)."
)
@_out_option
@_json_option
@click.pass_obj
def create(
    lazy: Any,
    name: str,
    seats: int,
    contact_email: str,
    hr_contacts: int,
    seat_limit: int | None,
    out: Path | None,
    as_json: bool,
) -> None:
    """Create a company with SEATS member IDs and HR contact accounts."""

    def body(session: Session, runtime: Runtime) -> IssuedIds:
        issued = companies.create_company(
            session,
            runtime.clock,
            name=name,
            seats=seats,
            contact_email=contact_email,
            hr_contacts=hr_contacts,
            seat_limit=seat_limit,
            actor=_actor(),
        )
        if out is not None:  # inside the transaction: no file, no company
            write_id_list(out, issued, jst_date(runtime.clock.now()))
        return issued

    issued = _run(lazy, body)
    _emit(
        issued,
        as_json,
        out,
        f"company created: {issued.company_name}  code {issued.company_code}",
    )


@company.command("add-seats")
@click.argument("code")
@click.argument("count", type=click.IntRange(min=1))
@_out_option
@_json_option
@click.pass_obj
def add_seats(lazy: Any, code: str, count: int, out: Path | None, as_json: bool) -> None:
    """Issue COUNT more member IDs (refused above the plan's seat limit)."""

    def body(session: Session, runtime: Runtime) -> IssuedIds:
        issued = companies.add_seats(session, runtime.clock, code, count, actor=_actor())
        if out is not None:
            write_id_list(out, issued, jst_date(runtime.clock.now()), note="追加発行")
        return issued

    issued = _run(lazy, body)
    _emit(issued, as_json, out, f"{count} seats added to {issued.company_code}")


@company.command("set-limit")
@click.argument("code")
@click.argument("limit", type=click.IntRange(min=0))
@click.pass_obj
def set_limit(lazy: Any, code: str, limit: int) -> None:
    """Change the plan's seat limit (a plan change)."""
    _run(lazy, lambda s, r: companies.set_seat_limit(s, r.clock, code, limit, actor=_actor()))
    click.echo(f"seat limit of {code.upper()} is now {limit}")


def _status_command(name: str, status: CompanyStatus, help_text: str) -> click.Command:
    @click.argument("code")
    @click.pass_obj
    def command(lazy: Any, code: str) -> None:
        found = _run(
            lazy,
            lambda s, r: companies.set_company_status(s, r.clock, code, status, actor=_actor()),
        )
        click.echo(f"company {found.code} is now {found.status.value}")

    command.__doc__ = help_text
    return company.command(name)(command)


_status_command("suspend", CompanyStatus.SUSPENDED, "Suspend a company (members are refused).")
_status_command("resume", CompanyStatus.ACTIVE, "Resume a suspended company.")
_status_command(
    "terminate",
    CompanyStatus.TERMINATED,
    "Terminate a company (final; every member's points are forfeited, Art. 11).",
)


@company.command("show")
@click.argument("code")
@_json_option
@click.pass_obj
def show(lazy: Any, code: str, as_json: bool) -> None:
    """Status, plan seats, IDs issued, linked members, HR contacts and tickets (as the
    console's company page)."""
    data = _run(lazy, lambda s, r: company_facts(s, companies.get_company(s, code)))
    _print_facts(data, as_json)


def _print_facts(data: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    for key, value in data.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            click.echo(f"{key}: {len(value)}")
            for item in value:
                click.echo("  " + "  ".join(f"{k}={v}" for k, v in item.items()))
        else:
            click.echo(f"{key}: {value}")


@click.group()
def member() -> None:
    """Members: show, retire, reset a password."""


@member.command("retire")
@click.argument("member_id")
@click.pass_obj
def retire(lazy: Any, member_id: str) -> None:
    """End a membership: points forfeited (Art. 11), LINE link removed, member told by a push."""
    result = _run(lazy, lambda s, r: companies.retire_member(s, r.clock, member_id, actor=_actor()))
    click.echo(
        f"member {result.member_id} retired; points forfeited: "
        f"{'yes' if result.points_forfeited else 'already'}; "
        f"LINE link removed: {'yes' if result.unlinked_line_user_id else 'not linked'}; "
        f"push queued: {'yes' if result.notified else 'no'}"
    )


@member.command("show")
@click.argument("member_id")
@_json_option
@click.pass_obj
def member_show(lazy: Any, member_id: str, as_json: bool) -> None:
    """Status (active / retired / suspended / terminated), LINE link, points balance and
    history, tickets (as the console's member page)."""

    def body(session: Session, runtime: Runtime) -> dict[str, Any]:
        ledger = PointsLedger.configured(session, runtime.clock, runtime.settings)
        found = companies.get_member(session, member_id)
        return member_facts(session, ledger, found, runtime.clock.now())

    _print_facts(_run(lazy, body), as_json)


@member.command("reset-password")
@click.argument("member_id")
@_json_option
@click.pass_obj
def reset_password(lazy: Any, member_id: str, as_json: bool) -> None:
    """Issue a new random password (and clear the member's login lock)."""
    password = _run(
        lazy, lambda s, r: companies.reset_password(s, r.clock, member_id, actor=_actor())
    )
    key = companies.normalize_company_code(member_id)
    if as_json:
        click.echo(json.dumps({"member_id": key, "password": password}))
    else:
        click.echo(f"new password for {key}: {password}")


COMMANDS = [company, member]
