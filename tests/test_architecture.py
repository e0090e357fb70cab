"""Data goes one way (ARCHITECTURE.md): the import-linter contracts in pyproject.toml hold, and
only the LINE client imports the Messaging API SDK."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "adapters", "common", "chat", "handlers", "models", "richmenu")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def test_import_contracts_hold():
    """Layers, "the emulator imports no bot code", no app factory in blueprints, no cycles."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    report = done.stdout + done.stderr
    assert done.returncode == 0, report
    assert "0 broken" in report, report


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_only_the_line_client_imports_the_messaging_api():
    """import-linter forbids only whole external packages (`linebot`), and the webhook rightly
    uses `linebot.v3.webhook`; so this one rule stays an AST check."""
    found = {
        str(path.relative_to(ROOT))
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if any(
            n == "linebot.v3.messaging" or n.startswith("linebot.v3.messaging.")
            for n in imports_of(path)
        )
    }
    assert found == {"adapters/line_client.py"}


def test_only_the_accessor_module_reads_the_apps_extensions():
    """Blueprints reach the runtime and services through `bot.appstate` (flaskr's `get_db`)."""
    touching = {
        str(path.relative_to(ROOT))
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if any(
            isinstance(node, ast.Attribute) and node.attr == "extensions"
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        )
    }
    assert touching == {"bot/appstate.py"}
