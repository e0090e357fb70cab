"""Bad numbers and strings (issue 16.7) against the real app: each answers a 4xx with a JSON
(or page) error saying what is wrong, and nothing is written."""

from __future__ import annotations

import itertools
import json
import re

import pytest
from sqlalchemy import func, select
from test_points_support import T0, make_member

from adapters.runtime import build_runtime
from bot.admin import texts as admin_texts
from bot.app import create_app
from common.config import Settings
from models.apikey import create_api_key
from models.operators import create_operator
from models.points.tables import PointOperation
from models.timeutil import FixedClock
from tests.helpers import ACCESS_TOKEN, CHANNEL_SECRET, SECRET_KEY

_n = itertools.count()
DEEP = "[" * 100_000 + "]" * 100_000
HUGE = 10**4000


def _raw(obj: dict) -> str:
    """JSON text; "\\ud800" stays a lone surrogate escape (json.dumps would too)."""
    return json.dumps(obj)


@pytest.fixture
def app(db, engine):
    settings = Settings(
        channel_secret=CHANNEL_SECRET,
        channel_access_token=ACCESS_TOKEN,
        database_url=str(engine.url),
        public_base_url="https://bot.example.jp",
        secret_key=SECRET_KEY,
    )
    return create_app(
        runtime=build_runtime(settings, engine=engine, clock=FixedClock(T0)), start_workers=False
    )


@pytest.fixture
def partner(app, db):
    make_member(db, "M1001")
    _, key = create_api_key(db, "partner-a", T0)
    db.commit()
    client = app.test_client()
    auth = {"Authorization": f"Bearer {key}"}

    def call(method: str, path: str, body: str | None = None):
        headers = {**auth, "Idempotency-Key": f"k-{next(_n)}", "Content-Type": "application/json"}
        return client.open("/api/v1" + path, method=method.upper(), data=body, headers=headers)

    grant = {"points": 1000, "source_ref": "g1", "reason": "x"}
    assert call("post", "/members/M1001/grants", _raw(grant)).status_code == 201
    assert (
        call("post", "/members/M1001/earnings", _raw({"points": 5, "source_ref": "e1"})).status_code
        == 201
    )
    redeem = {"purchase_ref": "p1", "price": 100, "points": 100}
    assert call("post", "/members/M1001/redemptions", _raw(redeem)).status_code == 201
    return call


def _earn(**body):
    return ("post", "/members/M1001/earnings", _raw({"points": 1, "source_ref": "n1", **body}))


def _grant(**body):
    return (
        "post",
        "/members/M1001/grants",
        _raw({"points": 1, "source_ref": "n2", "reason": "r", **body}),
    )


def _redeem(**body):
    return (
        "post",
        "/members/M1001/redemptions",
        _raw({"purchase_ref": "n3", "price": 10, "points": 1, **body}),
    )


API_CASES = {
    "points 2^63": (*_earn(points=2**63), 422, "points"),
    "points 2^64": (*_grant(points=2**64), 422, "points"),
    "points 10^4000": (*_earn(points=HUGE), 422, "points"),
    "points over the ceiling": (*_grant(points=10_000_001), 422, "at most 10,000,000"),
    "amend to 2^63": ("post", "/earnings/e1/amend", _raw({"points": 2**63}), 422, "points"),
    "exchange 2^64": (
        "post",
        "/members/M1001/exchanges",
        _raw({"reward_ref": "r", "points": 2**64}),
        422,
        "points",
    ),
    "price 2^63": (*_redeem(price=2**63), 422, "price"),
    "price 10^4000": (*_redeem(price=HUGE), 422, "price"),
    "reprice 2^64": ("post", "/redemptions/p1/reprice", _raw({"price": 2**64}), 422, "price"),
    "NUL in source_ref": (*_earn(source_ref="a\x00b"), 422, "source_ref contains"),
    "lone surrogate in source_ref": (*_grant(source_ref="a\ud800"), 422, "source_ref contains"),
    "NUL in reason": (*_grant(reason="a\x00b"), 422, "reason contains"),
    "lone surrogate in reason": (
        "post",
        "/grants/g1/revoke",
        _raw({"reason": "\udfff"}),
        422,
        "reason contains",
    ),
    "reason over 500": (*_grant(reason="あ" * 501), 422, "at most 500"),
    "NUL in purchase_ref": (*_redeem(purchase_ref="\x00"), 422, "purchase_ref"),
    "occurred_at before year 1 in UTC": (
        *_earn(occurred_at="0001-01-01T00:00:00+14:00"),
        422,
        "occurred_at",
    ),
    "occurred_at after year 9999 in UTC": (
        *_earn(occurred_at="9999-12-31T23:59:59-14:00"),
        422,
        "occurred_at",
    ),
    "occurred_at out of the ledger's range": (
        *_grant(occurred_at="1900-01-01T00:00:00Z"),
        422,
        "between",
    ),
    "occurred_at not a string": (*_earn(occurred_at=2**64), 422, "occurred_at"),
    "as_of before year 1": (
        "get",
        "/members/M1001/balance?as_of=0001-01-01T00:00:00%2B14:00",
        None,
        422,
        "as_of",
    ),
    "as_of after year 9999": (
        "get",
        "/members/M1001/balance?as_of=9999-12-31T23:59:59-14:00",
        None,
        422,
        "as_of",
    ),
    "history before=10^20": (
        "get",
        f"/members/M1001/history?before={10**20}",
        None,
        422,
        "before",
    ),
    "history before=-10^20": (
        "get",
        f"/members/M1001/history?before=-{10**20}",
        None,
        422,
        "before",
    ),
    "history limit=10^20": ("get", f"/members/M1001/history?limit={10**20}", None, 422, "limit"),
    "JSON nested 100,000 deep": ("post", "/members/M1001/earnings", DEEP, 400, "nested"),
    "JSON object nested deep": (
        "post",
        "/members/M1001/grants",
        '{"points": ' + DEEP + "}",
        400,
        "nested",
    ),
    "integer of too many digits": (
        "post",
        "/members/M1001/earnings",
        '{"points": 1' + "0" * 5000 + "}",
        400,
        "JSON",
    ),
    "member id %00 (read)": ("get", "/members/%00/balance", None, 422, "member_id"),
    "member id %00 (write)": (*_earn()[:1], "/members/%00/earnings", _earn()[2], 422, "member_id"),
    "member id too long": ("get", "/members/" + "M" * 1000 + "/history", None, 422, "member_id"),
    "reference %00 in the path": ("post", "/earnings/%00/cancel", "{}", 422, "source_ref"),
    "surrogate in the path": ("post", "/grants/%ED%A0%80/revoke", '{"reason": "x"}', 404, ""),
}


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "says"), API_CASES.values(), ids=API_CASES.keys()
)
def test_bad_api_input_is_a_4xx_json_error_and_writes_nothing(
    partner, db, method, path, body, status, says
):
    before = db.scalar(select(func.count()).select_from(PointOperation))
    db.rollback()
    r = partner(method, path, body)
    assert r.status_code == status, r.get_data(as_text=True)[:300]
    assert r.is_json and r.json["error"] and says in r.json["message"], r.json
    assert db.scalar(select(func.count()).select_from(PointOperation)) == before
    db.rollback()


def test_the_ceiling_itself_is_accepted(partner):
    body = _raw({"points": 10_000_000, "source_ref": "max", "reason": "上限"})
    r = partner("post", "/members/M1001/grants", body)
    assert r.status_code == 201 and r.json["points"] == 10_000_000


# -- the console (bot/admin) -------------------------------------------------------------------


@pytest.fixture
def console(app, db, cheap_hashing):
    create_operator(db, FixedClock(T0), "ops@example.jp", "correct-horse-battery")
    db.commit()
    return app.test_client()


def _csrf(client, path: str = "/admin/login") -> str:
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, page
    return match.group(1)


def test_console_login_with_an_e_mail_over_91_characters_is_a_401_page(console):
    email = "a" * 120 + "@example.jp"
    data = {"email": email, "password": "x", "csrf_token": _csrf(console)}
    r = console.post("/admin/login", data=data)
    assert r.status_code == 401
    assert admin_texts.LOGIN_FAILED in r.get_data(as_text=True)


@pytest.mark.parametrize("target", ["/admin/inquiries\r\nSet-Cookie: x=1", "/admin\n", "/ad\rmin"])
def test_console_next_with_cr_lf_is_a_400_page(console, target):
    r = console.get("/admin/login", query_string={"next": target})
    assert r.status_code == 400 and admin_texts.BAD_NEXT in r.get_data(as_text=True)
    data = {
        "email": "ops@example.jp",
        "password": "correct-horse-battery",
        "csrf_token": _csrf(console),
        "next": target,
    }
    r = console.post("/admin/login", data=data)
    assert r.status_code == 400 and admin_texts.BAD_NEXT in r.get_data(as_text=True)
    assert "Set-Cookie: x" not in str(r.headers)
