"""Structured logs: every record of ours is one JSON object on one line."""

from __future__ import annotations

import json
import logging
import os
import sys
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

_configured = False


def log_fields(
    logger: logging.Logger, level: int, fields: dict[str, Any], *, exc_info: bool = False
) -> None:
    """Log one JSON object (`fields`, with an "event" name) without encoding it twice: the
    message is the event name, the formatter writes the fields (and, with `exc_info`, the
    exception being handled as `exc`). The one way our code logs (tests/test_logging_style.py)."""
    if logger.isEnabledFor(level):
        logger.log(level, fields.get("event", ""), extra={"fields": fields}, exc_info=exc_info)


_ROOT = str(Path(__file__).resolve().parent.parent) + "/"


def _ours(frame: traceback.FrameSummary) -> bool:
    return frame.filename.startswith(_ROOT) and "site-packages" not in frame.filename


def _frame(frame: traceback.FrameSummary) -> str:
    if _ours(frame):
        name = frame.filename.removeprefix(_ROOT)
    else:  # a library's: its package and file
        name = "/".join(Path(frame.filename).parts[-2:])
    return f"{name}:{frame.lineno} {frame.name}"


def where_raised(exc: BaseException, frames: int = 6) -> list[str]:
    """Where it was raised, as `file:line function` (no source text, no values): our own
    innermost frames, then the innermost frame of all when it is a library's."""
    stack = traceback.extract_tb(exc.__traceback__)
    where = [_frame(frame) for frame in stack if _ours(frame)][-frames:]
    if stack and not _ours(stack[-1]):
        where.append(_frame(stack[-1]))
    return where


def exception_fields(exc: BaseException) -> dict[str, Any]:
    """What a log line says of an exception: its type, its cause's, where it was raised and
    its database codes; never its message (a message can quote what a user typed, a password
    or a bound parameter)."""
    fields: dict[str, Any] = {"error": type(exc).__name__, "where": where_raised(exc)}
    cause = exc.__cause__ or exc.__context__
    if cause is not None:
        fields["cause"] = type(cause).__name__
    for name, value in (
        ("sqlalchemy_code", getattr(exc, "code", None)),
        ("sqlstate", getattr(getattr(exc, "orig", None), "sqlstate", None)),
    ):
        if isinstance(value, str):
            fields[name] = value
    return fields


class JsonFormatter(logging.Formatter):
    """Writes the fields of log_fields, or merges a message that is already a JSON object; an
    exception becomes `exc` (exception_fields: no message, no traceback text)."""

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
        if record.exc_info and record.exc_info[1] is not None:
            line["exc"] = exception_fields(record.exc_info[1])
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


def configure_dev_logging(path: Path, terminal: TextIO | None = None) -> Callable[[], None]:
    """`make run`: every line (ours at LOG_LEVEL, the request log, the scheduler's) to the file
    `path`, one JSON object a line; only warnings and errors to the terminal, which keeps the
    banner in view. Returns what undoes it (the loggers as they were)."""
    global _configured
    path.parent.mkdir(parents=True, exist_ok=True)
    to_file = logging.FileHandler(path, encoding="utf-8")
    to_file.setFormatter(JsonFormatter())
    to_terminal = logging.StreamHandler(terminal or sys.stderr)
    to_terminal.setFormatter(JsonFormatter())
    to_terminal.setLevel(logging.WARNING)
    saved = []
    loggers = (
        logging.getLogger("benesapo"),
        logging.getLogger("werkzeug"),  # the request log
        logging.getLogger("apscheduler"),  # the scheduler's
    )
    for logger in loggers:
        saved.append((logger, list(logger.handlers), logger.level, logger.propagate))
        logger.handlers = [to_file, to_terminal]
        logger.propagate = False
        logger.setLevel(logging.INFO)
    logging.getLogger("benesapo").setLevel(os.environ.get("LOG_LEVEL", "INFO"))
    was_configured, _configured = _configured, True  # create_app adds no terminal handler

    def restore() -> None:
        global _configured
        for logger, handlers, level, propagate in saved:
            logger.handlers = handlers
            logger.setLevel(level)
            logger.propagate = propagate
        _configured = was_configured
        to_file.close()

    return restore
