"""Registering in one place: a handler module or a model module that nobody wires fails here,
not silently in production (issue 17, step 2)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from bot.handlers_registry import HANDLER_MODULES

ROOT = Path(__file__).resolve().parent.parent


def _module(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def _defines(path: Path, predicate) -> bool:  # type: ignore[no-untyped-def]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return any(predicate(node) for node in tree.body)


def test_every_module_with_register_is_wired_into_the_router() -> None:
    with_register = {
        _module(path)
        for package in ("handlers", "richmenu")
        for path in sorted((ROOT / package).glob("*.py"))
        if _defines(path, lambda n: isinstance(n, ast.FunctionDef) and n.name == "register")
    }
    assert with_register == set(HANDLER_MODULES)
    assert len(HANDLER_MODULES) == len(set(HANDLER_MODULES))


def _declares_a_table(node: ast.stmt) -> bool:
    return isinstance(node, ast.ClassDef) and any(
        isinstance(b, ast.Name) and b.id == "Base" for b in node.bases
    )


def test_every_model_module_is_registered_by_importing_models() -> None:
    model_modules = {
        _module(path)
        for path in sorted((ROOT / "models").rglob("*.py"))
        if _defines(path, _declares_a_table)
    }
    assert model_modules
    # A fresh interpreter: in this one every test already imported every module.
    script = (
        "import sys, models; "
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('models.'))))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert model_modules - set(loaded) == set()
