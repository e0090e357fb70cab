"""POST /callback: signatures, sizes, shapes, exactly-once recording (no LINE calls here)."""

from __future__ import annotations

import http.client
import json
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from adapters.runtime import build_runtime
from bot.app import create_app
from bot.webhook import MAX_TIMESTAMP_MS
from common.config import Settings
from models.events import WebhookEvent
from tests.e2e import ServerThread
from tests.helpers import (
    ACCESS_TOKEN,
    CHANNEL_SECRET,
    SECRET_KEY,
    body_of,
    event_id,
    sign,
    text_event,
)

METRICS_TOKEN = "test-metrics-token"


@pytest.fixture
def client(engine, db, clock):
    settings = Settings(
        channel_secret=CHANNEL_SECRET,
        channel_access_token=ACCESS_TOKEN,
        line_api_base_url="http://127.0.0.1:9",
        secret_key=SECRET_KEY,
        metrics_token=METRICS_TOKEN,
    )
    app = create_app(
        runtime=build_runtime(settings, engine=engine, clock=clock), start_workers=False
    )
    return app.test_client()


def count_events(db) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(WebhookEvent))


def post(client, body: bytes, signature: str | None = "auto", header: str = "X-Line-Signature"):
    headers = {"Content-Type": "application/json"}
    if signature == "auto":
        signature = sign(body)
    if signature is not None:
        headers[header] = signature
    return client.post("/callback", data=body, headers=headers)


def test_valid_signed_event_is_recorded_and_acknowledged(client, db):
    response = post(client, body_of(text_event("こんにちは")))
    assert response.status_code == 200
    assert count_events(db) == 1


def test_signature_header_name_is_case_insensitive(client, db):
    response = post(client, body_of(text_event("x")), header="x-line-signature")
    assert response.status_code == 200
    assert count_events(db) == 1


@pytest.mark.parametrize("signature", [None, "", "bm90IGEgc2lnbmF0dXJl", sign(b"other body")])
def test_missing_or_wrong_signature_is_400_and_records_nothing(client, db, signature):
    response = post(client, body_of(text_event("x")), signature=signature)
    assert response.status_code == 400
    assert count_events(db) == 0


def test_signature_by_another_secret_is_rejected(client, db):
    body = body_of(text_event("x"))
    assert post(client, body, signature=sign(body, "someone-else")).status_code == 400
    assert count_events(db) == 0


def test_body_over_one_megabyte_is_413(client, db):
    body = body_of(text_event("あ" * 400_000))
    assert len(body) > 1024 * 1024
    assert post(client, body).status_code == 413
    assert count_events(db) == 0


def body_of_size(size: int) -> bytes:
    event = text_event("")
    event["message"]["text"] = "a" * (size - len(body_of(event)))
    body = body_of(event)
    assert len(body) == size
    return body


@pytest.mark.parametrize("extra, status", [(0, 200), (1, 413)])
def test_one_megabyte_is_the_limit(client, db, extra, status):
    assert post(client, body_of_size(1024 * 1024 + extra)).status_code == status
    assert count_events(db) == (1 if status == 200 else 0)


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"\xff\xfe",
        b"[]",
        b'{"destination": "x"}',
        b'{"events": {}}',
        b'{"events": [1]}',
        b'{"events": [{"type": "message", "timestamp": 1}]}',
        b'{"events": [{"webhookEventId": "E", "timestamp": 1}]}',
        b'{"events": [{"type": "message", "webhookEventId": "E", "timestamp": "soon"}]}',
    ],
)
def test_not_the_webhook_shape_is_400(client, db, body):
    assert post(client, body).status_code == 400
    assert count_events(db) == 0


def changed(**fields) -> bytes:
    """A body of one text event with these fields replaced."""
    event = text_event("こんにちは")
    event.update(fields)
    return body_of(event)


def changed_source(**fields) -> bytes:
    return changed(source={"type": "user", "userId": "U" + "a" * 32, **fields})


MALFORMED = {
    # JSON a database would refuse, or Python cannot read
    "NaN": b'{"events": [], "x": NaN}',
    "-Infinity": b'{"events": [], "x": -Infinity}',
    "1e400": b'{"events": [], "x": 1e400}',
    "5000-digit integer": b'{"events": [], "x": ' + b"1" * 5000 + b"}",
    "nested 100,000 deep": b"[" * 100_000 + b"]" * 100_000,
    # timestamps no datetime holds
    "timestamp 10**20": changed(timestamp=10**20),
    "timestamp after 9999": changed(timestamp=MAX_TIMESTAMP_MS + 1),
    "timestamp negative": changed(timestamp=-1),
    "timestamp boolean": changed(timestamp=True),
    "timestamp float": changed(timestamp=1.5e12),
    # fields of the wrong type
    "deliveryContext string": changed(deliveryContext="x"),
    "deliveryContext list": changed(deliveryContext=["x"]),
    "isRedelivery string": changed(deliveryContext={"isRedelivery": "yes"}),
    "mode number": changed(mode=1),
    "mode list": changed(mode=["active"]),
    "source string": changed(source="U" + "a" * 32),
    "source type number": changed(source={"type": 1}),
    "userId number": changed_source(userId=123),
    "userId object": changed_source(userId={"id": "U"}),
    "groupId list": changed(source={"type": "group", "groupId": ["C"]}),
    "roomId number": changed(source={"type": "room", "roomId": 1}),
    "replyToken number": changed(replyToken=5),
    "message string": changed(message="こんにちは"),
    "postback list": changed(postback=["data"]),
    "type list": changed(type=["message"]),
    "webhookEventId number": changed(webhookEventId=12),
    # too long for their columns
    "userId 65 long": changed_source(userId="U" * 65),
    "groupId 65 long": changed(source={"type": "group", "groupId": "C" * 65}),
    "replyToken 101 long": changed(replyToken="r" * 101),
    # text a database cannot store
    "NUL in webhookEventId": changed(webhookEventId="01NUL\x00"),
    "lone surrogate in userId": changed_source(userId="U\ud800"),
    "lone surrogate in text": changed(message={"id": "1", "type": "text", "text": "\udc00だけ"}),
    "NUL in text": changed(message={"id": "1", "type": "text", "text": "a\x00b"}),
}


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_event_is_400_and_records_nothing(client, db, body):
    response = post(client, body)
    assert response.status_code == 400
    assert response.is_json
    assert count_events(db) == 0


def test_every_event_line_sends_is_accepted(client, db):
    """The SDK's sample of every common event type (with unique ids) is recorded in full."""
    body = json.loads((Path(__file__).parent / "data" / "sdk-webhook-events.json").read_text())
    for event in body["events"]:
        event["webhookEventId"] = event_id()
    assert post(client, json.dumps(body).encode()).status_code == 200
    assert count_events(db) == len(body["events"])


UNUSUAL = {
    "timestamp 0": changed(timestamp=0),
    "timestamp last of 9999": changed(timestamp=MAX_TIMESTAMP_MS),
    "fields LINE may add": changed(mode="later", newField={"nested": [1, 2.5, None]}),
    "emoji, backslash-u0000 typed": changed(
        message={"id": "1", "type": "text", "text": "絵文字😀と\\u0000という文字"}
    ),
    "no mode, no source": body_of(
        {k: v for k, v in text_event("x").items() if k not in {"mode", "source"}}
    ),
    "empty deliveryContext": changed(deliveryContext={}),
    "roomId 64 long": changed(source={"type": "room", "roomId": "R" * 64}),
}


@pytest.mark.parametrize("body", UNUSUAL.values(), ids=UNUSUAL.keys())
def test_unusual_but_valid_event_is_recorded(client, db, body):
    assert post(client, body).status_code == 200
    assert count_events(db) == 1


def test_timestamp_is_recorded_to_the_millisecond(client, db):
    assert post(client, changed(timestamp=MAX_TIMESTAMP_MS)).status_code == 200
    db.expire_all()
    occurred = db.scalar(select(WebhookEvent.occurred_at))
    assert occurred.replace(tzinfo=None) == datetime(9999, 12, 31, 23, 59, 59, 999_000)


def test_verify_button_empty_events_is_200(client, db):
    assert post(client, b'{"destination": "U0", "events": []}').status_code == 200
    assert count_events(db) == 0


def test_redelivered_event_is_acknowledged_and_recorded_once(client, db):
    event = text_event("ポイント")
    assert post(client, body_of(event)).status_code == 200
    redelivered = {**event, "deliveryContext": {"isRedelivery": True}}
    assert post(client, body_of(redelivered)).status_code == 200
    assert post(client, body_of(event, event)).status_code == 200
    assert count_events(db) == 1


def test_batch_records_each_event(client, db):
    events = [text_event(str(i)) for i in range(5)]
    assert post(client, body_of(*events)).status_code == 200
    assert count_events(db) == 5
    recorded = db.scalars(select(WebhookEvent.status)).all()
    assert set(recorded) == {"pending"}


def test_healthz_reports_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["database"] == "up"


def test_healthz_is_503_when_database_is_down(clock):
    settings = Settings(
        channel_secret="s",
        channel_access_token="t",
        database_url="postgresql+psycopg://nobody@127.0.0.1:1/none",
        secret_key=SECRET_KEY,
    )
    app = create_app(runtime=build_runtime(settings, clock=clock), start_workers=False)
    assert app.test_client().get("/healthz").status_code == 503


def test_metrics_are_prometheus_text(client):
    post(client, body_of(text_event("x")))
    auth = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    body = client.get("/metrics", headers=auth).get_data(as_text=True)
    assert "benesapo_webhook_events_received_total" in body
    assert "benesapo_webhook_backlog 1.0" in body


def test_the_app_serves_every_surface(client):
    """The factory wires the partner API, the login page and the console, not only /callback."""
    assert client.get("/api/v1/openapi.json").status_code == 200
    assert client.get("/api/v1/members/NOPE/balance").status_code == 401
    assert client.get("/link").status_code == 503  # wired; no LIFF app is configured here
    assert client.get("/admin/login").status_code == 200


def chunks(body: bytes, size: int = 64 * 1024):
    for start in range(0, len(body), size):
        yield body[start : start + size]


@pytest.mark.parametrize("extra, status", [(0, 200), (1, 413), (300, 413)])
def test_chunked_body_is_limited_to_one_megabyte(engine, db, clock, extra, status):
    """Without Content-Length the server cuts the body at the limit: it must not be checked
    (and refused as badly signed) as if that were all of it."""
    settings = Settings(
        channel_secret=CHANNEL_SECRET, channel_access_token=ACCESS_TOKEN, secret_key=SECRET_KEY
    )
    app = create_app(
        runtime=build_runtime(settings, engine=engine, clock=clock), start_workers=False
    )
    server = ServerThread(app).start()
    try:
        body = body_of_size(1024 * 1024 + extra)
        connection = http.client.HTTPConnection("127.0.0.1", server.server.server_port)
        connection.request(
            "POST",
            "/callback",
            body=chunks(body),
            headers={"Content-Type": "application/json", "X-Line-Signature": sign(body)},
            encode_chunked=True,
        )
        response = connection.getresponse()
        assert response.status == status
        if status == 413:
            assert json.loads(response.read()) == {"error": "request body too large"}
        connection.close()
    finally:
        server.stop()
    assert count_events(db) == (1 if status == 200 else 0)
