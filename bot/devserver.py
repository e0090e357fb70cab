"""`make run`: database, demo data, the LINE emulator, the bot and the scheduler in one process."""

from __future__ import annotations

import os
import signal
import threading
from typing import Any

import click
from apscheduler.schedulers.background import BackgroundScheduler
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from adapters.runtime import build_runtime
from bot.app import create_app
from bot.appstate import get_services
from bot.migrate import upgrade_database
from bot.scheduler import LeasedRunner, install_jobs, standard_jobs
from bot.session_cookie import dev_secret_key
from common.config import load_settings
from emulator.server import EmulatorServer
from models.demo import seed_demo
from models.timeutil import JST

DEV_SECRET = "dev-channel-secret"
DEV_TOKEN = "dev-channel-access-token"
# The login page's LIFF app on the emulator, and its LINE Login channel.
DEV_LOGIN_CHANNEL_ID = "2000000001"
DEV_LIFF_ID = DEV_LOGIN_CHANNEL_ID + "-DevLogin"


def _seed_demo(runtime) -> dict[str, str]:  # type: ignore[no-untyped-def]
    with runtime.session_factory() as session, session.begin():
        return seed_demo(session, runtime.clock)


DEMO_OPERATOR = "admin@example.com"
DEMO_OPERATOR_PASSWORD = "demo-admin-password"


def _demo_operator(runtime) -> None:  # type: ignore[no-untyped-def]
    """A back-office login for the console at /admin (idempotent)."""
    from models.operators import ROLE_ADMIN, create_operator, find_operator

    with runtime.session_factory() as session, session.begin():
        if find_operator(session, DEMO_OPERATOR) is None:
            create_operator(
                session,
                runtime.clock,
                DEMO_OPERATOR,
                DEMO_OPERATOR_PASSWORD,
                role=ROLE_ADMIN,
                actor="make run",
            )


def _deploy_rich_menus(runtime, line) -> None:  # type: ignore[no-untyped-def]
    """Put the rich menus on the emulator (idempotent), so the chat page shows them."""
    from richmenu.deploy import deploy

    try:
        deploy(runtime, line)
    except Exception as exc:  # noqa: BLE001 - the bot works without menus; say why
        click.echo(f"rich menus not deployed: {exc}", err=True)


class PathOnlyRequestHandler(WSGIRequestHandler):
    """Werkzeug's request log without query strings (the login page's carries a token)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        full = getattr(self, "path", None)
        if full is None:  # a bad request line: Werkzeug logs the line as it came
            super().log_request(code, size)
            return
        self.path = full.split("?", 1)[0]
        try:
            super().log_request(code, size)
        finally:
            self.path = full


def make_dev_server(host: str, port: int, app: Any) -> BaseWSGIServer:
    """The bot's HTTP server under `make run` (threaded, query strings kept out of its log)."""
    return make_server(host, port, app, threaded=True, request_handler=PathOnlyRequestHandler)


def run_dev(host: str = "127.0.0.1", port: int = 8000, emulator_port: int = 8001) -> None:
    os.environ.setdefault("MAIL_BACKEND", "console")  # back-office mail printed, not sent
    os.environ.setdefault("LINE_CHANNEL_SECRET", DEV_SECRET)
    os.environ.setdefault("LINE_CHANNEL_ACCESS_TOKEN", DEV_TOKEN)
    if not os.environ.get("SECRET_KEY"):  # generated once, kept in instance/ across runs
        os.environ["SECRET_KEY"] = dev_secret_key()
    base = load_settings(require_secrets=False)
    emulator_url = f"http://{host}:{emulator_port}"
    settings = base.with_overrides(
        port=port,
        line_api_base_url=emulator_url,
        line_data_api_base_url=emulator_url,
        public_base_url=f"http://{host}:{port}",
        liff_id=DEV_LIFF_ID,
        line_login_channel_id=DEV_LOGIN_CHANNEL_ID,
        webhook_redelivery=True,  # the emulator's is turned on below, as production's must be
    )
    runtime = build_runtime(settings)
    click.echo(f"database: {settings.database_url}")
    upgrade_database(runtime.engine)
    demo = _seed_demo(runtime)
    _demo_operator(runtime)

    emulator = EmulatorServer(
        settings.channel_secret,
        settings.channel_access_token,
        webhook_url=f"http://{host}:{port}/callback",
        host=host,
        port=emulator_port,
    ).start()
    emulator.state.liff.add_app(
        f"{settings.public_base_url}/link", liff_id=DEV_LIFF_ID, channel_id=DEV_LOGIN_CHANNEL_ID
    )
    emulator.state.redeliveries.configure(enabled=True)
    app = create_app(runtime=runtime)
    _deploy_rich_menus(runtime, get_services(app).line)
    server = make_dev_server(host, port, app)
    server_thread = threading.Thread(target=server.serve_forever, name="bot-http", daemon=True)
    server_thread.start()
    scheduler = BackgroundScheduler(timezone=JST)
    install_jobs(
        scheduler, LeasedRunner(runtime), standard_jobs(runtime, get_services(app).deliverer)
    )
    scheduler.start()

    click.echo("")
    click.echo(f"  bot webhook:        http://{host}:{port}/callback")
    click.echo(f"  LINE emulator chat: {emulator.url}/   <- open this in your browser")
    click.echo(f"  terminal chat:      .venv/bin/benesapo chat --emulator {emulator.url}")
    click.echo(f"  demo company code:  {demo['company_code']}")
    click.echo(f"  demo member:        {demo['member_id']} / {demo['password']}")
    click.echo(f"  demo HR contact:    {demo['hr_member_id']} / {demo['hr_password']}")
    click.echo(
        f"  back-office console: http://{host}:{port}/admin/  "
        f"({DEMO_OPERATOR} / {DEMO_OPERATOR_PASSWORD})"
    )
    click.echo("  Ctrl-C stops everything.")
    click.echo("")

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        while not stop.is_set():
            stop.wait(0.5)
    finally:
        click.echo("stopping…")
        scheduler.shutdown(wait=False)
        server.shutdown()
        get_services(app).stop_workers()
        emulator.stop()
        runtime.engine.dispose()
        click.echo("stopped.")
