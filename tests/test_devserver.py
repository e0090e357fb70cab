"""`make run` started twice on one instance/ directory (the bot, the emulator and the demo data
over real HTTP): what the banner offers works after a restart, whatever the first run did,
and the logs go to a file under instance/ instead of the terminal."""

from __future__ import annotations

import io
import json
import os
import socket
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy.orm import Session

from bot.devserver import DEMO_USER, READY_HR_USER, DevStack, start_dev
from emulator.client import EmulatorClient
from models.companies import retire_member
from models.db import make_engine
from models.line_user import LineUser
from models.timeutil import SystemClock
from tests.e2e import texts_of, wait_until
from tests.test_inquiries_support import link

pytestmark = pytest.mark.usefixtures("cheap_hashing")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def instance(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("DATABASE_URL", "sqlite:///" + str(tmp_path / "dev.sqlite3"))
    monkeypatch.setenv("SECRET_KEY", "dev-test-secret-key-" + "x" * 20)
    monkeypatch.setenv("LINE_CHANNEL_SECRET", "dev-channel-secret")
    monkeypatch.setenv("LINE_CHANNEL_ACCESS_TOKEN", "dev-channel-access-token")
    monkeypatch.setenv("MAIL_BACKEND", "console")
    return tmp_path / "instance"


class Run:
    """One `make run`: its banner, its emulator users, its database."""

    def __init__(self, instance: Path) -> None:
        self.terminal = io.StringIO()
        self.stack: DevStack = start_dev(
            port=free_port(), emulator_port=free_port(), instance=instance, terminal=self.terminal
        )
        self.client = EmulatorClient(self.stack.emulator.url)
        self.text = "\n".join(self.stack.banner)
        self.engine = make_engine(os.environ["DATABASE_URL"])

    def user(self, name: str) -> str:
        (found,) = [u["user_id"] for u in self.client.users() if u["display_name"] == name]
        return found

    def line(self, label: str) -> str:
        (found,) = [x for x in self.stack.banner if x.strip().startswith(label)]
        return found

    def session(self) -> Session:
        return Session(self.engine)

    def stop(self) -> None:
        self.stack.stop()
        self.engine.dispose()


def say(run: Run, user_id: str, words: str) -> str:
    before = len(run.client.inbox(user_id))
    run.client.send_text(user_id, words)
    wait_until(lambda: len(run.client.inbox(user_id)) > before, what="the bot's answer")
    return texts_of([e["message"] for e in run.client.inbox(user_id)[before:]])


def test_a_second_start_offers_only_logins_that_work(instance):
    first = Run(instance)
    try:
        assert "DEMAM2345A / demo-pass-A" in first.line("demo member:")
        assert READY_HR_USER in first.line("demo HR contact:")
        demo_user, hr_user = first.user(DEMO_USER), first.user(READY_HR_USER)
        with first.session() as session:  # what a newcomer did in the first run
            link(session, SystemClock(), demo_user, "DEMAM2345A")
            retire_member(session, SystemClock(), "DEMAM2345B", actor="test")
            session.commit()
    finally:
        first.stop()

    second = Run(instance)
    try:
        # The emulator kept its users, so the link in the database is still somebody's.
        assert second.user(DEMO_USER) == demo_user and second.user(READY_HR_USER) == hr_user
        assert "DEMAM2345C / demo-pass-C" in second.line("demo member:")
        assert "DEMAM2345A" not in second.line("demo member:")
        assert f"DEMAM2345A to 「{DEMO_USER}」" in second.line("already linked:")
        assert "DEMAM2345B (retired)" in second.line("not offered:")
        assert "demo-pass-B" not in second.text
        say(second, demo_user, "ポイント残高")
        balance = second.client.inbox(demo_user)[-1]["message"]
        assert balance["type"] == "flex" and balance["altText"].startswith("ポイント残高")
        assert READY_HR_USER in second.line("demo HR contact:")
        assert "企業" in say(second, hr_user, "企業情報")
    finally:
        second.stop()


def test_a_start_without_the_emulators_users_unlinks_their_members(instance):
    first = Run(instance)
    try:
        with first.session() as session:
            link(session, SystemClock(), first.user(DEMO_USER), "DEMAM2345A")
    finally:
        first.stop()
    (instance / "emulator_users.json").unlink()  # as if the emulator had forgotten them

    second = Run(instance)
    try:
        assert "DEMAM2345A / demo-pass-A" in second.line("demo member:")
        assert "already linked" not in second.text
        assert READY_HR_USER in second.line("demo HR contact:")  # linked to the new one
        with second.session() as session:
            linked = {u.line_user_id for u in session.query(LineUser) if u.member_pk}
        assert linked == {second.user(READY_HR_USER)}
    finally:
        second.stop()


def test_logs_go_to_the_file_and_the_terminal_keeps_the_banner(instance):
    run = Run(instance)
    try:
        assert f"logs:                {instance / 'benesapo.log'}" in run.text
        say(run, run.user(DEMO_USER), "使い方")
    finally:
        run.stop()
    lines = (instance / "benesapo.log").read_text(encoding="utf-8").splitlines()
    events = [json.loads(line) for line in lines]
    assert any(e.get("event") == "webhook_event" for e in events)
    assert any(e["logger"] == "werkzeug" and "/callback" in e["message"] for e in events)
    assert "webhook_event" not in run.terminal.getvalue()
    assert "/callback" not in run.terminal.getvalue()


def test_the_chat_page_offers_the_ready_hr_contact(instance, browser):
    run = Run(instance)
    try:
        page = browser.new_page(viewport={"width": 420, "height": 900})
        page.goto(run.stack.emulator.url + "/")
        select = page.get_by_label("ユーザーを選択")
        expect(select.locator("option")).to_have_text([DEMO_USER, READY_HR_USER])
        expect(select).to_have_value(run.user(DEMO_USER))  # the page opens as the demo user
        expect(page.locator("#chat-hint")).to_be_visible()
        select.select_option(label=READY_HR_USER)
        expect(page.locator("#status")).to_have_text(f"接続中: {run.user(READY_HR_USER)}")
        expect(page.locator("#chat-hint")).to_be_visible()
        page.get_by_role("textbox", name="メッセージ").fill("企業情報")
        page.get_by_role("textbox", name="メッセージ").press("Enter")
        expect(page.locator("#chat .row.bot").last).to_contain_text("デモ株式会社")
        expect(page.locator("#chat-hint")).to_have_count(0)
        # Its rich menu is the HR contacts' (linked at start-up, synced by the deployment).
        expect(page.locator(".richmenu-hit[aria-label='各種申請']")).to_have_count(1)
    finally:
        run.stop()
