"""The web layout: on SQLite one process that also processes events, said at start-up."""

from __future__ import annotations

import logging
import os
from types import SimpleNamespace

from bot import gunicorn_conf
from bot.layout import WebLayout, web_layout


def test_sqlite_runs_one_process_that_processes_events():
    assert web_layout("sqlite:///instance/b.sqlite3", 2, 0) == WebLayout(1, 1, True)
    assert web_layout("SQLite:///x", 4, 3) == WebLayout(1, 3, True)


def test_postgresql_keeps_the_layout_asked_for():
    assert web_layout("postgresql://u@h/db", 2, 0) == WebLayout(2, 0, False)
    assert web_layout("postgres://u@h/db", 3, 4) == WebLayout(3, 4, False)


def warnings_logged(monkeypatch, database_url: str) -> tuple[object, list[str]]:
    """on_starting run as gunicorn's master runs it; the server and the events it logged."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("WEBHOOK_WORKERS", "0")
    server = SimpleNamespace(cfg=SimpleNamespace(workers=2), num_workers=2)
    seen: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    handler = Collect(logging.WARNING)
    logging.getLogger("benesapo.web").addHandler(handler)
    try:
        gunicorn_conf.on_starting(server)
    finally:
        logging.getLogger("benesapo.web").removeHandler(handler)
    return server, seen


def test_gunicorn_hook_applies_the_layout_and_warns_on_sqlite(monkeypatch, tmp_path):
    server, seen = warnings_logged(monkeypatch, f"sqlite:///{tmp_path / 'b.sqlite3'}")
    assert server.num_workers == 1  # whatever --workers said
    assert os.environ["WEBHOOK_WORKERS"] == "1"  # the one process processes events
    assert seen == ["sqlite_single_process"]


def test_gunicorn_hook_keeps_postgresql_as_asked(monkeypatch):
    server, seen = warnings_logged(monkeypatch, "postgresql://u@127.0.0.1/none")
    assert server.num_workers == 2
    assert os.environ["WEBHOOK_WORKERS"] == "0"
    assert seen == []
