"""Shared fixtures: a real database (SQLite file, or PostgreSQL via BENESAPO_TEST_DB)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

import models
from models.db import is_postgres, make_engine, make_session_factory
from models.timeutil import FixedClock


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("BENESAPO_TEST_DB")
    if url:
        return url
    return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.sqlite3")


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    if is_postgres(engine):
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    models.Base.metadata.create_all(engine)  # TODO(session 1): switch to Alembic upgrade
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


def truncate_all(engine: Engine) -> None:
    tables = [t.name for t in models.Base.metadata.sorted_tables]
    with engine.begin() as conn:
        if is_postgres(engine):
            conn.execute(text(f"TRUNCATE TABLE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in reversed(tables):
                conn.execute(text(f"DELETE FROM {name}"))


@pytest.fixture
def db(engine: Engine, session_factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session on a clean database; everything it (or the app) committed is wiped after."""
    session = session_factory()
    try:
        yield session
    finally:
        session.close()
        truncate_all(engine)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()
