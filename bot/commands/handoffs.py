"""Live chat commands: `benesapo handoffs list [--status S] [--json]`."""

from __future__ import annotations

import json
from typing import Any

import click

from models.db import transaction
from models.handoff import HandoffStatus
from models.handoff_lists import search, to_dict
from models.operators import Operator


@click.group()
def handoffs() -> None:
    """Live chats handed from the bot to a person."""


@handoffs.command("list")
@click.option(
    "--status",
    type=click.Choice([s.value for s in HandoffStatus]),
    help="only this status (waiting 要対応, active 対応中, closed 対応済み)",
)
@click.option("--json", "as_json", is_flag=True, help="print a JSON array")
@click.option(
    "--limit", default=200, show_default=True, type=click.IntRange(1, 10_000), help="at most"
)
@click.pass_obj
def handoffs_list(lazy: Any, status: str | None, as_json: bool, limit: int) -> None:
    """Each chat with its status, user (member ID), times (JST) and counts; no transcript."""
    runtime = lazy.get()
    with transaction(runtime.session_factory) as session:
        rows = []
        for handoff in search(session, status, limit=limit):
            operator = session.get(Operator, handoff.assignee_id) if handoff.assignee_id else None
            rows.append(to_dict(handoff, operator.email if operator else None))
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo("no live chats")
        return
    for row in rows:
        click.echo(
            f"#{row['id']:<6} {row['status']:<8} {row['user']}  {row['last_activity_at']}  "
            f"messages={row['messages']} unread={row['unread']}"
            + (f"  assignee={row['assignee']}" if row["assignee"] else "")
        )


COMMANDS = [handoffs]
