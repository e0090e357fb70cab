"""PostgreSQL's pool: a connection left idle is checked before use, one in use is not pinged."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from models import db as models_db
from models.db import make_engine


def _backend_pid(engine) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(admin, pid: int) -> None:  # type: ignore[no-untyped-def]
    with admin.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})


@pytest.mark.postgres_only
def test_an_idle_connection_the_server_dropped_is_replaced_before_use(engine, monkeypatch):
    app_engine = make_engine(engine.url.render_as_string(hide_password=False), pool_size=1)
    try:
        first = _backend_pid(app_engine)
        _terminate(engine, first)
        monkeypatch.setattr(models_db, "PING_IDLE_SECONDS", 0.0)  # it has been idle long enough
        assert _backend_pid(app_engine) != first  # no error: pinged, found dead, reconnected
    finally:
        app_engine.dispose()


@pytest.mark.postgres_only
def test_a_connection_used_a_moment_ago_is_not_pinged(engine, monkeypatch):
    app_engine = make_engine(engine.url.render_as_string(hide_password=False), pool_size=1)
    pings = []
    original = app_engine.dialect.do_ping
    monkeypatch.setattr(app_engine.dialect, "do_ping", lambda c: pings.append(1) or original(c))
    try:
        for _ in range(3):
            _backend_pid(app_engine)
        assert pings == []
        monkeypatch.setattr(models_db, "PING_IDLE_SECONDS", 0.0)
        _backend_pid(app_engine)
        assert pings == [1]
    finally:
        app_engine.dispose()
