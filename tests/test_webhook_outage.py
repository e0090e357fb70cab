"""The database away while LINE delivers: retried within the request, else 503 and counted."""

from __future__ import annotations

import logging

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from adapters.runtime import build_runtime
from bot.app import create_app
from common.config import Settings
from models.db import make_engine
from models.events import WebhookEvent
from models.timeutil import FixedClock
from tests.helpers import ACCESS_TOKEN, CHANNEL_SECRET, body_of, sign, text_event
from tests.tcp_proxy import FlakyProxy


def settings_for(url: str, **changes: object) -> Settings:
    return Settings(
        channel_secret=CHANNEL_SECRET,
        channel_access_token=ACCESS_TOKEN,
        database_url=url,
        line_api_base_url="http://127.0.0.1:9",  # never called here
        webhook_workers=0,
        secret_key="outage-test-secret-key",  # the web app needs one (issue 16, item 3)
        **changes,  # type: ignore[arg-type]
    )


@pytest.fixture
def proxied(engine, db):
    """The web app on the test database through a proxy that can refuse connections."""
    if engine.dialect.name != "postgresql":
        pytest.fail("needs PostgreSQL (a server to connect to)")  # deselected on SQLite
    url = engine.url
    proxy = FlakyProxy((url.host or "127.0.0.1", url.port or 5432))
    proxied_url = url.set(host="127.0.0.1", port=proxy.port)
    app_engine = make_engine(proxied_url.render_as_string(hide_password=False))
    runtime = build_runtime(settings_for(str(url)), engine=app_engine, clock=FixedClock())
    app = create_app(runtime=runtime, start_workers=False)
    yield app.test_client(), proxy
    app_engine.dispose()
    proxy.close()


def post(client, *events):
    raw = body_of(*events)
    return client.post(
        "/callback",
        data=raw,
        headers={"X-Line-Signature": sign(raw), "Content-Type": "application/json"},
    )


def recorded(dbview) -> int:
    dbview.expire_all()
    return dbview.scalar(select(func.count()).select_from(WebhookEvent))


def refused_total() -> tuple[float, float]:
    requests = REGISTRY.get_sample_value(
        "benesapo_webhook_refused_total", {"reason": "database_unavailable"}
    )
    events = REGISTRY.get_sample_value("benesapo_webhook_events_refused_total")
    return requests or 0.0, events or 0.0


@pytest.mark.postgres_only
def test_database_away_for_a_moment_is_retried_within_the_request(proxied, dbview):
    client, proxy = proxied
    proxy.refuse_next = 2  # the first two connection attempts meet a database going away
    response = post(client, text_event("使い方"), text_event("残高"))
    assert response.status_code == 200, response.get_json()
    assert proxy.refused == 2
    assert recorded(dbview) == 2


@pytest.mark.postgres_only
def test_database_away_past_the_budget_is_503_and_counted(proxied, dbview):
    client, proxy = proxied
    before = refused_total()
    proxy.refuse_next = -1
    response = post(client, text_event("使い方"), text_event("残高"))
    assert response.status_code == 503
    assert response.get_json() == {"error": "database unavailable"}
    assert proxy.refused > 1  # tried again before giving up
    after = refused_total()
    assert (after[0] - before[0], after[1] - before[1]) == (1.0, 2.0)
    proxy.refuse_next = 0
    assert post(client, text_event("使い方")).status_code == 200  # back: recorded again
    assert recorded(dbview) == 1


@pytest.mark.parametrize("redelivery", [False, True])
def test_start_up_warns_until_webhook_redelivery_is_said_to_be_on(engine, db, caplog, redelivery):
    runtime = build_runtime(
        settings_for(str(engine.url), webhook_redelivery=redelivery), engine=engine
    )
    with caplog.at_level(logging.WARNING, logger="benesapo.webhook"):
        create_app(runtime=runtime, start_workers=False)
    warned = [r for r in caplog.records if r.getMessage() == "webhook_redelivery_off"]
    assert len(warned) == (0 if redelivery else 1)
    if warned:
        assert "LINE_WEBHOOK_REDELIVERY=1" in warned[0].fields["advice"]  # type: ignore[attr-defined]
