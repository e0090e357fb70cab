"""gunicorn settings for the Procfile's `web` (`gunicorn --config python:bot.gunicorn_conf`).

The Procfile's command line keeps its options (workers, threads, access log); this module only
adds the `on_starting` hook, which applies bot.layout: on SQLite one worker that also processes
the events it records (and a `sqlite_single_process` warning at start-up), whatever `--workers`
says; otherwise the command line's layout.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from bot.layout import WebLayout, web_layout
from common.config import load_settings
from common.logging_setup import configure_logging, log_fields

logger = logging.getLogger("benesapo.web")


def layout_for(asked_workers: int) -> WebLayout:
    """The layout for this environment's database (settings read without requiring secrets:
    the app itself reports missing ones)."""
    settings = load_settings(require_secrets=False)
    return web_layout(settings.database_url, asked_workers, settings.webhook_workers)


def on_starting(server: Any) -> None:
    """gunicorn hook, in the master before any worker is forked."""
    layout = layout_for(server.cfg.workers)
    server.num_workers = layout.workers
    # The workers build their settings from this environment (inherited through fork).
    os.environ["WEBHOOK_WORKERS"] = str(layout.webhook_workers)
    if layout.single_process:
        configure_logging()
        log_fields(
            logger,
            logging.WARNING,
            {
                "event": "sqlite_single_process",
                "workers": layout.workers,
                "webhook_workers": layout.webhook_workers,
                "hint": "SQLite has one writer: web and event processing run in one process; "
                "set DATABASE_URL to PostgreSQL for more web processes and `benesapo worker`",
            },
        )
