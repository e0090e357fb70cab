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

from flask import Blueprint, Response, g, jsonify, request
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

from bot import partner_input as read
from bot.appstate import get_runtime
from bot.partner_access import missing_scope, openapi_path
from bot.partner_input import MAX_DB_INT, ApiError
from bot.partner_openapi import openapi_document
from common.logging_setup import log_fields
from models.apikey import authenticate
from models.points import PointsError, PointsLedger, Receipt, run_in_transaction
from models.points_rules import Actor

log = logging.getLogger(__name__)

bp = Blueprint("partner_api", __name__, url_prefix="/api/v1")
PREFIX = "/api/v1"


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
    if request.path.startswith(PREFIX):
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
    runtime = get_runtime()
    with runtime.session_factory() as session, session.begin():
        key = authenticate(session, token)
        if key is None:
            return _error(401, "unauthorized", "the API key is not valid")
        key.last_used_at = runtime.clock.now()
        g.api_key_id = key.id
        g.api_key_name = key.name
        g.actor = Actor(partner_id=key.partner_id, api_key_id=key.id)
        scopes = key.scope_set
    rule = request.url_rule.rule if request.url_rule else request.path
    needed = missing_scope(request.method, openapi_path(rule, PREFIX), scopes)
    if needed is not None:
        return _error(403, "forbidden", f"this API key lacks the {needed!r} scope")
    return None


# -- request helpers -------------------------------------------------------------------------


def _run(fn: Callable[[PointsLedger], Any]) -> Any:
    runtime = get_runtime()

    def work(session: Session) -> Any:
        return fn(PointsLedger.configured(session, runtime.clock, runtime.settings, g.actor))

    return run_in_transaction(runtime.session_factory, work)


def _post(call: Callable[[PointsLedger, dict[str, Any], str, datetime | None], Receipt]):
    data = read.body()
    key = read.idempotency_key(g.api_key_id)
    at = read.optional_instant(data, "occurred_at")
    receipt: Receipt = _run(lambda ledger: call(ledger, data, key, at))
    log_fields(
        log,
        logging.INFO,
        {
            "event": "points_api",
            "op": receipt.operation,
            "ref": receipt.ref,
            "member": receipt.member_id,
            "replayed": receipt.replayed,
            "partner_id": g.actor.partner_id,
            "api_key": g.api_key_name,
        },
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
    raw = request.args.get("as_of")
    as_of = read.instant(raw, "as_of") if raw else None
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
    limit = read.query_int("limit", 50, 1, 200) or 50
    before = read.query_int("before", None, 1, MAX_DB_INT)
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
