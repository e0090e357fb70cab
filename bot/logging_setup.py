"""Structured logs: every record of ours is one JSON object on one line."""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

_configured = False


def log_fields(logger: logging.Logger, level: int, fields: dict[str, Any]) -> None:
    """Log one JSON object (`fields`, with an "event" name) without encoding it twice: the
    message is the event name, the formatter writes the fields."""
    if logger.isEnabledFor(level):
        logger.log(level, fields.get("event", ""), extra={"fields": fields})


class JsonFormatter(logging.Formatter):
    """Writes the fields of log_fields, or merges a message that is already a JSON object;
    puts a traceback in a field."""

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any]
        given = getattr(record, "fields", None)
        if isinstance(given, dict):
            fields = given
        else:
            message = record.getMessage()
            try:
                parsed = json.loads(message)
                fields = parsed if isinstance(parsed, dict) else {"message": message}
            except ValueError:
                fields = {"message": message}
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            **fields,
        }
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def configure_logging(level: str | None = None, stream: TextIO | None = None) -> None:
    global _configured
    if _configured:
        return
    _configured = True
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("benesapo")
    logger.addHandler(handler)
    logger.setLevel(level or os.environ.get("LOG_LEVEL", "INFO"))
    logger.propagate = False
