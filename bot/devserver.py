"""`make run`: database, demo data, the LINE emulator, the bot and the scheduler in one process."""

from __future__ import annotations

import os
import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import click
from apscheduler.schedulers.background import BackgroundScheduler
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from adapters.runtime import build_runtime
from bot.app import create_app
from bot.appstate import get_services
from bot.dev_banner import demo_lines
from bot.migrate import upgrade_database
from bot.scheduler import LeasedRunner, install_jobs, standard_jobs
from bot.session_cookie import dev_secret_key
from common.config import load_settings
from common.logging_setup import configure_dev_logging
from emulator.server import EmulatorServer
from models.demo import link_ready_user, seed_demo
from models.timeutil import JST

DEV_SECRET = "dev-channel-secret"
DEV_TOKEN = "dev-channel-access-token"
# The login page's LIFF app on the emulator, and its LINE Login channel.
DEV_LOGIN_CHANNEL_ID = "2000000001"
DEV_LIFF_ID = DEV_LOGIN_CHANNEL_ID + "-DevLogin"


# The chat page's users (kept by the emulator in instance/): the one it opens with, and an HR
# contact linked to the demo's at start-up, ready to use.
DEMO_USER = "デモユーザー"
READY_HR_USER = "人事担当（デモ）"


def _seed_demo(runtime, emulator: EmulatorServer) -> tuple[dict[str, Any], str | None]:  # type: ignore[no-untyped-def]
    """The demo data reconciled with the emulator's users (see `models.demo`); the name of the
    ready HR contact, when it is linked."""
    state = emulator.state
    state.add_user(display_name=DEMO_USER)
    ready = state.add_user(display_name=READY_HR_USER)
    known = {user.user_id for user in state.list_users()}
    with runtime.session_factory() as session, session.begin():
        demo = seed_demo(session, runtime.clock, known_line_users=known)
    with runtime.session_factory() as session, session.begin():
        linked = link_ready_user(session, runtime.clock, ready.user_id, demo["hr_member_id"])
    if linked:  # the banner says so: read the logins again
        with runtime.session_factory() as session, session.begin():
            demo = seed_demo(session, runtime.clock, known_line_users=known)
    return demo, READY_HR_USER if linked else None


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


@dataclass
class DevStack:
    """Everything `make run` started; `stop()` ends it all, in order."""

    banner: list[str]
    emulator: EmulatorServer
    bot_url: str
    log_path: Path
    _stops: list[Any] = field(default_factory=list)

    def stop(self) -> None:
        for stop in reversed(self._stops):
            stop()
        self._stops.clear()


def start_dev(
    host: str = "127.0.0.1",
    port: int = 8000,
    emulator_port: int = 8001,
    *,
    instance: Path = Path("instance"),
    terminal: TextIO | None = None,
) -> DevStack:
    """Start the emulator, the bot and the scheduler on the demo data; logs go to
    `instance/benesapo.log` (warnings and errors to `terminal` too)."""
    os.environ.setdefault("MAIL_BACKEND", "console")  # back-office mail printed, not sent
    os.environ.setdefault("LINE_CHANNEL_SECRET", DEV_SECRET)
    os.environ.setdefault("LINE_CHANNEL_ACCESS_TOKEN", DEV_TOKEN)
    if not os.environ.get("SECRET_KEY"):  # generated once, kept in instance/ across runs
        os.environ["SECRET_KEY"] = dev_secret_key(instance / "secret_key")
    log_path = instance / "benesapo.log"
    stops: list[Any] = [configure_dev_logging(log_path, terminal)]
    try:
        return _start(host, port, emulator_port, instance, log_path, stops)
    except BaseException:
        for stop in reversed(stops):
            stop()
        raise


def _start(  # type: ignore[no-untyped-def]
    host: str, port: int, emulator_port: int, instance: Path, log_path: Path, stops: list[Any]
) -> DevStack:
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
    stops.append(runtime.engine.dispose)
    upgrade_database(runtime.engine)
    emulator = EmulatorServer(
        settings.channel_secret,
        settings.channel_access_token,
        webhook_url=f"http://{host}:{port}/callback",
        host=host,
        port=emulator_port,
        users_file=instance / "emulator_users.json",  # the users survive a restart
    ).start()
    stops.append(emulator.stop)
    emulator.state.liff.add_app(
        f"{settings.public_base_url}/link", liff_id=DEV_LIFF_ID, channel_id=DEV_LOGIN_CHANNEL_ID
    )
    emulator.state.redeliveries.configure(enabled=True)
    demo, ready_hr = _seed_demo(runtime, emulator)
    _demo_operator(runtime)
    app = create_app(runtime=runtime)
    stops.append(get_services(app).stop_workers)
    _deploy_rich_menus(runtime, get_services(app).line)
    server = make_dev_server(host, port, app)
    server_thread = threading.Thread(target=server.serve_forever, name="bot-http", daemon=True)
    server_thread.start()
    stops.append(server.server_close)
    stops.append(server.shutdown)
    scheduler = BackgroundScheduler(timezone=JST)
    install_jobs(
        scheduler, LeasedRunner(runtime), standard_jobs(runtime, get_services(app).deliverer)
    )
    scheduler.start()
    stops.append(lambda: scheduler.shutdown(wait=False))

    names = {user.user_id: user.display_name for user in emulator.state.list_users()}
    banner = [
        "",
        f"  database:            {settings.database_url}",
        f"  bot webhook:         http://{host}:{port}/callback",
        f"  LINE emulator chat:  {emulator.url}/   <- open this in your browser",
        f"  terminal chat:       .venv/bin/benesapo chat --emulator {emulator.url}",
        *demo_lines(demo, names, ready_hr),
        f"  back-office console: http://{host}:{port}/admin/  "
        f"({DEMO_OPERATOR} / {DEMO_OPERATOR_PASSWORD})",
        f"  logs:                {log_path} (this terminal shows only warnings and errors)",
        "  Ctrl-C stops everything.",
        "",
    ]
    return DevStack(banner, emulator, f"http://{host}:{port}", log_path, list(stops))


def run_dev(host: str = "127.0.0.1", port: int = 8000, emulator_port: int = 8001) -> None:
    stack = start_dev(host, port, emulator_port)
    for line in stack.banner:
        click.echo(line)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        while not stop.is_set():
            stop.wait(0.5)
    finally:
        click.echo("stopping…")
        stack.stop()
        click.echo("stopped.")
