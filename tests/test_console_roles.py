"""Roles: every console route declares the role it needs; an operator gets 403 on the admin
pages (audit log, operator management); the CLI creates operators with a role."""

# ruff: noqa: F811  (the console fixtures are imported from test_admin_console)

from __future__ import annotations

import pytest
from click.testing import CliRunner

from bot.admin.auth import PUBLIC_ENDPOINTS, ROUTE_ROLES
from bot.cli import cli
from models.operators import ROLE_ADMIN, Operator, create_operator, find_operator
from tests.test_admin_console import (  # noqa: F401  (fixtures)
    EMAIL,
    client,
    clock,
    console_app,
    console_clock,
    csrf,
    login,
    post,
)

pytestmark = pytest.mark.usefixtures("cheap_hashing")
WORKER = "worker@example.jp"
WORKER_PASSWORD = "worker-long-password"
ADMIN_PAGES = ["/admin/audit", "/admin/operators"]


@pytest.fixture
def operator_client(console_app, client, db, clock):
    create_operator(db, clock, WORKER, WORKER_PASSWORD)  # role: operator
    db.commit()
    browser = console_app.test_client()
    assert login(browser, WORKER, WORKER_PASSWORD).status_code == 302
    return browser


def test_every_console_route_declares_its_role(console_app):
    endpoints = {
        rule.endpoint
        for rule in console_app.url_map.iter_rules()
        if rule.endpoint.startswith("admin.")
    }
    assert endpoints - PUBLIC_ENDPOINTS <= set(ROUTE_ROLES)
    assert {ROUTE_ROLES["admin.audit_log"], ROUTE_ROLES["admin.operators"]} == {ROLE_ADMIN}


def test_an_operator_works_tickets_but_gets_403_on_admin_pages(operator_client, db):
    assert operator_client.get("/admin/inquiries").status_code == 200
    for path in ADMIN_PAGES:
        response = operator_client.get(path)
        assert response.status_code == 403, path
        assert "権限がありません" in response.get_data(as_text=True)
    admin = find_operator(db, EMAIL)
    db.commit()
    response = post(operator_client, f"/admin/operators/{admin.id}/active", active="0")
    assert response.status_code == 403
    db.expire_all()
    assert db.get(Operator, admin.id).active
    db.commit()
    page = operator_client.get("/admin/inquiries").get_data(as_text=True)
    assert "/admin/audit" not in page  # not offered either


def test_an_admin_sees_the_admin_pages(client):
    login(client)
    for path in ADMIN_PAGES:
        assert client.get(path).status_code == 200, path


def test_anonymous_requests_are_sent_to_the_login_page(client):
    for path in [*ADMIN_PAGES, "/admin/inquiries"]:
        response = client.get(path)
        assert response.status_code == 302 and "/admin/login" in response.headers["Location"]


def test_the_cli_creates_operators_with_a_role_and_deactivates_them(cli_runtime, db):
    runner = CliRunner()
    made = runner.invoke(
        cli,
        ["operator", "create", "boss@example.jp", "--role", "admin", "--generate"],
        obj=cli_runtime,
    )
    assert made.exit_code == 0 and "(admin)" in made.output, made.output
    plain = runner.invoke(
        cli, ["operator", "create", "staff@example.jp", "--generate"], obj=cli_runtime
    )
    assert plain.exit_code == 0 and "(operator)" in plain.output
    bad = runner.invoke(
        cli, ["operator", "create", "x@example.jp", "--role", "root", "--generate"], obj=cli_runtime
    )
    assert bad.exit_code != 0
    listed = runner.invoke(cli, ["operator", "list"], obj=cli_runtime)
    assert "boss@example.jp\tadmin\tactive" in listed.output
    assert "staff@example.jp\toperator\tactive" in listed.output
    off = runner.invoke(cli, ["operator", "deactivate", "staff@example.jp"], obj=cli_runtime)
    assert off.exit_code == 0, off.output
    assert not find_operator(db, "staff@example.jp").active
    db.commit()
    changed = runner.invoke(
        cli,
        ["operator", "set-password", "boss@example.jp"],
        input="a-new-long-password\n" * 2,
        obj=cli_runtime,
    )
    assert changed.exit_code == 0 and "sessions ended" in changed.output, changed.output
    unknown = runner.invoke(cli, ["operator", "deactivate", "nobody@example.jp"], obj=cli_runtime)
    assert unknown.exit_code != 0 and "no operator" in unknown.output
