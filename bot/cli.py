"""`benesapo` command line: each capability's commands live in `bot/commands/<name>.py`."""

from __future__ import annotations

import importlib

import click

from adapters.runtime import Runtime, build_runtime
from common.config import ConfigError, check_line_secrets, load_settings

# Each module defines click commands/groups in `COMMANDS` (a list); add yours here.
COMMAND_MODULES = [
    "bot.commands.core",
    "bot.commands.reminders",
    "bot.commands.chat",
    "bot.commands.company",
    "bot.commands.faq",
    "bot.commands.inquiries",
    "bot.commands.handoffs",
    "bot.commands.operators",
    "bot.commands.points",
    "bot.commands.apikeys",
    "bot.commands.richmenu",
]


class LazyRuntime:
    """Built on first use so `--help` works without a database or secrets.

    Commands that talk to LINE ask with `get(line=True)`: without the LINE secrets they stop
    there, before doing anything, with a ConfigError naming what is missing (as the web app
    does at start-up); the others work without them.
    """

    def __init__(self) -> None:
        self._runtime: Runtime | None = None

    @classmethod
    def ready(cls, runtime: Runtime) -> LazyRuntime:
        """Already built (tests, or a caller that has its runtime)."""
        lazy = cls()
        lazy._runtime = runtime
        return lazy

    def get(self, *, line: bool = False) -> Runtime:
        settings = self._runtime.settings if self._runtime else load_settings(require_secrets=False)
        if line:
            check_line_secrets(settings)
        if self._runtime is None:
            self._runtime = build_runtime(settings)
        return self._runtime


pass_runtime = click.make_pass_decorator(LazyRuntime, ensure=True)


@click.group()
def cli() -> None:
    """Benesapo LINE front door."""


def _register() -> None:
    for name in COMMAND_MODULES:
        module = importlib.import_module(name)
        for command in module.COMMANDS:
            cli.add_command(command)


_register()


def main(argv: list[str] | None = None) -> None:
    """The `benesapo` executable (`argv`: its arguments; default: the command line's)."""
    try:
        cli(args=argv, obj=LazyRuntime())
    except ConfigError as exc:
        raise SystemExit(f"error: {exc}") from exc
