"""Console sessions are server-side: logout, deactivation and a password change end them at
once; they also end after 8 idle hours and 7 days after the login, whatever the cookie says."""

# ruff: noqa: F811  (the console fixtures are imported from test_admin_console)

from __future__ import annotations

import pytest

from models.operators import create_operator, set_password
from tests.test_admin_console import (  # noqa: F401  (fixtures)
    EMAIL,
    PASSWORD,
    client,
    clock,
    console_app,
    console_clock,
    csrf,
    login,
    post,
)

pytestmark = pytest.mark.usefixtures("cheap_hashing")
OTHER = "other@example.jp"
OTHER_PASSWORD = "another-long-password"


def logged_in(client) -> bool:
    return client.get("/admin/inquiries").status_code == 200


def session_cookie(client) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def test_a_cookie_copied_before_logout_no_longer_works_after_it(client):
    assert login(client).status_code == 302 and logged_in(client)
    stolen = session_cookie(client)
    assert post(client, "/admin/logout").status_code == 302
    assert not logged_in(client)
    client.set_cookie("session", stolen)  # replay the cookie of the ended session
    response = client.get("/admin/inquiries")
    assert response.status_code == 302 and "/admin/login" in response.headers["Location"]


def test_idle_sessions_end_after_eight_hours(client, clock):
    login(client)
    clock.advance(hours=7, minutes=59)
    assert logged_in(client)  # a request: the idle time starts again
    clock.advance(hours=7, minutes=59)
    assert logged_in(client)
    clock.advance(hours=8)
    assert not logged_in(client)


def test_sessions_end_seven_days_after_the_login_even_when_used(client, clock):
    login(client)
    for _ in range(23):  # used every 7 hours: never idle for 8
        clock.advance(hours=7)
        assert logged_in(client)
    clock.advance(hours=7)  # 168 hours = 7 days after the login
    assert not logged_in(client)
    assert login(client).status_code == 302 and logged_in(client)


def test_deactivating_an_operator_ends_their_sessions_at_once(client, console_app, db, clock):
    create_operator(db, clock, OTHER, OTHER_PASSWORD)
    db.commit()
    theirs = console_app.test_client()
    login(theirs, OTHER, OTHER_PASSWORD)
    assert logged_in(theirs)
    login(client)  # the admin
    page = client.get("/admin/operators").get_data(as_text=True)
    assert OTHER in page
    other_id = next(o.id for o in _operators(db) if o.email == OTHER)
    response = post(client, f"/admin/operators/{other_id}/active", active="0")
    assert response.status_code == 302
    assert not logged_in(theirs)
    assert login(theirs, OTHER, OTHER_PASSWORD).status_code == 401  # and no new one
    # An admin cannot lock themself out this way.
    me = next(o.id for o in _operators(db) if o.email == EMAIL)
    assert post(client, f"/admin/operators/{me}/active", active="0").status_code == 409
    assert logged_in(client)


def test_a_password_change_ends_every_session_of_the_operator(client, console_app, db, clock):
    login(client)
    second_browser = console_app.test_client()
    login(second_browser)
    assert logged_in(client) and logged_in(second_browser)
    set_password(db, clock, EMAIL, "a-brand-new-password")
    db.commit()
    assert not logged_in(client) and not logged_in(second_browser)
    assert login(client, password="a-brand-new-password").status_code == 302


def _operators(db):
    from sqlalchemy import select

    from models.operators import Operator

    rows = list(db.scalars(select(Operator)))
    db.commit()
    return rows
