"""Settings from the environment (and a `.env` file), validated once at start-up."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from dotenv import load_dotenv

REQUIRED_SECRETS = ("LINE_CHANNEL_SECRET", "LINE_CHANNEL_ACCESS_TOKEN")
DEFAULT_SQLITE_URL = "sqlite:///" + str(Path("instance") / "benesapo.sqlite3")


class ConfigError(RuntimeError):
    """Start-up cannot continue; the message names what is missing."""


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    channel_secret: str
    channel_access_token: str
    database_url: str = DEFAULT_SQLITE_URL
    line_api_base_url: str = "https://api.line.me"
    line_data_api_base_url: str = "https://api-data.line.me"
    port: int = 8000
    public_base_url: str = "http://127.0.0.1:8000"
    allow_future_dates: bool = False
    # Threads that process recorded webhook events inside the web process; 0 when a separate
    # `benesapo worker` process does it.
    webhook_workers: int = 4
    # Events claimed and processed per transaction (one commit, one outcome write per batch).
    event_batch_size: int = 10
    event_max_attempts: int = 5
    # Finished webhook events and outbox rows are deleted this many days after they were
    # recorded (models/retention.py).
    retention_days: int = 30
    # Client-side limit on Messaging API calls (LINE allows 2,000 req/s for most endpoints).
    line_rate_limit_per_second: float = 1000.0
    line_max_retries: int = 4
    line_timeout_seconds: float = 10.0
    # LINE's account-link page; empty: LINE's own, or the emulator's when LINE_API_BASE_URL
    # points at the emulator.
    line_account_link_url: str = ""
    # The channel's webhook redelivery is on (LINE Developers Console): said by the operator,
    # since no API tells. Off, a webhook answered 503 while the database is away is lost.
    webhook_redelivery: bool = False
    # The LIFF app that opens the login page (its endpoint URL: PUBLIC_BASE_URL + "/link") and
    # the LINE Login channel it belongs to: the page proves who the browser's LINE user is by
    # having LINE verify the LIFF ID token against this channel. Linking is off while unset.
    liff_id: str = ""
    line_login_channel_id: str = ""
    # The LIFF SDK's URL; empty: LINE's CDN, or the emulator's when LINE_API_BASE_URL points
    # at the emulator.
    liff_sdk_url: str = ""
    # Signs session cookies and CSRF tokens; required by the web app (bot.session_cookie).
    secret_key: str = ""
    # Console sessions end after this long without a request, and this long after the login.
    admin_session_idle_hours: float = 8.0
    admin_session_max_days: float = 7.0
    # GET /metrics on the web process answers only `Authorization: Bearer <this>`; empty: 404.
    metrics_token: str = ""
    # Reverse proxies in front of the web process whose X-Forwarded-For is trusted (the client
    # address is what the login limits count per address).
    trusted_proxies: int = 0
    service_name: str = "ベネサポ"
    contact_email: str = "joyo-be@joyobank.co.jp"
    extra: Mapping[str, str] = field(default_factory=dict)

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]


def load_settings(
    env: Mapping[str, str] | None = None, *, require_secrets: bool = True, dotenv: bool = True
) -> Settings:
    if env is None:
        if dotenv:
            load_dotenv(Path.cwd() / ".env", override=False)
        env = os.environ
    port = int(env.get("PORT") or 8000)
    settings = Settings(
        channel_secret=env.get("LINE_CHANNEL_SECRET", ""),
        channel_access_token=env.get("LINE_CHANNEL_ACCESS_TOKEN", ""),
        database_url=env.get("DATABASE_URL") or DEFAULT_SQLITE_URL,
        line_api_base_url=(env.get("LINE_API_BASE_URL") or "https://api.line.me").rstrip("/"),
        line_data_api_base_url=(
            env.get("LINE_DATA_API_BASE_URL") or "https://api-data.line.me"
        ).rstrip("/"),
        port=port,
        public_base_url=(env.get("PUBLIC_BASE_URL") or f"http://127.0.0.1:{port}").rstrip("/"),
        allow_future_dates=_flag(env.get("ALLOW_FUTURE_DATES")),
        webhook_workers=int(env.get("WEBHOOK_WORKERS") or 4),
        event_batch_size=int(env.get("EVENT_BATCH_SIZE") or 10),
        retention_days=max(1, int(env.get("RETENTION_DAYS") or 30)),
        line_rate_limit_per_second=float(env.get("LINE_RATE_LIMIT_PER_SECOND") or 1000),
        line_account_link_url=env.get("LINE_ACCOUNT_LINK_URL", ""),
        secret_key=env.get("SECRET_KEY", ""),
        admin_session_idle_hours=float(env.get("ADMIN_SESSION_IDLE_HOURS") or 8),
        admin_session_max_days=float(env.get("ADMIN_SESSION_MAX_DAYS") or 7),
        metrics_token=env.get("METRICS_TOKEN", ""),
        trusted_proxies=int(env.get("TRUSTED_PROXIES") or 0),
        liff_id=env.get("LIFF_ID", "").strip(),
        line_login_channel_id=env.get("LINE_LOGIN_CHANNEL_ID", "").strip(),
        liff_sdk_url=env.get("LIFF_SDK_URL", "").strip(),
        webhook_redelivery=_flag(env.get("LINE_WEBHOOK_REDELIVERY")),
        extra={k: v for k, v in env.items() if k.startswith("BENESAPO_")},
    )
    if require_secrets:
        check_line_secrets(settings)
    return settings


def check_line_secrets(settings: Settings) -> None:
    """ConfigError naming each LINE secret these settings lack (for what talks to LINE)."""
    values = {
        "LINE_CHANNEL_SECRET": settings.channel_secret,
        "LINE_CHANNEL_ACCESS_TOKEN": settings.channel_access_token,
    }
    missing = [name for name in REQUIRED_SECRETS if not values[name]]
    if missing:
        raise ConfigError(
            "Missing required environment variable(s): "
            + ", ".join(missing)
            + " (set them in the environment or in .env; see README)"
        )
