"""Inquiry commands: `benesapo inquiries list`, `benesapo inquiries show NUMBER` (operators:
bot.commands.operators)."""

from __future__ import annotations

import getpass
import json
from typing import Any

import click

from models.db import transaction
from models.inquiries import (
    InquiryStatus,
    answer_items,
    format_jst,
    get_by_number,
    search,
    to_dict,
)
from models.inquiry_thread import thread_of

STATUS_CHOICES = ["open", *(s.value for s in InquiryStatus)]


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 - no login name (containers): still record the channel
        return "cli"


@click.group()
def inquiries() -> None:
    """Inquiries (tickets) filed by chat."""


@inquiries.command("list")
@click.option("--status", type=click.Choice(STATUS_CHOICES), help="only this status ('open')")
@click.option("--type", "kind", help="only this type (add_seats, retire, credentials, …)")
@click.option("--company", help="only this company code (or part of its name)")
@click.option("--json", "as_json", is_flag=True, help="print a JSON array")
@click.option("--limit", default=1000, show_default=True, help="at most this many tickets")
@click.pass_obj
def inquiries_list(
    lazy: Any, status: str | None, kind: str | None, company: str | None, as_json: bool, limit: int
) -> None:
    """Each ticket with its number, type, status, company, requester and form answers."""
    runtime = lazy.get()
    with transaction(runtime.session_factory) as session:
        try:
            page = search(session, status=status, type=kind, company=company, per_page=limit)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--type") from exc
        rows = [to_dict(i) for i in page.items]
        lines = [
            (
                f"{i.number}  {i.type.value:<12} {i.status.value:<11} "
                f"{(i.company.code if i.company else i.company_code) or '-':<8}  "
                f"{i.requester_label}\n"
                + "".join(f"    {label}: {value}\n" for label, value in answer_items(i.answers))
            )
            for i in page.items
        ]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo("no inquiries")
        return
    for line in lines:
        click.echo(line, nl=False)


@inquiries.command("show")
@click.argument("number")
@click.option("--json", "as_json", is_flag=True, help="print a JSON object")
@click.pass_obj
def inquiries_show(lazy: Any, number: str, as_json: bool) -> None:
    """One ticket with its whole thread: who wrote what, when (JST)."""
    runtime = lazy.get()
    with transaction(runtime.session_factory) as session:
        inquiry = get_by_number(session, number[:20])
        if inquiry is None:
            raise click.ClickException(f"no inquiry {number[:20]}")
        ticket = to_dict(inquiry)
        ticket["thread"] = [
            {"at": format_jst(e.at), "who": e.who, "kind": e.kind, "text": e.text}
            for e in thread_of(session, inquiry)
        ]
        head = (
            f"{inquiry.number}  {inquiry.type.value}  {inquiry.status.value}  "
            f"{inquiry.requester_label}"
        )
    if as_json:
        click.echo(json.dumps(ticket, ensure_ascii=False, indent=2))
        return
    click.echo(head)
    for entry in ticket["thread"]:
        click.echo(f"--- {entry['at']} JST  {entry['who']}  ({entry['kind']})")
        click.echo(entry["text"])


COMMANDS = [inquiries]
