"""Shared fixtures: a real database (SQLite file, or PostgreSQL via BENESAPO_TEST_DB)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

import models
from bot.migrate import upgrade_database
from models import passwords
from models.db import is_postgres, make_engine, make_session_factory
from models.timeutil import FixedClock

# The understanding layer's vectors on disk (chat/understanding/semantic.py VectorStore): in a
# directory of this test session, never the user's ~/.cache (bots started as subprocesses too).
os.environ.setdefault("UNDERSTANDING_CACHE_DIR", tempfile.mkdtemp(prefix="benesapo-vectors-"))


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
    upgrade_database(engine)  # the schema comes from the migrations, as in production
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
def dbview(engine: Engine, db: Session) -> Iterator[Session]:
    """A read view in autocommit mode: always sees the latest committed state and never holds
    a lock (for end-to-end tests that look at what the running bot wrote)."""
    session = Session(engine.execution_options(isolation_level="AUTOCOMMIT"))
    try:
        yield session
    finally:
        session.close()


@pytest.fixture
def cheap_hashing() -> Iterator[None]:
    """Argon2id with the cheapest parameters, for tests that hash many passwords."""
    passwords.configure(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    passwords.configure(**passwords.DEFAULT_PARAMETERS)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def cli_runtime(engine: Engine, db: Session, clock: FixedClock):
    """What `benesapo` hands its commands (`obj`), on the test database and clock."""
    from adapters.runtime import build_runtime
    from bot.cli import LazyRuntime
    from common.config import Settings

    settings = Settings(channel_secret="s", channel_access_token="t", database_url=str(engine.url))
    return LazyRuntime.ready(build_runtime(settings, engine=engine, clock=clock))


# -- end to end: the bot on real HTTP, the LINE emulator on real HTTP ------------------------


@pytest.fixture(scope="session")
def emulator_server():
    from emulator.server import EmulatorServer
    from tests.helpers import ACCESS_TOKEN, CHANNEL_SECRET

    with EmulatorServer(CHANNEL_SECRET, ACCESS_TOKEN) as server:
        yield server


@pytest.fixture
def emulator_line_client(emulator_server):
    """A plain LINE client (default retries) talking to the emulator."""
    from adapters.line_client import LineClient
    from common.config import Settings
    from tests.helpers import ACCESS_TOKEN, CHANNEL_SECRET

    return LineClient(
        Settings(
            channel_secret=CHANNEL_SECRET,
            channel_access_token=ACCESS_TOKEN,
            line_api_base_url=emulator_server.url,
            line_data_api_base_url=emulator_server.url,
        )
    )


@pytest.fixture(scope="session")
def app_clock() -> FixedClock:
    return FixedClock()


@pytest.fixture(scope="session")
def bot_server(engine, emulator_server, app_clock):
    """The whole bot (webhook, workers, LINE client) against the emulator."""
    from adapters.line_client import LineClient, RetryPolicy
    from adapters.runtime import build_runtime
    from bot.app import create_app
    from common.config import Settings
    from tests.e2e import ServerThread
    from tests.helpers import ACCESS_TOKEN, CHANNEL_SECRET, LIFF_ID, LOGIN_CHANNEL_ID, SECRET_KEY

    settings = Settings(
        channel_secret=CHANNEL_SECRET,
        channel_access_token=ACCESS_TOKEN,
        database_url=str(engine.url),
        liff_id=LIFF_ID,
        line_login_channel_id=LOGIN_CHANNEL_ID,
        line_api_base_url=emulator_server.url,
        line_data_api_base_url=emulator_server.url,
        webhook_workers=2,
        line_timeout_seconds=3.0,
        allow_future_dates=True,
        secret_key=SECRET_KEY,
    )
    runtime = build_runtime(settings, engine=engine, clock=app_clock)
    line = LineClient(settings, retry=RetryPolicy(max_retries=3, base_delay=0.01, max_delay=0.05))
    app = create_app(runtime=runtime, line=line, start_workers=False)
    server = ServerThread(app).start()
    app.config["SERVER_URL"] = server.url
    emulator_server.state.webhook_url = server.url + "/callback"
    # The login page's LIFF app (LINE Developers console): its endpoint is this server.
    emulator_server.state.liff.add_app(
        server.url + "/link", liff_id=LIFF_ID, channel_id=LOGIN_CHANNEL_ID
    )
    yield app
    server.stop()


@pytest.fixture
def emulator(emulator_server):
    from emulator.client import EmulatorClient

    client = EmulatorClient(emulator_server.url)
    client.reset()
    return client


@pytest.fixture
def services(bot_server, db, app_clock):
    """The running bot's services, on a clean database and a reset clock.

    Its worker threads run only during the test, so they never touch other tests' data.
    """
    from bot.appstate import get_services

    app_clock.set(FixedClock().now())
    services = get_services(bot_server)
    services.start_workers(services.runtime.settings.webhook_workers)
    yield services
    services.stop_workers()


@pytest.fixture
def chat(services, emulator, session_factory):
    from tests.e2e import Chat

    user = emulator.create_user(display_name="テスト太郎")
    return Chat(emulator, session_factory, user["user_id"])


@pytest.fixture
def new_chat(services, emulator, session_factory):
    """Make more simulated users: new_chat("名前")."""
    from tests.e2e import Chat

    def make(name: str) -> Chat:
        user = emulator.create_user(display_name=name)
        return Chat(emulator, session_factory, user["user_id"])

    return make


# -- a real browser: Playwright driving Debian's chromium (no browser download) ---------------

CHROMIUM = os.environ.get("BENESAPO_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(
            f"chromium not found at {CHROMIUM}: install Debian's package "
            "(apt-get install -y chromium) or set BENESAPO_CHROMIUM"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()
