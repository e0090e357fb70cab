"""The partner API's OpenAPI document (GET /api/v1/openapi.json)."""

from __future__ import annotations

from typing import Any

from bot.partner_access import REQUIRED_SCOPE
from bot.partner_input import MAX_KEY_LENGTH
from models.apikey import SCOPES
from models.points_rules import (
    MAX_POINTS_PER_OPERATION,
    MAX_PRICE_YEN,
    MAX_REASON_LENGTH,
    MAX_REF_LENGTH,
)

# -- OpenAPI -----------------------------------------------------------------------------------

_INT = {"type": "integer", "minimum": 1, "maximum": MAX_POINTS_PER_OPERATION}
_PRICE = {"type": "integer", "minimum": 1, "maximum": MAX_PRICE_YEN}
_STR = {"type": "string", "maxLength": MAX_REF_LENGTH}
_REASON = {"type": "string", "maxLength": MAX_REASON_LENGTH}
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
        {"points": _INT, "source_ref": _STR, "reason": _REASON},
        ["points", "source_ref", "reason"],
    ),
    (
        "post",
        "/members/{member_id}/redemptions",
        "Pay with points (Art. 6.1)",
        "member_id",
        {
            "purchase_ref": _STR,
            "price": _PRICE,
            "points": _INT,
            "mode": {"enum": ["points", "all"]},
        },
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
        {"price": {**_PRICE, "minimum": 0}},
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
        {"reason": _REASON},
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
            (400, "the body is not a JSON object"),
            (401, "missing or invalid API key"),
            (403, "the API key lacks the scope this operation needs"),
            (404, "unknown member or reference (or one another partner created)"),
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
            "security": [{"bearer": [REQUIRED_SCOPE[(method, path)]]}],
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
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A partner's API key; its scopes: " + ", ".join(SCOPES),
                }
            },
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
