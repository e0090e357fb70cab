"""The web app's own secrets: SECRET_KEY is required and never derived from the channel
secret (a cookie forged with the channel secret is worthless); `make run` keeps a generated
key in instance/; /metrics on the web process answers only its token."""

from __future__ import annotations

import hashlib
import hmac
import stat

import pytest
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer

from adapters.runtime import build_runtime
from bot.app import create_app
from bot.session_cookie import dev_secret_key
from common.config import ConfigError, Settings, load_settings
from models.operators import ROLE_ADMIN, create_operator
from tests.helpers import ACCESS_TOKEN, CHANNEL_SECRET, SECRET_KEY

METRICS_TOKEN = "metrics-token-for-tests"


def app_with(engine, clock, **overrides):
    settings = Settings(
        channel_secret=CHANNEL_SECRET,
        channel_access_token=ACCESS_TOKEN,
        database_url=str(engine.url),
        **overrides,
    )
    return create_app(
        runtime=build_runtime(settings, engine=engine, clock=clock), start_workers=False
    )


def test_the_web_app_does_not_start_without_secret_key(engine, clock):
    with pytest.raises(ConfigError) as refused:
        app_with(engine, clock)
    assert "SECRET_KEY" in str(refused.value)
    env = {"LINE_CHANNEL_SECRET": CHANNEL_SECRET, "LINE_CHANNEL_ACCESS_TOKEN": ACCESS_TOKEN}
    with pytest.raises(ConfigError, match="SECRET_KEY"):  # as gunicorn builds it
        create_app(load_settings(env), start_workers=False)


def forged_cookie(key: bytes, payload: dict) -> str:
    """A session cookie signed the way Flask signs one, with `key`."""
    interface = SecureCookieSessionInterface()
    serializer = URLSafeTimedSerializer(
        key,
        salt=interface.salt,
        serializer=interface.serializer,
        signer_kwargs={"key_derivation": interface.key_derivation, "digest_method": hashlib.sha1},
    )
    return serializer.dumps(payload)


@pytest.mark.usefixtures("cheap_hashing")
def test_knowing_the_channel_secret_does_not_open_the_console(engine, db, clock):
    app = app_with(engine, clock, secret_key=SECRET_KEY)
    operator, _ = create_operator(db, clock, "ops@example.jp", "a-long-password", role=ROLE_ADMIN)
    db.commit()
    # The key the app used to derive from the channel secret when SECRET_KEY was unset.
    derived = hmac.new(CHANNEL_SECRET.encode(), b"benesapo/flask-session/v1", hashlib.sha256)
    for key in (derived.digest(), CHANNEL_SECRET.encode()):
        for payload in ({"admin_operator": operator.id}, {"admin_session": "guessed"}):
            browser = app.test_client()
            browser.set_cookie("session", forged_cookie(key, payload))
            response = browser.get("/admin/audit")
            assert response.status_code == 302 and "/admin/login" in response.headers["Location"]


def test_make_run_keeps_one_generated_key_across_runs(tmp_path):
    path = tmp_path / "instance" / "secret_key"
    first = dev_secret_key(path)
    assert len(first) >= 40
    assert dev_secret_key(path) == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert first not in {CHANNEL_SECRET, ACCESS_TOKEN}


def test_metrics_on_the_web_process_answer_only_the_token(engine, db, clock):
    open_app = app_with(engine, clock, secret_key=SECRET_KEY)
    assert open_app.test_client().get("/metrics").status_code == 404  # no token set: never
    app = app_with(engine, clock, secret_key=SECRET_KEY, metrics_token=METRICS_TOKEN)
    browser = app.test_client()
    assert browser.get("/metrics").status_code == 404
    wrong = browser.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 404
    right = browser.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert right.status_code == 200 and "benesapo_webhook_backlog" in right.get_data(as_text=True)
