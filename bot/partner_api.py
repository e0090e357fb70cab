"""Partner API under /api/v1/: how points reach us (earnings, grants, redemptions, …).

Bearer API keys (hashed at rest, `models.apikey`); every POST needs an `Idempotency-Key`
header; errors are JSON `{"error": CODE, "message": TEXT}` with a 4xx status. The rules are in
`models.points`; this module only translates HTTP to service calls and back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

from bot.app import get_runtime
from models.apikey import authenticate
from models.points import PointsError, PointsLedger, Receipt, run_in_transaction
from models.timeutil import parse_iso

log = logging.getLogger(__name__)

bp = Blueprint("partner_api", __name__, url_prefix="/api/v1")

MAX_KEY_LENGTH = 200


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _error(status: int, code: str, message: str) -> tuple[Response, int]:
    return jsonify({"error": code, "message": message}), status


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError):  # type: ignore[no-untyped-def]
    return _error(exc.status, exc.code, exc.message)


@bp.errorhandler(PointsError)
def _points_error(exc: PointsError):  # type: ignore[no-untyped-def]
    return _error(exc.http_status, exc.code, exc.message)


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):  # type: ignore[no-untyped-def]
    code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(
        exc.code or 400, "bad_request"
    )
    return _error(exc.code or 400, code, exc.description or code)


def _routing_error(exc: HTTPException):  # type: ignore[no-untyped-def]
    """404/405 are raised while routing, before the blueprint is known: answer JSON for our
    prefix and leave every other path's error as it was."""
    if request.path.startswith(bp.url_prefix or "/api/v1"):
        return _http_error(exc)
    return exc


bp.app_errorhandler(404)(_routing_error)
bp.app_errorhandler(405)(_routing_error)


@bp.before_request
def _authenticate() -> tuple[Response, int] | None:
    if request.endpoint == "partner_api.openapi":
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return _error(401, "unauthorized", "an API key is required (Authorization: Bearer KEY)")
    runtime = get_runtime(current_app)
    with runtime.session_factory() as session, session.begin():
        key = authenticate(session, token)
        if key is None:
            return _error(401, "unauthorized", "the API key is not valid")
        key.last_used_at = runtime.clock.now()
        g.api_key_id = key.id
        g.api_key_name = key.name
    return None


# -- request helpers -------------------------------------------------------------------------


def _body() -> dict[str, Any]:
    if not request.data:
        return {}
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", "the body must be a JSON object")
    return data


def _occurred_at(data: dict[str, Any]) -> datetime | None:
    raw = data.get("occurred_at")
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise ApiError(422, "invalid_request", "occurred_at must be an ISO 8601 string")
    try:
        return parse_iso(raw)
    except ValueError as exc:
        raise ApiError(422, "invalid_request", "occurred_at must be ISO 8601") from exc


def _idempotency_key() -> str:
    raw = (request.headers.get("Idempotency-Key") or "").strip()
    if not raw:
        raise ApiError(422, "missing_idempotency_key", "the Idempotency-Key header is required")
    if len(raw) > MAX_KEY_LENGTH:
        raise ApiError(422, "invalid_request", f"Idempotency-Key is longer than {MAX_KEY_LENGTH}")
    # Keys are per partner: two partners may choose the same key.
    return f"api:{g.api_key_id}:{raw}"


def _run(fn: Callable[[PointsLedger], Any]) -> Any:
    runtime = get_runtime(current_app)

    def work(session: Session) -> Any:
        return fn(PointsLedger.configured(session, runtime.clock, runtime.settings))

    return run_in_transaction(runtime.session_factory, work)


def _post(call: Callable[[PointsLedger, dict[str, Any], str, datetime | None], Receipt]):
    data = _body()
    key = _idempotency_key()
    at = _occurred_at(data)
    receipt: Receipt = _run(lambda ledger: call(ledger, data, key, at))
    log.info(
        "points_api op=%s ref=%s member=%s replayed=%s partner=%s",
        receipt.operation,
        receipt.ref,
        receipt.member_id,
        receipt.replayed,
        g.api_key_name,
    )
    response = jsonify({**receipt.to_json(), "replayed": receipt.replayed})
    if receipt.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response, 200 if receipt.replayed else 201


# -- endpoints ---------------------------------------------------------------------------------


@bp.post("/members/<member_id>/earnings")
def earn(member_id: str):  # type: ignore[no-untyped-def]
    return _post(
        lambda pl, d, key, at: pl.earn(
            member_id, d.get("points"), d.get("source_ref"), key=key, occurred_at=at
        )
    )


@bp.post("/earnings/<source_ref>/amend")
def amend_earning(source_ref: str):  # type: ignore[no-untyped-def]
    return _post(
        lambda pl, d, key, at: pl.amend_earning(
            source_ref, d.get("points"), key=key, occurred_at=at
        )
    )


@bp.post("/earnings/<source_ref>/cancel")
def cancel_earning(source_ref: str):  # type: ignore[no-untyped-def]
    return _post(lambda pl, d, key, at: pl.cancel_earning(source_ref, key=key, occurred_at=at))


@bp.post("/members/<member_id>/grants")
def grant(member_id: str):  # type: ignore[no-untyped-def]
    return _post(
        lambda pl, d, key, at: pl.grant(
            member_id,
            d.get("points"),
            d.get("source_ref"),
            d.get("reason"),
            key=key,
            occurred_at=at,
        )
    )


@bp.post("/members/<member_id>/redemptions")
def redeem(member_id: str):  # type: ignore[no-untyped-def]
    def call(pl: PointsLedger, d: dict[str, Any], key: str, at: datetime | None) -> Receipt:
        mode = d.get("mode", "points")
        if mode == "all" and "points" in d:
            raise ApiError(422, "invalid_request", 'give either "points" or "mode": "all"')
        return pl.redeem(
            member_id,
            d.get("purchase_ref"),
            d.get("price"),
            d.get("points"),
            mode=mode,
            key=key,
            occurred_at=at,
        )

    return _post(call)


@bp.post("/redemptions/<purchase_ref>/cancel")
def cancel_redemption(purchase_ref: str):  # type: ignore[no-untyped-def]
    return _post(
        lambda pl, d, key, at: pl.cancel_redemption(
            purchase_ref, refund=d.get("refund", "points"), key=key, occurred_at=at
        )
    )


@bp.post("/redemptions/<purchase_ref>/reprice")
def reprice(purchase_ref: str):  # type: ignore[no-untyped-def]
    return _post(
        lambda pl, d, key, at: pl.reprice(purchase_ref, d.get("price"), key=key, occurred_at=at)
    )


@bp.post("/members/<member_id>/exchanges")
def exchange(member_id: str):  # type: ignore[no-untyped-def]
    return _post(
        lambda pl, d, key, at: pl.exchange(
            member_id, d.get("reward_ref"), d.get("points"), key=key, occurred_at=at
        )
    )


@bp.post("/exchanges/<reward_ref>/cancel")
def cancel_exchange(reward_ref: str):  # type: ignore[no-untyped-def]
    return _post(lambda pl, d, key, at: pl.cancel_exchange(reward_ref, key=key, occurred_at=at))


@bp.post("/grants/<source_ref>/revoke")
def revoke(source_ref: str):  # type: ignore[no-untyped-def]
    return _post(
        lambda pl, d, key, at: pl.revoke(source_ref, d.get("reason"), key=key, occurred_at=at)
    )


@bp.get("/members/<member_id>/balance")
def balance(member_id: str):  # type: ignore[no-untyped-def]
    as_of = None
    if request.args.get("as_of"):
        try:
            as_of = parse_iso(request.args["as_of"])
        except ValueError as exc:
            raise ApiError(422, "invalid_request", "as_of must be ISO 8601") from exc
    result = _run(lambda pl: pl.balance(member_id, as_of))
    return jsonify(
        {
            "member_id": result.member_id,
            "as_of": result.as_of.isoformat(),
            "available": result.available,
            "pending": result.pending,
            "debt_yen": result.debt_yen,
            "pending_lots": [
                {"date": x.date.isoformat(), "points": x.points} for x in result.pending_lots
            ],
            "expiring": [{"date": x.date.isoformat(), "points": x.points} for x in result.expiring],
        }
    )


@bp.get("/members/<member_id>/history")
def history(member_id: str):  # type: ignore[no-untyped-def]
    try:
        limit = int(request.args.get("limit", 50))
        before = int(request.args["before"]) if request.args.get("before") else None
    except ValueError as exc:
        raise ApiError(422, "invalid_request", "limit and before must be integers") from exc
    if not 1 <= limit <= 200:
        raise ApiError(422, "invalid_request", "limit must be between 1 and 200")
    items = _run(lambda pl: pl.history(member_id, limit=limit, before_id=before))
    entries = []
    for item in items:
        data = asdict(item)
        data["occurred_at"] = item.occurred_at.isoformat()
        entries.append(data)
    return jsonify({"member_id": member_id, "entries": entries})


@bp.get("/openapi.json")
def openapi():  # type: ignore[no-untyped-def]
    return jsonify(openapi_document())


# -- OpenAPI -----------------------------------------------------------------------------------

_INT = {"type": "integer", "minimum": 1}
_STR = {"type": "string", "maxLength": 128}
_WHEN = {"type": "string", "format": "date-time", "description": "ISO 8601; default now"}

# (method, path, summary, path parameter, body properties, required body fields)
_OPERATIONS: list[tuple[str, str, str, str | None, dict[str, Any], list[str]]] = [
    (
        "post",
        "/members/{member_id}/earnings",
        "Earn points (pending, Art. 2)",
        "member_id",
        {"points": _INT, "source_ref": _STR},
        ["points", "source_ref"],
    ),
    (
        "post",
        "/earnings/{source_ref}/amend",
        "Amend a pending earning (Art. 2.3)",
        "source_ref",
        {"points": _INT},
        ["points"],
    ),
    (
        "post",
        "/earnings/{source_ref}/cancel",
        "Cancel a pending earning (Art. 2.3)",
        "source_ref",
        {},
        [],
    ),
    (
        "post",
        "/members/{member_id}/grants",
        "Operator grant (Art. 2.1)",
        "member_id",
        {"points": _INT, "source_ref": _STR, "reason": {"type": "string"}},
        ["points", "source_ref", "reason"],
    ),
    (
        "post",
        "/members/{member_id}/redemptions",
        "Pay with points (Art. 6.1)",
        "member_id",
        {"purchase_ref": _STR, "price": _INT, "points": _INT, "mode": {"enum": ["points", "all"]}},
        ["purchase_ref", "price"],
    ),
    (
        "post",
        "/redemptions/{purchase_ref}/cancel",
        "Cancel a paid purchase (Art. 6.3)",
        "purchase_ref",
        {"refund": {"enum": ["points", "cash"]}},
        [],
    ),
    (
        "post",
        "/redemptions/{purchase_ref}/reprice",
        "Price changed (Art. 6.4-6.5)",
        "purchase_ref",
        {"price": {"type": "integer", "minimum": 0}},
        ["price"],
    ),
    (
        "post",
        "/members/{member_id}/exchanges",
        "Exchange points for a reward (Art. 7)",
        "member_id",
        {"reward_ref": _STR, "points": _INT},
        ["reward_ref", "points"],
    ),
    (
        "post",
        "/exchanges/{reward_ref}/cancel",
        "Reward undeliverable: points back (Art. 7.2)",
        "reward_ref",
        {},
        [],
    ),
    (
        "post",
        "/grants/{source_ref}/revoke",
        "Revoke a grant or earning (Art. 5, 8)",
        "source_ref",
        {"reason": {"type": "string"}},
        ["reason"],
    ),
    (
        "get",
        "/members/{member_id}/balance",
        "Balance (available, pending, debt, expiring)",
        "member_id",
        {},
        [],
    ),
    ("get", "/members/{member_id}/history", "Latest ledger entries", "member_id", {}, []),
]


def openapi_document() -> dict[str, Any]:
    error = {"$ref": "#/components/schemas/Error"}
    errors = {
        str(status): {"description": text, "content": {"application/json": {"schema": error}}}
        for status, text in [
            (401, "missing or invalid API key"),
            (404, "unknown member or reference"),
            (409, "conflict: reused key, duplicate reference, stale occurred_at"),
            (422, "a rule the request breaks, e.g. insufficient_points"),
        ]
    }
    paths: dict[str, Any] = {}
    for method, path, summary, param, props, required in _OPERATIONS:
        operation: dict[str, Any] = {
            "summary": summary,
            "parameters": [
                {"name": param, "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "responses": {"200": {"description": "OK (or an idempotent replay)"}, **errors},
        }
        if method == "post":
            operation["parameters"].append(
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": True,
                    "schema": {"type": "string", "maxLength": MAX_KEY_LENGTH},
                }
            )
            operation["requestBody"] = {
                "required": bool(required),
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {**props, "occurred_at": _WHEN},
                            "required": required,
                        }
                    }
                },
            }
            operation["responses"]["201"] = {"description": "applied"}
        elif path.endswith("/balance"):
            operation["parameters"].append({"name": "as_of", "in": "query", "schema": _WHEN})
        paths.setdefault(path, {})[method] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "Benesapo points partner API", "version": "1"},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
                    "required": ["error", "message"],
                }
            },
        },
        "paths": paths,
    }
