"""Logs never hold message text, passwords or tokens: database errors, unhandled errors on
/callback, the request logs of gunicorn (Procfile) and of `make run`'s server."""

from __future__ import annotations

import io
import json
import logging
import shlex
import threading
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from adapters.runtime import build_runtime
from bot.app import create_app
from common.config import Settings
from common.logging_setup import JsonFormatter
from models.db import make_engine, single_statement
from models.events import record_events
from tests.helpers import ACCESS_TOKEN, CHANNEL_SECRET, SECRET_KEY, body_of, sign, text_event

SECRET_TEXT = "秘密の相談内容です"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """What our JSON handler writes, as the process's log would hold it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("benesapo")
    logger.addHandler(handler)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)


@pytest.fixture
def no_tables_url(tmp_path) -> str:
    """A database that answers but has no schema: every write fails."""
    return f"sqlite:///{tmp_path / 'empty.sqlite3'}"


def test_a_database_error_does_not_quote_bound_parameters(no_tables_url, clock):
    event = text_event(SECRET_TEXT)
    engine = make_engine(no_tables_url)
    try:
        with pytest.raises(OperationalError) as raised, single_statement(engine) as conn:
            record_events(conn, [event], clock.now())
    finally:
        engine.dispose()
    message = str(raised.value)
    assert "INSERT INTO webhook_events" in message  # the statement, not what it carried
    for secret in (SECRET_TEXT, json.dumps(SECRET_TEXT)[1:-1], event["webhookEventId"]):
        assert secret not in message
    assert "parameters hidden" in message


@pytest.mark.parametrize(
    "database_url",
    ["no tables", "postgresql+psycopg://nobody@127.0.0.1:1/none"],
    ids=["no tables", "unreachable"],
)
def test_callback_on_a_failing_database_is_503_and_one_json_line(
    database_url, no_tables_url, clock, log_lines, caplog
):
    settings = Settings(
        channel_secret=CHANNEL_SECRET,
        channel_access_token=ACCESS_TOKEN,
        database_url=no_tables_url if database_url == "no tables" else database_url,
        secret_key=SECRET_KEY,
        webhook_redelivery=True,  # no start-up warning: the error is the only line
    )
    runtime = build_runtime(settings, clock=clock)
    try:
        client = create_app(runtime=runtime, start_workers=False).test_client()
        event = text_event(SECRET_TEXT)
        body = body_of(event)
        response = client.post(
            "/callback?token=query-secret",
            data=body,
            headers={"X-Line-Signature": sign(body), "Content-Type": "application/json"},
        )
    finally:
        runtime.engine.dispose()
    assert response.status_code == 503
    assert response.get_json() == {"error": "database unavailable"}
    lines = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    assert len(lines) == 1
    (line,) = lines
    assert line["event"] == "unhandled_error"
    assert line["level"] == "error"
    assert line["path"] == "/callback"
    assert line["error"] == "OperationalError"
    assert any("webhook.py" in frame for frame in line["where"])
    logged = log_lines.getvalue()
    for secret in (SECRET_TEXT, event["webhookEventId"], event["replyToken"], "query-secret"):
        assert secret not in logged
    assert not [r for r in caplog.records if not r.name.startswith("benesapo")]  # no Flask line


def test_an_unexpected_error_is_500_json_on_callback_and_html_elsewhere(
    engine, db, clock, log_lines, monkeypatch
):
    import bot.webhook_record

    def broken(*args, **kwargs):
        raise RuntimeError(f"a bug that mentions {SECRET_TEXT}")

    monkeypatch.setattr(bot.webhook_record, "record_events", broken)
    settings = Settings(
        channel_secret=CHANNEL_SECRET,
        channel_access_token=ACCESS_TOKEN,
        webhook_redelivery=True,
        secret_key=SECRET_KEY,
    )
    app = create_app(
        runtime=build_runtime(settings, engine=engine, clock=clock), start_workers=False
    )
    app.add_url_rule("/boom", "boom", lambda: broken())
    client = app.test_client()
    body = body_of(text_event(SECRET_TEXT))
    headers = {"X-Line-Signature": sign(body), "Content-Type": "application/json"}
    response = client.post("/callback", data=body, headers=headers)
    assert response.status_code == 500
    assert response.get_json() == {"error": "internal error"}
    page = client.get("/boom")
    assert page.status_code == 500
    assert page.mimetype == "text/html"
    lines = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    assert [(line["path"], line["error"]) for line in lines] == [
        ("/callback", "RuntimeError"),
        ("/boom", "RuntimeError"),
    ]
    assert SECRET_TEXT not in log_lines.getvalue()
    assert client.get("/callback").status_code == 405  # HTTP errors keep their status


# -- request logs -----------------------------------------------------------------------------


def procfile_web_arguments() -> list[str]:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith("web:"):
            return shlex.split(line.removeprefix("web:"))
    raise AssertionError("Procfile has no web process")


def gunicorn_access_line(arguments: list[str], tmp_path: Path) -> str:
    """The access-log line gunicorn writes, with the Procfile's options, for a request to the
    login page with a token in its query string (and the page as referrer)."""
    from gunicorn.config import Config
    from gunicorn.glogging import Logger

    config = Config()
    options = iter(arguments[1:])  # after "gunicorn"
    for option in options:
        if option == "--access-logformat":
            config.set("access_log_format", next(options))
    config.set("accesslog", str(tmp_path / "access.log"))
    secret_url = "/link?linkToken=query-secret"

    class Response:
        status = "200 OK"
        sent = 120
        headers: list[tuple[str, str]] = []

    environ = {
        "REQUEST_METHOD": "POST",
        "RAW_URI": secret_url,
        "PATH_INFO": "/link",
        "QUERY_STRING": "linkToken=query-secret",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "203.0.113.9",
        "HTTP_REFERER": "https://bot.example.com" + secret_url,
        "HTTP_USER_AGENT": "Mozilla/5.0",
    }
    logger = Logger(config)
    logger.access(Response(), [], environ, timedelta(milliseconds=12))
    for handler in logger.access_log.handlers:
        handler.close()
    return (tmp_path / "access.log").read_text()


def test_procfile_access_log_has_no_query_string(tmp_path):
    arguments = procfile_web_arguments()
    assert "--access-logfile" in arguments
    assert "--access-logformat" in arguments
    line = gunicorn_access_line(arguments, tmp_path)
    assert "POST /link HTTP/1.1" in line
    assert " 200 " in line
    assert "query-secret" not in line
    assert "linkToken" not in line


def test_gunicorns_default_access_log_would_hold_the_token(tmp_path):
    """What the format is for: gunicorn's default writes the query and the referrer."""
    line = gunicorn_access_line(["gunicorn"], tmp_path)  # no options: gunicorn's defaults
    assert "query-secret" in line


def test_dev_server_request_log_has_no_query_string(caplog):
    from flask import Flask

    from bot.devserver import make_dev_server

    app = Flask(__name__)
    app.add_url_rule("/link", "link", lambda: "ok")
    server = make_dev_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with caplog.at_level(logging.INFO, logger="werkzeug"):
            url = f"http://127.0.0.1:{server.server_port}/link?linkToken=query-secret"
            with urllib.request.urlopen(url) as response:
                assert response.status == 200
            server.shutdown()
            thread.join()
    finally:
        server.server_close()
    requests = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    assert any('"GET /link HTTP/1.1" 200' in message for message in requests), requests
    assert not any("query-secret" in message for message in requests)
