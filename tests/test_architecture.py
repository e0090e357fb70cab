"""Data goes one way (STYLE.md): handlers and models never reach LINE or Flask, and only the LINE
client imports the Messaging API SDK."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "adapters", "common", "chat", "handlers", "models", "richmenu")
# What a handler or a model may never import: the web layer, LINE, the sending machinery.
EDGES = ("flask", "linebot", "bot.app", "adapters.line_client", "bot.delivery", "bot.webhook")


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def modules(package: str) -> dict[str, set[str]]:
    return {
        str(path.relative_to(ROOT)): imports_of(path)
        for path in sorted((ROOT / package).rglob("*.py"))
    }


def reaching(found: dict[str, set[str]], prefixes: tuple[str, ...]) -> dict[str, list[str]]:
    bad = {
        module: sorted(n for n in names if any(n == p or n.startswith(p + ".") for p in prefixes))
        for module, names in found.items()
    }
    return {module: names for module, names in bad.items() if names}


def test_only_the_line_client_imports_the_messaging_api():
    found = {m: n for package in PACKAGES for m, n in modules(package).items()}
    assert reaching(found, ("linebot.v3.messaging",)).keys() == {"adapters/line_client.py"}


def test_handlers_and_models_never_reach_line_or_the_web():
    assert reaching(modules("handlers"), EDGES) == {}
    assert reaching(modules("chat"), (*EDGES, "handlers")) == {}  # the kernel is below features
    assert reaching(modules("models"), (*EDGES, "handlers")) == {}
