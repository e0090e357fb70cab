"""Helpers shared by the emulator's blueprints."""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify
from flask.typing import ResponseReturnValue

from emulator.state import EmulatorState

EXTENSION_KEY = "line_emulator"

AUTH_FAILED = (
    "Authentication failed. Confirm that the access token in the authorization header is valid."
)

# LINE-like error bodies for injected faults.
FAULT_MESSAGES = {
    400: "Bad request",
    401: AUTH_FAILED,
    403: "Access to this API is not available for your account",
    404: "Not found",
    409: "The retry key is already accepted",
    410: "Gone",
    413: "Request entity too large",
    415: "Unsupported media type",
    429: "Too many requests",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway timeout",
}


def get_state() -> EmulatorState:
    return current_app.extensions[EXTENSION_KEY]


def line_error(
    status: int, message: str, details: list[dict[str, str]] | None = None, **extra: Any
) -> ResponseReturnValue:
    """An error response shaped like LINE's `ErrorResponse`."""
    body: dict[str, Any] = {"message": message}
    if details:
        body["details"] = details
    body.update(extra)
    return jsonify(body), status


def fault_message(status: int) -> str:
    return FAULT_MESSAGES.get(status, "Internal server error" if status >= 500 else "Error")
