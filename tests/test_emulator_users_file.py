"""The emulator's simulated users kept in a JSON file (`make run` keeps it under instance/):
a restarted emulator knows the same users, with the same ids, names and follow state."""

from __future__ import annotations

import json

import pytest
import requests

from emulator.client import EmulatorClient, EmulatorError
from emulator.server import EmulatorServer

SECRET = "emulator-test-secret"
TOKEN = "emulator-test-token"


def users_of(server: EmulatorServer) -> list[dict]:
    return EmulatorClient(server.url).users()


def test_users_survive_a_restart_with_their_follow_state(tmp_path):
    path = tmp_path / "instance" / "emulator_users.json"
    with EmulatorServer(SECRET, TOKEN, users_file=path) as first:
        client = EmulatorClient(first.url)
        taro = client.create_user("デモユーザー")
        hanako = client.create_user("人事担当（デモ）")
        client.unfollow(hanako["user_id"])  # no webhook set: recorded by the emulator all the same
        before = users_of(first)
    assert json.loads(path.read_text(encoding="utf-8"))  # written as it changed
    with EmulatorServer(SECRET, TOKEN, users_file=path) as second:
        client = EmulatorClient(second.url)
        assert users_of(second) == before
        by_id = {u["user_id"]: u for u in client.users()}
        assert by_id[taro["user_id"]]["following"] is True
        assert by_id[hanako["user_id"]]["following"] is False
        # Asking for a known name again returns that user, not a new one.
        assert client.create_user("デモユーザー")["user_id"] == taro["user_id"]
        # A follow after the restart is an unblock, as LINE would say.
        sent = client.follow(hanako["user_id"])
        assert sent["event"]["follow"] == {"isUnblocked": True}
    with EmulatorServer(SECRET, TOKEN, users_file=path) as third:
        assert all(u["following"] for u in users_of(third))


def test_without_a_file_a_restart_forgets_the_users():
    with EmulatorServer(SECRET, TOKEN) as first:
        EmulatorClient(first.url).create_user("デモユーザー")
    with EmulatorServer(SECRET, TOKEN) as second:
        assert users_of(second) == []


def test_an_unreadable_file_is_set_aside_and_the_emulator_starts_empty(tmp_path):
    path = tmp_path / "emulator_users.json"
    path.write_text('[{"user_id": "not-an-id", "display_name": "x"}]', encoding="utf-8")
    with EmulatorServer(SECRET, TOKEN, users_file=path) as server:
        assert users_of(server) == []
        EmulatorClient(server.url).create_user("新しいユーザー")
    assert (tmp_path / "emulator_users.json.bad").exists()
    assert [u["display_name"] for u in json.loads(path.read_text(encoding="utf-8"))] == [
        "新しいユーザー"
    ]


@pytest.mark.parametrize("name", ["", "あ" * 101, 12])
def test_a_display_name_is_bounded(tmp_path, name):
    with EmulatorServer(SECRET, TOKEN, users_file=tmp_path / "u.json") as server:
        answer = requests.post(
            server.url + "/_emulator/users", json={"display_name": name}, timeout=10
        )
        assert answer.status_code == 400, answer.text
        with pytest.raises(EmulatorError):
            EmulatorClient(server.url).create_user(user_id="U123")
        assert users_of(server) == []
