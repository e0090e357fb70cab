"""Partner API under /api/v1/: how points reach us (earnings, grants, redemptions, …).

Bearer API keys (hashed at rest, `models.apikey`); every POST needs an `Idempotency-Key`
header; errors are JSON `{"error": CODE, "message": TEXT}` with a 4xx status. Each view is
bound to its declaration in `bot.partner_operations` (route, scope, request model), which
checks the request before the view runs. The rules are in `models.points`; this module only
translates HTTP to service calls and back.
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
from bot import partner_operations as ops
from bot.appstate import get_runtime
from bot.partner_access import missing_scope, openapi_path
from bot.partner_input import ApiError
from bot.partner_openapi import openapi_document
from common.logging_setup import log_fields
from models.apikey import authenticate
from models.points import PointsError, PointsLedger, Receipt, run_in_transaction
from models.points.rules import Actor

log = logging.getLogger("benesapo.partner_api")

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


# A command: (ledger, checked body, idempotency key, occurred_at, path parameters) → receipt.
Command = Callable[..., Receipt]


def _command(fn: Command) -> Command:
    """Route a POST view from its declaration (`ops.BY_NAME[fn.__name__]`)."""
    op = ops.BY_NAME[fn.__name__]
    model = op.body
    if op.method != "post" or model is None:
        raise TypeError(f"{op.name} is not declared as a POST with a body")

    def view(**given: str):  # type: ignore[no-untyped-def]
        data = read.body()
        key = read.idempotency_key(g.api_key_id)
        path = read.path_parameters(op, given)
        checked = read.validated(model, data)
        at = read.optional_instant(checked.occurred_at, "occurred_at")
        return _applied(_run(lambda ledger: fn(ledger, checked, key, at, **path)))

    bp.add_url_rule(op.flask_rule, op.name, view, methods=["POST"])
    return fn


def _query(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Route a GET view from its declaration; the view gets its checked query and path."""
    op = ops.BY_NAME[fn.__name__]
    if op.method != "get":
        raise TypeError(f"{op.name} is not declared as a GET")

    def view(**given: str):  # type: ignore[no-untyped-def]
        path = read.path_parameters(op, given)
        if op.query is None:
            return fn(**path)
        return fn(read.query(op.query), **path)

    bp.add_url_rule(op.flask_rule, op.name, view, methods=["GET"])
    return fn


def _applied(receipt: Receipt) -> tuple[Response, int]:
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
# Each function is named as its operation; the ledger checks every value again.

At = datetime | None


@_command
def earn(pl: PointsLedger, d: ops.Earning, key: str, at: At, member_id: str) -> Receipt:
    return pl.earn(member_id, d.points, d.source_ref, key=key, occurred_at=at)


@_command
def amend_earning(pl: PointsLedger, d: ops.Amendment, key: str, at: At, source_ref: str) -> Receipt:
    return pl.amend_earning(source_ref, d.points, key=key, occurred_at=at)


@_command
def cancel_earning(
    pl: PointsLedger, d: ops.Occurrence, key: str, at: At, source_ref: str
) -> Receipt:
    return pl.cancel_earning(source_ref, key=key, occurred_at=at)


@_command
def grant(pl: PointsLedger, d: ops.Grant, key: str, at: At, member_id: str) -> Receipt:
    return pl.grant(member_id, d.points, d.source_ref, d.reason, key=key, occurred_at=at)


@_command
def redeem(pl: PointsLedger, d: ops.Redemption, key: str, at: At, member_id: str) -> Receipt:
    return pl.redeem(
        member_id, d.purchase_ref, d.price, d.points, mode=d.mode, key=key, occurred_at=at
    )


@_command
def cancel_redemption(
    pl: PointsLedger, d: ops.RedemptionCancel, key: str, at: At, purchase_ref: str
) -> Receipt:
    return pl.cancel_redemption(purchase_ref, refund=d.refund, key=key, occurred_at=at)


@_command
def reprice(pl: PointsLedger, d: ops.Reprice, key: str, at: At, purchase_ref: str) -> Receipt:
    return pl.reprice(purchase_ref, d.price, key=key, occurred_at=at)


@_command
def exchange(pl: PointsLedger, d: ops.Exchange, key: str, at: At, member_id: str) -> Receipt:
    return pl.exchange(member_id, d.reward_ref, d.points, key=key, occurred_at=at)


@_command
def cancel_exchange(
    pl: PointsLedger, d: ops.Occurrence, key: str, at: At, reward_ref: str
) -> Receipt:
    return pl.cancel_exchange(reward_ref, key=key, occurred_at=at)


@_command
def revoke(pl: PointsLedger, d: ops.Revocation, key: str, at: At, source_ref: str) -> Receipt:
    return pl.revoke(source_ref, d.reason, key=key, occurred_at=at)


@_query
def balance(query: ops.BalanceQuery, member_id: str):  # type: ignore[no-untyped-def]
    as_of = read.optional_instant(query.as_of, "as_of")
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


@_query
def history(query: ops.HistoryQuery, member_id: str):  # type: ignore[no-untyped-def]
    items = _run(lambda pl: pl.history(member_id, limit=query.limit, before_id=query.before))
    entries = []
    for item in items:
        data = asdict(item)
        data["occurred_at"] = item.occurred_at.isoformat()
        entries.append(data)
    return jsonify({"member_id": member_id, "entries": entries})


@_query
def openapi():  # type: ignore[no-untyped-def]
    return jsonify(openapi_document())
