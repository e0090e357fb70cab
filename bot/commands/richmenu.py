"""`benesapo richmenu preview DIR` and `benesapo richmenu deploy [--dry-run]`."""

from __future__ import annotations

import click


@click.group()
def richmenu() -> None:
    """Rich menus: render them for review, deploy them to LINE."""


@richmenu.command("preview")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option(
    "--definitions",
    "path",
    type=click.Path(dir_okay=False, exists=True),
    help="A definitions file other than richmenu/definitions.yaml.",
)
def preview(directory: str, path: str | None) -> None:
    """Write each menu page's image (and LINE's checks of it) into DIRECTORY."""
    from pathlib import Path

    from richmenu import validate
    from richmenu.definitions import load
    from richmenu.deploy import plan_pages

    try:
        planned = plan_pages(load(path))
    except validate.RichMenuInvalid as exc:
        raise click.ClickException("; ".join(exc.problems)) from exc
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    for item in planned:
        extension = "png" if item.content_type == "image/png" else "jpg"
        written = target / f"{item.page.key}.{extension}"
        written.write_bytes(item.image)
        click.echo(f"{written}  {len(item.image):,} bytes  {item.name}")


@richmenu.command("deploy")
@click.option("--dry-run", is_flag=True, help="Print the plan; change nothing.")
@click.option(
    "--definitions",
    "path",
    type=click.Path(dir_okay=False, exists=True),
    help="A definitions file other than richmenu/definitions.yaml.",
)
@click.pass_obj
def deploy(lazy, dry_run: bool, path: str | None) -> None:  # type: ignore[no-untyped-def]
    """Create changed menus, point aliases, set the default, re-link users, delete old menus."""
    from adapters.line_client import LineClient
    from richmenu import validate
    from richmenu.definitions import load
    from richmenu.deploy import deploy as run_deploy

    runtime = lazy.get(line=True)  # a dry run too reads LINE's menus
    line = LineClient(runtime.settings)
    try:
        report = run_deploy(runtime, line, load(path), dry_run=dry_run, echo=click.echo)
    except validate.RichMenuInvalid as exc:
        raise click.ClickException("; ".join(exc.problems)) from exc
    if not report.changed:
        click.echo("rich menus are up to date: nothing to do")
    elif dry_run:
        click.echo(f"dry run: {len(report.steps)} step(s) planned, nothing changed")
    else:
        click.echo(f"deployed: {len(report.steps)} step(s)")
    for key, rich_menu_id in report.menu_ids.items():
        click.echo(f"  {key}: {rich_menu_id}")


COMMANDS = [richmenu]
