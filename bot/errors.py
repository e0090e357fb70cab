"""Unhandled errors: one JSON log line (no message text, no bound parameters), a small answer.

Flask's own handling would log a multi-line plain-text traceback whose last line is the
exception's message; a database error's message can quote what a user typed. Here the line
holds the exception's type, its database codes and where it was raised, never its message.
"""

from __future__ import annotations

import logging
import traceback
from pathlib import Path
from typing import Any

from flask import Flask, jsonify, request
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable

from bot.logging_setup import log_fields
from bot.webhook import WEBHOOK_PATH

logger = logging.getLogger("benesapo.app")

# The database is down, unreachable or its pool is exhausted: 503, as GET /healthz answers.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError, PoolTimeoutError)
JSON_PATHS = (WEBHOOK_PATH, "/api/")  # what machines call: answered in JSON
_ROOT = str(Path(__file__).resolve().parent.parent) + "/"


def _ours(frame: traceback.FrameSummary) -> bool:
    return frame.filename.startswith(_ROOT) and "site-packages" not in frame.filename


def _frame(frame: traceback.FrameSummary) -> str:
    if _ours(frame):
        name = frame.filename.removeprefix(_ROOT)
    else:  # a library's: its package and file
        name = "/".join(Path(frame.filename).parts[-2:])
    return f"{name}:{frame.lineno} {frame.name}"


def _where(exc: BaseException, frames: int = 6) -> list[str]:
    """Where it was raised, as `file:line function` (no source text, no values): our own
    innermost frames, then the innermost frame of all when it is a library's."""
    stack = traceback.extract_tb(exc.__traceback__)
    where = [_frame(frame) for frame in stack if _ours(frame)][-frames:]
    if stack and not _ours(stack[-1]):
        where.append(_frame(stack[-1]))
    return where


def unhandled_error(exc: Exception) -> Any:
    if isinstance(exc, HTTPException):  # a status a view or Werkzeug chose: keep it
        return exc
    unavailable = isinstance(exc, DATABASE_UNAVAILABLE)
    cause = exc.__cause__ or exc.__context__
    fields: dict[str, Any] = {
        "event": "unhandled_error",
        "method": request.method,
        "path": request.path,  # never the query string: the login page's carries a token
        "error": type(exc).__name__,
        "where": _where(exc),
    }
    if cause is not None:
        fields["cause"] = type(cause).__name__
    for name, value in (
        ("sqlalchemy_code", getattr(exc, "code", None)),
        ("sqlstate", getattr(getattr(exc, "orig", None), "sqlstate", None)),
    ):
        if isinstance(value, str):
            fields[name] = value
    log_fields(logger, logging.ERROR, fields)
    status = 503 if unavailable else 500
    if request.path.startswith(JSON_PATHS):
        message = "database unavailable" if unavailable else "internal error"
        return jsonify({"error": message}), status
    return ServiceUnavailable() if unavailable else InternalServerError()


def install(app: Flask) -> None:
    app.register_error_handler(Exception, unhandled_error)
