"""The partner API's OpenAPI document (GET /api/v1/openapi.json), derived from the operations
and their pydantic models in `bot.partner_operations`: nothing here is kept by hand but the
prose of the error answers."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from bot.partner_operations import (
    MAX_KEY_LENGTH,
    OPERATIONS,
    PATH_PARAMETERS,
    Error,
    Operation,
)
from models.apikey import SCOPES

REF_TEMPLATE = "#/components/schemas/{model}"

_ERRORS = [
    (400, "the body is not a JSON object"),
    (401, "missing or invalid API key"),
    (403, "the API key lacks the scope this operation needs"),
    (404, "unknown member or reference (or one another partner created)"),
    (409, "conflict: reused key, duplicate reference, stale occurred_at"),
    (422, "a rule the request breaks, e.g. insufficient_points, or a value out of bounds"),
]


def _models() -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = [Error]
    for op in OPERATIONS:
        if op.body is not None and op.body not in found:
            found.append(op.body)
    return found


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A parameter's schema without the `null` of an optional field (a query parameter is
    absent, never null)."""
    options = [s for s in schema.get("anyOf", []) if s != {"type": "null"}]
    if len(options) != 1:
        return schema
    rest = {k: v for k, v in schema.items() if k not in ("anyOf", "default")}
    return {**options[0], **rest}


def _parameters(op: Operation) -> list[dict[str, Any]]:
    parameters: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": PATH_PARAMETERS[name].json_schema(),
        }
        for name in op.path_parameters
    ]
    if op.query is not None:
        properties = op.query.model_json_schema()["properties"]
        for name, field in op.query.model_fields.items():
            parameters.append(
                {
                    "name": name,
                    "in": "query",
                    "required": field.is_required(),
                    "schema": _not_null(properties[name]),
                }
            )
    if op.method == "post":
        parameters.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": True,
                "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
            }
        )
    return parameters


def _operation(op: Operation, errors: dict[str, Any]) -> dict[str, Any]:
    document: dict[str, Any] = {
        "operationId": op.name,
        "summary": op.summary,
        "responses": {"200": {"description": "OK (or an idempotent replay)"}},
    }
    parameters = _parameters(op)
    if parameters:
        document["parameters"] = parameters
    if op.scope is None:
        document["security"] = []  # the document itself: no key needed
        return document
    document["security"] = [{"bearer": [op.scope]}]
    document["responses"].update(errors)
    if op.body is not None:
        document["requestBody"] = {
            "required": bool(op.body.model_json_schema().get("required")),
            "content": {
                "application/json": {
                    "schema": {"$ref": REF_TEMPLATE.format(model=op.body.__name__)}
                }
            },
        }
        document["responses"]["201"] = {"description": "applied"}
    return document


def openapi_document() -> dict[str, Any]:
    _, definitions = models_json_schema(
        [(model, "validation") for model in _models()], ref_template=REF_TEMPLATE
    )
    error = {"$ref": REF_TEMPLATE.format(model=Error.__name__)}
    errors = {
        str(status): {"description": text, "content": {"application/json": {"schema": error}}}
        for status, text in _ERRORS
    }
    paths: dict[str, Any] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = _operation(op, errors)
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
            "schemas": definitions["$defs"],
        },
        "paths": paths,
    }
