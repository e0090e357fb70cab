"""FAQ commands: ask the retriever a question, and read the feedback per entry."""

from __future__ import annotations

import json

import click

from models.faq import default_index, feedback_stats


@click.group()
def faq() -> None:
    """Frequently asked questions."""


@faq.command("ask")
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="print the decision as JSON")
def faq_ask(question: str, as_json: bool) -> None:
    """Show what the bot would answer to QUESTION (no database needed)."""
    decision = default_index().decide(question).to_dict()
    if as_json:
        click.echo(json.dumps(decision, ensure_ascii=False))
        return
    if decision["id"] is not None:
        click.echo(f"answer: {decision['id']}  {decision['question']}  ({decision['score']:.3f})")
    elif decision["off_topic"]:
        click.echo(f"off topic: {decision['off_topic']}  ({decision['score']:.3f})")
    else:
        click.echo(f"{decision['outcome']}  ({decision['score']:.3f})")
    for alternative in decision["alternatives"]:
        click.echo(
            f"  - {alternative['id']}  {alternative['question']}  ({alternative['score']:.3f})"
        )


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
