"""Partner API: auth, idempotency, every error code, and the endpoints end to end."""

from __future__ import annotations

import itertools

import pytest
from test_points_support import T0, make_member

from adapters.runtime import build_runtime
from bot.app import create_app
from bot.partner_api import bp
from common.config import Settings
from models.apikey import ApiKey, create_api_key, hash_key
from models.timeutil import FixedClock, parse_iso
from tests.helpers import SECRET_KEY

_n = itertools.count()


@pytest.fixture
def api(db, engine):
    clock = FixedClock(T0)
    settings = Settings(
        channel_secret="s",
        channel_access_token="t",
        database_url=str(engine.url),
        secret_key=SECRET_KEY,
    )
    app = create_app(
        runtime=build_runtime(settings, engine=engine, clock=clock), start_workers=False
    )
    if "partner_api" not in app.blueprints:
        app.register_blueprint(bp)
    make_member(db, "M1001")
    _, key = create_api_key(db, "partner-a", T0)
    db.commit()
    client = app.test_client()

    class Api:
        def __init__(self) -> None:
            self.clock = clock
            self.key = key
            self.client = client

        def post(self, path, body=None, *, idem=None, auth=True):
            headers = {"Idempotency-Key": idem or f"idem-{next(_n)}"}
            if idem == "":
                headers = {}
            if auth:
                headers["Authorization"] = f"Bearer {self.key}"
            return client.post("/api/v1" + path, json=body, headers=headers)

        def get(self, path, auth=True):
            headers = {"Authorization": f"Bearer {self.key}"} if auth else {}
            return client.get("/api/v1" + path, headers=headers)

    return Api()


def test_keys_are_hashed_at_rest(db, api):
    row = db.query(ApiKey).one()
    assert row.key_hash == hash_key(api.key) and api.key not in (row.key_hash, row.key_hint)


def test_401_without_or_with_a_wrong_key(api):
    r = api.get("/members/M1001/balance", auth=False)
    assert r.status_code == 401 and r.json["error"] == "unauthorized"
    api.key = "bsk_wrong"
    r = api.post("/members/M1001/grants", {"points": 1, "source_ref": "g", "reason": "x"})
    assert r.status_code == 401 and r.json["message"]


def test_grant_then_balance_and_history(api):
    r = api.post("/members/M1001/grants", {"points": 500, "source_ref": "g1", "reason": "お詫び"})
    assert r.status_code == 201, r.json
    assert r.json["points"] == 500 and r.json["replayed"] is False
    r = api.get("/members/M1001/balance")
    assert r.status_code == 200
    assert r.json["available"] == 500
    assert r.json["expiring"] == [{"date": "2029-01-31", "points": 500}]
    r = api.get("/members/M1001/balance?as_of=2029-02-01T00:00:00%2B09:00")
    assert r.json["available"] == 0
    r = api.get("/members/M1001/history")
    assert [e["kind"] for e in r.json["entries"]] == ["grant"]


def test_full_flow_earn_confirm_redeem_reprice_cancel_exchange_revoke(api):
    assert (
        api.post("/members/M1001/earnings", {"points": 100, "source_ref": "u1"}).status_code == 201
    )
    assert api.post("/earnings/u1/amend", {"points": 80}).status_code == 201
    assert api.get("/members/M1001/balance").json["pending"] == 80
    api.post("/members/M1001/earnings", {"points": 10, "source_ref": "u2"})
    assert api.post("/earnings/u2/cancel").status_code == 201
    api.clock.set(parse_iso("2026-03-01T10:00:00+09:00"))
    r = api.post(
        "/members/M1001/grants",
        {"points": 300, "source_ref": "g1", "reason": "x", "occurred_at": "2026-03-01T10:00"},
    )
    assert r.status_code == 201
    r = api.post("/members/M1001/redemptions", {"purchase_ref": "p1", "price": 1000, "mode": "all"})
    assert r.status_code == 201 and r.json["details"]["points_used"] == 380
    assert api.post("/redemptions/p1/reprice", {"price": 500}).json["points"] == 0
    assert api.post("/redemptions/p1/cancel", {}).json["details"]["returned"] == 380
    assert (
        api.post("/members/M1001/exchanges", {"reward_ref": "r1", "points": 100}).status_code == 201
    )
    assert api.post("/exchanges/r1/cancel").json["points"] == 100
    api.post("/members/M1001/redemptions", {"purchase_ref": "p2", "price": 300, "points": 300})
    r = api.post("/grants/g1/revoke", {"reason": "不正"})
    assert r.status_code == 201 and r.json["details"]["debt_yen"] == 220
    assert api.get("/members/M1001/balance").json["debt_yen"] == 220


def test_idempotent_replay_and_conflict(api):
    body = {"points": 5, "source_ref": "g1", "reason": "x"}
    first = api.post("/members/M1001/grants", body, idem="same")
    again = api.post("/members/M1001/grants", body, idem="same")
    assert first.status_code == 201 and again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert {**first.json, "replayed": True} == again.json
    assert api.get("/members/M1001/balance").json["available"] == 5
    r = api.post("/members/M1001/grants", {**body, "points": 6}, idem="same")
    assert r.status_code == 409 and r.json["error"] == "idempotency_conflict"


def test_post_without_idempotency_key_is_refused(api):
    r = api.post("/members/M1001/grants", {"points": 5, "source_ref": "g", "reason": "x"}, idem="")
    assert r.status_code == 422 and r.json["error"] == "missing_idempotency_key"


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        (
            "/members/NOPE/grants",
            {"points": 1, "source_ref": "g", "reason": "x"},
            404,
            "unknown_member",
        ),
        ("/redemptions/nope/cancel", {}, 404, "unknown_reference"),
        ("/grants/nope/revoke", {"reason": "x"}, 404, "unknown_reference"),
        (
            "/members/M1001/redemptions",
            {"purchase_ref": "p", "price": 100, "points": 50},
            422,
            "insufficient_points",
        ),
        (
            "/members/M1001/grants",
            {"points": -1, "source_ref": "g", "reason": "x"},
            422,
            "invalid_request",
        ),
        (
            "/members/M1001/grants",
            {"points": "ten", "source_ref": "g", "reason": "x"},
            422,
            "invalid_request",
        ),
        (
            "/members/M1001/grants",
            {"points": 1, "source_ref": ["g"], "reason": "x"},
            422,
            "invalid_request",
        ),
        (
            "/members/M1001/grants",
            {"points": 1, "source_ref": "g", "reason": "x", "occurred_at": "yesterday"},
            422,
            "invalid_request",
        ),
        (
            "/members/M1001/grants",
            {"points": 1, "source_ref": "g", "reason": "x", "occurred_at": "2030-01-01T00:00:00Z"},
            422,
            "future_occurred_at",
        ),
        (
            "/members/M1001/redemptions",
            {"purchase_ref": "p", "price": 100, "points": 1, "mode": "all"},
            422,
            "invalid_request",
        ),
        (
            "/members/M1001/redemptions",
            {"purchase_ref": "p", "price": 100, "mode": "some"},
            422,
            "invalid_request",
        ),
    ],
)
def test_error_codes(api, path, body, status, code):
    r = api.post(path, body)
    assert (r.status_code, r.json["error"]) == (status, code), r.json
    assert r.json["message"]


def test_stale_occurred_at_and_duplicate_reference_are_409(api):
    api.post("/members/M1001/grants", {"points": 1, "source_ref": "g1", "reason": "x"})
    r = api.post(
        "/members/M1001/grants",
        {"points": 1, "source_ref": "g2", "reason": "x", "occurred_at": "2026-01-01T00:00:00Z"},
    )
    assert (r.status_code, r.json["error"]) == (409, "stale_occurred_at")
    r = api.post("/members/M1001/grants", {"points": 1, "source_ref": "g1", "reason": "x"})
    assert (r.status_code, r.json["error"]) == (409, "duplicate_reference")


def test_bad_json_and_unknown_route_are_4xx_json(api):
    r = api.client.post(
        "/api/v1/members/M1001/grants",
        data=b"{not json",
        headers={
            "Authorization": f"Bearer {api.key}",
            "Idempotency-Key": "x",
            "Content-Type": "application/json",
        },
    )
    assert r.status_code == 400 and r.json["error"] == "invalid_json"
    r = api.client.post(
        "/api/v1/members/M1001/grants",
        data=b"[1, 2]",
        headers={
            "Authorization": f"Bearer {api.key}",
            "Idempotency-Key": "x",
            "Content-Type": "application/json",
        },
    )
    assert r.status_code == 400
    r = api.get("/members/M1001/history?limit=abc")
    assert r.status_code == 422
    r = api.get("/members/M1001/balance?as_of=nope")
    assert r.status_code == 422
    r = api.client.get(
        "/api/v1/members/M1001/grants", headers={"Authorization": f"Bearer {api.key}"}
    )
    assert r.status_code == 405 and r.json["error"] == "method_not_allowed"


def test_openapi_document_lists_every_endpoint(api):
    r = api.client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    doc = r.json
    assert doc["openapi"].startswith("3.")
    assert set(doc["paths"]) >= {
        "/members/{member_id}/earnings",
        "/earnings/{source_ref}/amend",
        "/earnings/{source_ref}/cancel",
        "/members/{member_id}/grants",
        "/members/{member_id}/redemptions",
        "/redemptions/{purchase_ref}/cancel",
        "/redemptions/{purchase_ref}/reprice",
        "/members/{member_id}/exchanges",
        "/exchanges/{reward_ref}/cancel",
        "/grants/{source_ref}/revoke",
        "/members/{member_id}/balance",
        "/members/{member_id}/history",
    }


def test_unknown_api_path_is_json_404(api):
    r = api.client.get("/api/v1/nothing-here")
    assert r.status_code == 404 and r.json["error"] == "not_found"
