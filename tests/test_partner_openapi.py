"""The partner API's OpenAPI document is derived from the same declarations as its routes and
its request checks (bot/partner_operations.py): the URL map and the document list the same
operations, the document is well-formed OpenAPI 3, every bound it states is the bound the API
enforces (a 422 in the ledger's words, never a 5xx), and the API's log line reaches the
configured handler."""

from __future__ import annotations

import io
import json
import logging
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_partner_api import api  # noqa: F401  (the fixture: an app, a member, a key)

from bot.partner_access import openapi_path
from bot.partner_api import PREFIX
from common import logging_setup
from models.points.rules import PointsError, check_amount, check_text

METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def _document(api) -> dict[str, Any]:  # noqa: F811
    r = api.client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    return r.json


def test_the_url_map_and_the_document_list_the_same_operations(api):  # noqa: F811
    app = api.client.application
    routes = {
        (method.lower(), openapi_path(rule.rule, PREFIX))
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("partner_api.")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    doc = _document(api)
    documented = {(m, path) for path, item in doc["paths"].items() for m in item}
    assert routes == documented
    assert len(routes) == 13  # 10 commands, 2 reads, the document itself
    assert doc["servers"] == [{"url": PREFIX}]


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in _refs(value)]
    return []


def _resolve(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = doc
    for part in ref[2:].split("/"):
        assert isinstance(node, dict) and part in node, f"{ref} does not resolve"
        node = node[part]
    return node


def test_the_document_is_well_formed_openapi_3(api):  # noqa: F811
    doc = _document(api)
    assert doc["openapi"].startswith("3.")
    assert doc["info"]["title"] and doc["info"]["version"]
    schemes = doc["components"]["securitySchemes"]
    operation_ids = []
    for path, item in doc["paths"].items():
        assert path.startswith("/")
        templated = set(path.replace("}", "{").split("{")[1::2])
        for method, operation in item.items():
            assert method in METHODS
            operation_ids.append(operation["operationId"])
            assert operation["responses"]
            for status, response in operation["responses"].items():
                assert status.isdigit() and response["description"]
            params = operation.get("parameters", [])
            for param in params:
                assert param["in"] in {"path", "query", "header", "cookie"} and param["name"]
                assert "type" in param["schema"]
            in_path = {p["name"] for p in params if p["in"] == "path"}
            assert in_path == templated, (method, path)
            assert all(p["required"] is True for p in params if p["in"] == "path")
            for requirement in operation["security"]:
                assert set(requirement) <= set(schemes)
            if "requestBody" in operation:
                assert set(operation["requestBody"]["content"]) == {"application/json"}
    assert len(operation_ids) == len(set(operation_ids))
    refs = _refs(doc)
    assert len(refs) >= 80  # every error answer and every request body is a $ref
    for ref in refs:
        assert isinstance(_resolve(doc, ref), dict)


# -- the bounds the document states are the bounds enforced ----------------------------------


def _option(schema: dict[str, Any]) -> dict[str, Any]:
    return next((s for s in schema.get("anyOf", []) if s.get("type") != "null"), schema)


def _valid(schema: dict[str, Any]) -> Any:
    schema = _option(schema)
    if "enum" in schema:
        return schema["enum"][0]
    if schema.get("type") == "integer":
        return max(schema.get("minimum", 1), 1)
    if schema.get("format") == "date-time":
        return "2026-01-15T10:00:00+09:00"
    return "ref-x"


def _violations(schema: dict[str, Any]) -> list[Any]:
    schema = _option(schema)
    if "enum" in schema:
        return ["nope", 1]
    if schema.get("type") == "integer":
        return [schema["maximum"] + 1, schema["minimum"] - 1, "1", True, 1.5, None]
    if schema.get("format") == "date-time":
        return ["x" * (schema["maxLength"] + 1), "yesterday", 20260115]
    too_long = "x" * (schema["maxLength"] + 1)
    return [too_long, "   ", "a\x00b", ["x"], 7]


def _bodies(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any], str, Any]]:
    """(operation, path, an otherwise valid body, the property broken, its bad value)."""
    cases = []
    for path, item in doc["paths"].items():
        operation = item.get("post")
        if operation is None:
            continue
        schema = _resolve(
            doc, operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        )
        base = {name: _valid(schema["properties"][name]) for name in schema.get("required", [])}
        concrete = path.replace("{member_id}", "M1001").replace("{", "").replace("}", "")
        for name, prop in schema["properties"].items():
            for bad in _violations(prop):
                if bad is None and name not in schema.get("required", []):
                    continue  # null is what an optional field's absence looks like
                cases.append((operation["operationId"], concrete, base, name, bad))
    return cases


def test_every_documented_bound_is_enforced_and_is_exactly_the_bound(api):  # noqa: F811
    doc = _document(api)
    cases = _bodies(doc)
    assert len(cases) >= 60
    for op, path, base, name, bad in cases:
        r = api.post(path, {**base, name: bad})
        assert (r.status_code, r.json["error"]) == (422, "invalid_request"), (op, name, bad)
        assert name in r.json["message"], (op, name, r.json)
    # The stated maximum itself passes the check (the ledger may refuse it for another reason).
    for path, item in doc["paths"].items():
        operation = item.get("post")
        if operation is None:
            continue
        ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        schema = _resolve(doc, ref)
        concrete = path.replace("{member_id}", "M1001").replace("{", "").replace("}", "")
        for name, prop in schema["properties"].items():
            prop = _option(prop)
            edge = prop.get("maximum")
            if edge is None and "maxLength" in prop and "format" not in prop:
                edge = "y" * prop["maxLength"]
            if edge is None:
                continue
            body = {n: _valid(schema["properties"][n]) for n in schema.get("required", [])}
            r = api.post(concrete, {**body, name: edge})
            refused = r.status_code == 422 and r.json["error"] == "invalid_request"
            assert not (refused and name in r.json["message"]), (path, name, r.json)


@pytest.mark.parametrize(
    ("field", "value", "ledger_check"),
    [
        ("points", -1, lambda v: check_amount(v, "points", maximum=10_000_000)),
        ("points", "ten", lambda v: check_amount(v, "points", maximum=10_000_000)),
        ("points", 10**9, lambda v: check_amount(v, "points", maximum=10_000_000)),
        ("source_ref", ["g"], lambda v: check_text(v, "source_ref", 128)),
        ("source_ref", "g" * 129, lambda v: check_text(v, "source_ref", 128)),
        ("source_ref", "g\x07", lambda v: check_text(v, "source_ref", 128)),
    ],
)
def test_a_refusal_is_worded_as_the_ledger_words_it(api, field, value, ledger_check):  # noqa: F811
    with pytest.raises(PointsError) as ledger:
        ledger_check(value)
    body = {"points": 5, "source_ref": "g1", "reason": "x", field: value}
    r = api.post("/members/M1001/grants", body)
    assert r.status_code == 422
    assert r.json == {"error": ledger.value.code, "message": ledger.value.message}


def test_path_and_query_parameters_are_bounded(api):  # noqa: F811
    r = api.get("/members/" + "M" * 33 + "/balance")
    assert (r.status_code, r.json["error"]) == (422, "invalid_request")
    assert "member_id" in r.json["message"]
    r = api.post("/grants/" + "g" * 129 + "/revoke", {"reason": "x"})
    assert (r.status_code, r.json["error"]) == (422, "invalid_request")
    r = api.post("/earnings/" + quote("a\x01b") + "/cancel")
    assert r.status_code == 422 and "source_ref" in r.json["message"]
    for query in ("limit=0", "limit=201", "before=0", f"before={2**63}", "limit=x"):
        r = api.get(f"/members/M1001/history?{query}")
        assert (r.status_code, r.json["error"]) == (422, "invalid_request"), query
    api.post("/members/M1001/grants", {"points": 5, "source_ref": "g1", "reason": "x"})
    assert api.get("/members/M1001/history?limit=200").status_code == 200  # the bound itself
    r = api.get("/members/M1001/balance?as_of=" + "9" * 65)
    assert (r.status_code, r.json["error"]) == (422, "invalid_request")


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
_names = st.sampled_from(
    ["points", "source_ref", "reason", "purchase_ref", "price", "mode", "refund", "reward_ref"]
    + ["occurred_at"]
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=st.sampled_from(
        [
            "/members/M1001/earnings",
            "/earnings/e1/amend",
            "/members/M1001/grants",
            "/members/M1001/redemptions",
            "/redemptions/p1/cancel",
            "/redemptions/p1/reprice",
            "/members/M1001/exchanges",
            "/grants/g1/revoke",
        ]
    ),
    body=st.dictionaries(_names, _json, max_size=5),
    ref=st.text(max_size=200),
)
def test_no_body_or_path_parameter_gets_a_5xx(api, path, body, ref):  # noqa: F811
    r = api.post(path, body)
    assert r.status_code < 500 and set(r.json) >= {"error", "message"} | (
        set() if r.status_code >= 400 else {"replayed"}
    )
    r = api.get("/members/" + quote(ref, safe="") + "/history?limit=" + quote(ref[:5], safe=""))
    assert r.status_code < 500, (ref, r.status_code)


# -- its log line ------------------------------------------------------------------------------


@pytest.fixture
def configured_log(monkeypatch) -> io.StringIO:
    """The process's logging as `configure_logging` sets it up, writing to a buffer."""
    stream = io.StringIO()
    logger = logging.getLogger("benesapo")
    level, propagate, handlers = logger.level, logger.propagate, list(logger.handlers)
    monkeypatch.setattr(logging_setup, "_configured", False)
    logging_setup.configure_logging("INFO", stream)
    yield stream
    logger.handlers[:] = handlers
    logger.setLevel(level)
    logger.propagate = propagate


def test_an_applied_operation_is_one_line_in_the_configured_log(api, configured_log):  # noqa: F811
    r = api.post("/members/M1001/grants", {"points": 5, "source_ref": "g1", "reason": "x"})
    assert r.status_code == 201
    lines = [json.loads(line) for line in configured_log.getvalue().splitlines()]
    [line] = [line for line in lines if line.get("event") == "points_api"]
    assert line["logger"] == "benesapo.partner_api" and line["level"] == "info"
    assert (line["op"], line["ref"], line["member"], line["replayed"]) == (
        "grant",
        "g1",
        "M1001",
        False,
    )
    assert api.key not in configured_log.getvalue()
