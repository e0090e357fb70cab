"""Reading a partner API request: the JSON body, times, the Idempotency-Key header and query
integers. Every malformed value raises `ApiError` (a 4xx with a message), never a 500."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from flask import request

from models.points_rules import PointsError, check_time, text_problem
from models.timeutil import parse_iso

MAX_KEY_LENGTH = 200
MAX_DB_INT = 2**63 - 1  # the largest id a BIGINT column holds


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def body() -> dict[str, Any]:
    """The request's JSON object ({} when empty)."""
    raw = request.get_data(cache=True)
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except RecursionError as exc:
        raise ApiError(400, "invalid_json", "the body is nested too deeply") from exc
    except ValueError as exc:  # also undecodable bytes and integers of too many digits
        raise ApiError(400, "invalid_json", "the body is not valid JSON") from exc
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", "the body must be a JSON object")
    return data


def instant(raw: Any, name: str) -> datetime:
    """An ISO 8601 time within the ledger's range."""
    if not isinstance(raw, str):
        raise ApiError(422, "invalid_request", f"{name} must be an ISO 8601 string")
    try:
        value = parse_iso(raw)
    except (ValueError, OverflowError) as exc:
        raise ApiError(422, "invalid_request", f"{name} must be an ISO 8601 time") from exc
    try:
        return check_time(value, name)
    except PointsError as exc:
        raise ApiError(422, exc.code, exc.message) from exc


def optional_instant(data: dict[str, Any], name: str) -> datetime | None:
    raw = data.get(name)
    return None if raw is None else instant(raw, name)


def idempotency_key(api_key_id: int) -> str:
    raw = (request.headers.get("Idempotency-Key") or "").strip()
    if not raw:
        raise ApiError(422, "missing_idempotency_key", "the Idempotency-Key header is required")
    if len(raw) > MAX_KEY_LENGTH:
        raise ApiError(422, "invalid_request", f"Idempotency-Key is longer than {MAX_KEY_LENGTH}")
    problem = text_problem(raw)
    if problem:
        raise ApiError(422, "invalid_request", f"Idempotency-Key contains {problem}")
    # Keys are per API key: two partners may choose the same key.
    return f"api:{api_key_id}:{raw}"


def query_int(name: str, default: int | None, low: int, high: int) -> int | None:
    raw = request.args.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ApiError(422, "invalid_request", f"{name} must be an integer") from exc
    if not low <= value <= high:
        raise ApiError(422, "invalid_request", f"{name} must be between {low} and {high}")
    return value
