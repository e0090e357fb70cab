"""Partners and scopes (issue 16.6): a key belongs to a partner; a partner acts only on what it
created and reads only members it has operated on; keys carry scopes; every API operation is
attributed (partner, key) in the ledger; keys are listed and revoked from the CLI."""

from __future__ import annotations

import itertools

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text
from test_points_support import T0, make_member

from adapters.runtime import build_runtime
from bot.app import create_app
from bot.cli import LazyRuntime
from bot.commands.apikeys import apikey
from bot.migrate import upgrade_database
from bot.partner_access import REQUIRED_SCOPE, openapi_path
from bot.partner_api import PREFIX
from common.config import Settings
from models.apikey import ApiKey, Partner, create_api_key
from models.db import is_postgres, make_engine
from models.points.tables import PointEntry, PointOperation
from models.timeutil import FixedClock

_n = itertools.count()


class Caller:
    def __init__(self, client, key: str) -> None:
        self.client, self.key = client, key

    def post(self, path, body=None):
        headers = {"Idempotency-Key": f"k-{next(_n)}", "Authorization": f"Bearer {self.key}"}
        return self.client.post("/api/v1" + path, json=body or {}, headers=headers)

    def get(self, path):
        return self.client.get("/api/v1" + path, headers={"Authorization": f"Bearer {self.key}"})


@pytest.fixture
def runtime(engine):
    settings = Settings(
        channel_secret="s",
        channel_access_token="t",
        database_url=str(engine.url),
        secret_key="partner-scopes-test-secret",
    )
    return build_runtime(settings, engine=engine, clock=FixedClock(T0))


@pytest.fixture
def partners(db, runtime):
    app = create_app(runtime=runtime, start_workers=False)
    make_member(db, "M1001")
    make_member(db, "M1002")
    _, key_a = create_api_key(db, "partner-a", T0)
    _, key_b = create_api_key(db, "partner-b", T0)
    db.commit()
    client = app.test_client()
    return Caller(client, key_a), Caller(client, key_b), client


def _a_did_everything(a: Caller) -> None:
    assert a.post("/members/M1001/earnings", {"points": 100, "source_ref": "e1"}).status_code == 201
    grant = {"points": 500, "source_ref": "g1", "reason": "お詫び"}
    assert a.post("/members/M1001/grants", grant).status_code == 201
    redeem = {"purchase_ref": "p1", "price": 200, "points": 200}
    assert a.post("/members/M1001/redemptions", redeem).status_code == 201
    assert a.post("/members/M1001/exchanges", {"reward_ref": "r1", "points": 50}).status_code == 201


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/members/M1001/balance", None),
        ("get", "/members/M1001/history", None),
        ("post", "/earnings/e1/amend", {"points": 99_999}),
        ("post", "/earnings/e1/cancel", {}),
        ("post", "/redemptions/p1/cancel", {"refund": "cash"}),
        ("post", "/redemptions/p1/reprice", {"price": 1}),
        ("post", "/exchanges/r1/cancel", {}),
        ("post", "/grants/g1/revoke", {"reason": "横取り"}),
        ("post", "/grants/e1/revoke", {"reason": "横取り"}),
    ],
)
def test_another_partner_gets_404_on_what_a_created(partners, db, method, path, body):
    a, b, _ = partners
    _a_did_everything(a)
    before = a.get("/members/M1001/balance").json
    r = b.get(path) if method == "get" else b.post(path, body)
    assert r.status_code == 404, r.json
    assert r.json["error"] in ("unknown_member", "unknown_reference") and r.json["message"]
    assert a.get("/members/M1001/balance").json == before  # nothing changed
    b_ops = select(PointOperation.id).join(ApiKey, ApiKey.id == PointOperation.api_key_id)
    assert db.scalar(b_ops.where(ApiKey.name == "partner-b")) is None


def test_a_partner_reads_a_member_once_it_operated_on_it_and_sees_only_its_own_entries(
    partners,
):
    a, b, _ = partners
    _a_did_everything(a)
    assert b.get("/members/M1001/balance").status_code == 404
    r = b.post("/members/M1001/grants", {"points": 7, "source_ref": "gb", "reason": "b"})
    assert r.status_code == 201
    balance = b.get("/members/M1001/balance").json
    assert balance["available"] == 500 - 200 - 50 + 7  # the member's whole balance
    kinds = [e["source_ref"] for e in b.get("/members/M1001/history").json["entries"]]
    assert kinds == ["gb"]  # not what A did
    a_refs = {e["source_ref"] for e in a.get("/members/M1001/history").json["entries"]}
    assert a_refs == {"e1", "g1", "p1", "r1"}


def test_the_owner_can_still_act_on_its_references(partners):
    a, _, _ = partners
    _a_did_everything(a)
    assert a.post("/earnings/e1/amend", {"points": 90}).status_code == 201
    assert a.post("/redemptions/p1/cancel", {"refund": "cash"}).status_code == 201
    assert a.post("/grants/g1/revoke", {"reason": "誤付与"}).status_code == 201


def test_every_api_operation_is_attributed_to_its_partner_and_key(partners, db):
    a, b, _ = partners
    _a_did_everything(a)
    b.post("/members/M1002/grants", {"points": 3, "source_ref": "gb", "reason": "b"})
    key_a, key_b = db.scalars(select(ApiKey).order_by(ApiKey.id)).all()
    rows = db.execute(
        select(PointEntry.source_ref, PointOperation.partner_id, PointOperation.api_key_id)
        .join(PointOperation, PointOperation.id == PointEntry.operation_id)
        .order_by(PointEntry.id)
    ).all()
    assert {(ref, p, k) for ref, p, k in rows} == {
        ("e1", key_a.partner_id, key_a.id),
        ("g1", key_a.partner_id, key_a.id),
        ("p1", key_a.partner_id, key_a.id),
        ("r1", key_a.partner_id, key_a.id),
        ("gb", key_b.partner_id, key_b.id),
    }


def test_a_key_without_a_scope_gets_403_and_changes_nothing(partners, db, runtime):
    _, _, client = partners
    partner_a = db.scalar(select(Partner).where(Partner.name == "partner-a"))
    assert partner_a is not None
    _, plain = create_api_key(db, "a-reader", T0, scopes="read", partner="partner-a")
    db.commit()
    reader = Caller(client, plain)
    r = reader.post("/members/M1001/grants", {"points": 5, "source_ref": "g", "reason": "x"})
    assert r.status_code == 403 and r.json["error"] == "forbidden" and "grant" in r.json["message"]
    assert reader.post("/redemptions/p1/cancel", {}).status_code == 403
    assert db.scalar(select(PointOperation.id)) is None
    db.rollback()  # end the read (SQLite: it holds the write lock)
    assert reader.get("/members/M1001/balance").status_code == 404  # the partner never operated
    earner = Caller(
        client, create_api_key(db, "a-earner", T0, scopes="earn", partner="partner-a")[1]
    )
    db.commit()
    assert (
        earner.post("/members/M1001/earnings", {"points": 5, "source_ref": "e"}).status_code == 201
    )
    assert earner.get("/members/M1001/balance").status_code == 403
    # The reader is of the same partner: it now sees the member the earner operated on.
    assert reader.get("/members/M1001/balance").json["pending"] == 5


def test_every_route_of_the_api_has_a_scope(partners):
    _, _, client = partners
    app = client.application
    routes = {
        (method.lower(), openapi_path(rule.rule, PREFIX))
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("partner_api.") and rule.endpoint != "partner_api.openapi"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert routes == set(REQUIRED_SCOPE)
    doc = client.get("/api/v1/openapi.json").json
    for (method, path), scope in REQUIRED_SCOPE.items():
        assert doc["paths"][path][method]["security"] == [{"bearer": [scope]}]


@pytest.fixture
def cli(db, runtime):
    def run(*args):
        return CliRunner().invoke(apikey, list(args), obj=LazyRuntime.ready(runtime))

    return run


def test_cli_create_with_scopes_list_and_revoke(cli, partners, db):
    _, _, client = partners
    result = cli("create", "shop-x", "--scopes", "read,redeem")
    assert result.exit_code == 0, result.output
    plain = result.output.strip().splitlines()[-1]
    assert "scopes: read redeem" in result.output
    shop = Caller(client, plain)
    r = shop.post("/members/M1001/grants", {"points": 1, "source_ref": "g", "reason": "x"})
    assert r.status_code == 403
    listing = cli("list").output
    assert "shop-x\tpartner=shop-x\tscopes=read,redeem" in listing and plain not in listing
    assert "partner-a\tpartner=partner-a\tscopes=read,earn,redeem,grant,revoke" in listing
    assert cli("create", "shop-x-2", "--partner", "shop-x").exit_code == 0
    assert cli("create", "bad", "--scopes", "read,steal").exit_code == 1
    assert cli("create", "bad", "--partner", "nobody").exit_code == 1
    assert cli("revoke", "shop-x").exit_code == 0
    assert shop.get("/members/M1001/balance").status_code == 401
    assert "shop-x\tpartner=shop-x" in cli("list").output and "revoked" in cli("list").output
    assert cli("revoke", "nobody").exit_code == 1


def test_the_migration_gives_existing_keys_a_partner_and_attributes_their_operations(
    database_url, tmp_path
):
    if database_url.startswith("sqlite"):
        engine = make_engine(f"sqlite:///{tmp_path / 'm.sqlite3'}")
    else:
        engine = make_engine(database_url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS partners_migration CASCADE"))
            conn.execute(text("CREATE SCHEMA partners_migration"))
        engine.dispose()
        engine = make_engine(
            database_url, connect_args={"options": "-csearch_path=partners_migration"}
        )
    try:
        upgrade_database(engine, "0008")
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO api_keys (id, name, key_hash, key_hint, active, created_at)"
                    " VALUES (7, 'old', 'h', 'bsk_', true, :t)"
                ),
                {"t": T0},
            )
            for op_id, key in [(1, "api:7:x"), (2, "import:grant:g"), (3, "api:77:y")]:
                conn.execute(
                    text(
                        "INSERT INTO point_operations (id, idempotency_key, kind, request_hash,"
                        " result_json, occurred_at, created_at)"
                        " VALUES (:id, :key, 'grant', 'h', '{}', :t, :t)"
                    ),
                    {"id": op_id, "key": key, "t": T0},
                )
        upgrade_database(engine)
        with engine.connect() as conn:
            key = conn.execute(text("SELECT partner_id, scopes FROM api_keys")).one()
            partner = conn.execute(text("SELECT id, name FROM partners")).one()
            ops = conn.execute(
                text("SELECT id, partner_id, api_key_id FROM point_operations ORDER BY id")
            ).all()
        assert partner.name == "old" and key.partner_id == partner.id
        assert key.scopes == "read earn redeem grant revoke"
        assert [tuple(o) for o in ops] == [(1, partner.id, 7), (2, None, None), (3, None, None)]
    finally:
        if is_postgres(engine):
            with engine.begin() as conn:
                conn.execute(text("DROP SCHEMA IF EXISTS partners_migration CASCADE"))
        engine.dispose()
