"""Unhandled errors: one JSON log line (no message text, no bound parameters), a small answer.

Flask's own handling would log a multi-line plain-text traceback whose last line is the
exception's message; a database error's message can quote what a user typed. Here the line
holds the exception's type, its database codes and where it was raised, never its message.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable

from bot.webhook import WEBHOOK_PATH
from bot.webhook_record import DATABASE_UNAVAILABLE
from common.logging_setup import exception_fields, log_fields

logger = logging.getLogger("benesapo.app")

JSON_PATHS = (WEBHOOK_PATH, "/api/")  # what machines call: answered in JSON


def unhandled_error(exc: Exception) -> Any:
    if isinstance(exc, HTTPException):  # a status a view or Werkzeug chose: keep it
        return exc
    unavailable = isinstance(exc, DATABASE_UNAVAILABLE)
    fields: dict[str, Any] = {
        "event": "unhandled_error",
        "method": request.method,
        "path": request.path,  # never the query string: the login page's carries a token
        **exception_fields(exc),
    }
    log_fields(logger, logging.ERROR, fields)
    status = 503 if unavailable else 500
    if request.path.startswith(JSON_PATHS):
        message = "database unavailable" if unavailable else "internal error"
        return jsonify({"error": message}), status
    return ServiceUnavailable() if unavailable else InternalServerError()


def install(app: Flask) -> None:
    app.register_error_handler(Exception, unhandled_error)
