"""One logging style: every logger of ours is named under `benesapo.*` (the one logger
`configure_logging` gives a handler: any other's lines are dropped), and every line goes through
`common.logging_setup.log_fields` (no `%s` messages, no `json.dumps` strings, no root-logger
calls). The check walks the source; its own test proves it catches each style it forbids."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["bot", "adapters", "common", "chat", "handlers", "models", "richmenu", "emulator"]
LOG_METHODS = {"debug", "info", "warning", "warn", "error", "exception", "critical", "log"}
# The helper itself is the one place a logger method is called.
ALLOWED = {("common/logging_setup.py", "log_fields")}
# Libraries' loggers that `make run`'s logging setup sends to its log file (never logged to).
LIBRARY_LOGGERS = {
    ("common/logging_setup.py", "werkzeug"),
    ("common/logging_setup.py", "apscheduler"),
}


def _is_get_logger(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and (
        (isinstance(node.func, ast.Attribute) and node.func.attr == "getLogger")
        or (isinstance(node.func, ast.Name) and node.func.id == "getLogger")
    )


def problems(source: str, name: str) -> list[str]:
    """Where `source` (file `name`) logs in another style, or names a logger outside
    benesapo.*, as `file:line what`."""
    tree = ast.parse(source)
    found: list[str] = []
    loggers: set[str] = set()
    for node in ast.walk(tree):
        if _is_get_logger(node):
            assert isinstance(node, ast.Call)
            arg = node.args[0] if node.args else None
            ok = isinstance(arg, ast.Constant) and isinstance(arg.value, str)
            if ok and (name, arg.value) in LIBRARY_LOGGERS:
                continue
            if not ok or not (arg.value == "benesapo" or arg.value.startswith("benesapo.")):
                found.append(f"{name}:{node.lineno} a logger not under benesapo.*")
        if isinstance(node, ast.Assign) and _is_get_logger(node.value):
            loggers |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    allowed_lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and (name, node.name) in ALLOWED:
            allowed_lines |= set(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and node.attr in LOG_METHODS):
            continue
        if not isinstance(node.value, ast.Name) or node.lineno in allowed_lines:
            continue
        if node.value.id in loggers:
            found.append(f"{name}:{node.lineno} {node.value.id}.{node.attr}: use log_fields")
        elif node.value.id == "logging":
            found.append(f"{name}:{node.lineno} the root logger: use log_fields")
    return found


def test_every_logger_is_under_benesapo_and_every_line_goes_through_log_fields():
    files = sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))
    assert len(files) > 100
    found = [
        problem
        for path in files
        for problem in problems(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    ]
    assert found == []
    uses = sum(p.read_text(encoding="utf-8").count("log_fields(") for p in files)
    assert uses >= 30  # the style is in use, not merely unbroken


def test_the_check_catches_each_other_style():
    source = """
import json, logging
log = logging.getLogger(__name__)
other = logging.getLogger("werkzeug.mine")
root = logging.getLogger()
good = logging.getLogger("benesapo.good")

def f(x, e):
    log.info("done %s", x)
    good.warning(json.dumps({"event": "e"}))
    (good.info if x else good.warning)(json.dumps(e))
    logging.error("boom")
    good.exception("failed")
"""
    lines = sorted(int(p.split(" ", 1)[0].split(":")[1]) for p in problems(source, "m.py"))
    assert lines == [3, 4, 5, 9, 10, 11, 11, 12, 13]
    assert problems('import logging\nlog = logging.getLogger("benesapo.x")\n', "ok.py") == []
