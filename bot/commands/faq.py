"""FAQ commands: what the bot understands a question as, the questions it did not
understand, and the feedback per entry."""

from __future__ import annotations

import json

import click

from chat.understanding.data import default_understanding
from chat.understanding.index import AUDIENCES
from models.faq import default_index, feedback_stats
from models.unanswered import unanswered


@click.group()
def faq() -> None:
    """Frequently asked questions."""


@faq.command("ask")
@click.argument("question")
@click.option(
    "--audience",
    type=click.Choice(AUDIENCES),
    default="employee",
    show_default=True,
    help="who is asking",
)
@click.option("--json", "as_json", is_flag=True, help="print the decision as JSON")
def faq_ask(question: str, audience: str, as_json: bool) -> None:
    """Show what the bot would understand QUESTION as (no database needed)."""
    decision = default_understanding().decide(question, audience).to_dict()
    if as_json:
        click.echo(json.dumps(decision, ensure_ascii=False))
        return
    click.echo(f"{decision['outcome']}: {decision['label'] or '-'}  ({decision['score']:.3f})")
    for candidate in decision["candidates"]:
        click.echo(f"  - {candidate['label']}  ({candidate['score']:.3f})")


@faq.command("unanswered")
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="print the questions as JSON")
@click.pass_obj
def faq_unanswered(lazy, limit: int, as_json: bool) -> None:  # type: ignore[no-untyped-def]
    """Questions the bot did not understand or was unsure of, most frequent first (kept
    RETENTION_DAYS after they were last asked; no LINE user ids)."""
    with lazy.get().session_factory() as session:
        stats = unanswered(session, limit)
    rows = [
        {
            "text": s.text,
            "audience": s.audience,
            "outcome": s.outcome,
            "count": s.count,
            "first_seen": s.first_seen.isoformat(),
            "last_seen": s.last_seen.isoformat(),
        }
        for s in stats
    ]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    if not rows:
        click.echo("no unanswered questions")
        return
    click.echo(f"{'count':>5} {'audience':<9} {'outcome':<11} question")
    for row in rows:
        click.echo(f"{row['count']:>5} {row['audience']:<9} {row['outcome']:<11} {row['text']}")


@faq.command("stats")
@click.option("--json", "as_json", is_flag=True, help="print the figures as JSON")
@click.pass_obj
def faq_stats(lazy, as_json: bool) -> None:  # type: ignore[no-untyped-def]
    """Feedback ("役に立ちましたか？") per FAQ entry."""
    index = default_index()
    with lazy.get().session_factory() as session:
        stats = feedback_stats(session)
    rows = [
        {
            "id": s.entry_id,
            "question": index.by_id[s.entry_id].question if s.entry_id in index.by_id else None,
            "yes": s.helpful,
            "no": s.not_helpful,
            "total": s.total,
        }
        for s in stats
    ]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    if not rows:
        click.echo("no feedback yet")
        return
    click.echo(f"{'entry':<24} {'yes':>5} {'no':>5}  question")
    for row in rows:
        click.echo(f"{row['id']:<24} {row['yes']:>5} {row['no']:>5}  {row['question'] or '-'}")


COMMANDS = [faq]
