"""Reading a partner API request: the JSON body, times, the Idempotency-Key header, and the
body, query and path parameters checked against the operation's pydantic models
(`bot.partner_operations`). Every malformed value raises `ApiError` (a 4xx with a message),
never a 500."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, TypeVar, get_args

from flask import request
from pydantic import BaseModel, ValidationError

from bot.partner_operations import MAX_KEY_LENGTH, PATH_PARAMETERS, Operation
from models.points.rules import PointsError, check_time, text_problem
from models.timeutil import parse_iso

M = TypeVar("M", bound=BaseModel)


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


def optional_instant(raw: str | None, name: str) -> datetime | None:
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


def validated(model: type[M], data: dict[str, Any]) -> M:
    """`data` as `model`, or the first problem as a 422 `invalid_request`."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(422, "invalid_request", _message(model, exc.errors()[0])) from exc


def query(model: type[M]) -> M:
    """The query string as `model` (an empty value counts as absent)."""
    return validated(model, {name: value for name, value in request.args.items() if value})


def path_parameters(operation: Operation, given: dict[str, Any]) -> dict[str, str]:
    checked = {}
    for name in operation.path_parameters:
        try:
            checked[name] = PATH_PARAMETERS[name].validate_python(given[name])
        except ValidationError as exc:
            error = {**exc.errors()[0], "loc": (name,)}
            raise ApiError(422, "invalid_request", _message(None, error)) from exc
    return checked


def _message(model: type[BaseModel] | None, error: Any) -> str:
    """The ledger's wording (`models.points.rules`) for a pydantic error."""
    name = ".".join(str(part) for part in error["loc"])
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "missing" and model is not None:
        annotation = model.model_fields[name].annotation
        kind = "int_type" if annotation is int or int in get_args(annotation) else "string_type"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"{name} must be an integer"
    if kind in ("string_type", "string_too_short"):
        return f"{name} must be a non-empty string"
    if kind == "string_unicode" and isinstance(error.get("input"), str):  # a lone surrogate
        return f"{name} contains {text_problem(error['input'])}"
    if kind == "string_too_long":
        return f"{name} must be at most {ctx['max_length']} characters"
    if kind == "greater_than_equal":
        return f"{name} must be > 0" if ctx["ge"] == 1 else f"{name} must be ≥ {ctx['ge']}"
    if kind == "less_than_equal":
        return f"{name} must be at most {ctx['le']:,}"
    if kind == "literal_error":
        return f"{name} must be {ctx['expected']}"
    if kind == "value_error":
        return f"{name} {ctx['error']}".strip()
    return f"{name}: {error['msg']}" if name else error["msg"]
