"""The emulator's LIFF and LINE Login: opening a LIFF URL as a user, the ID token it gets, and
`POST /oauth2/v2.1/verify` answering as LINE's reference says (payload, or an error body with
LINE's `error_description`)."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from emulator.client import EmulatorClient, EmulatorError
from emulator.server import EmulatorServer

CHANNEL = "2000000009"


@pytest.fixture
def client() -> Iterator[EmulatorClient]:
    with EmulatorServer("secret", "token") as server:
        yield EmulatorClient(server.url)


def verify(client: EmulatorClient, **form: str) -> requests.Response:
    return requests.post(client.base_url + "/oauth2/v2.1/verify", data=form, timeout=10)


def id_token_of(response: requests.Response) -> str:
    return parse_qs(urlsplit(response.headers["Location"]).fragment)["liff.id_token"][0]


def test_opening_a_liff_url_logs_in_as_the_user_and_keeps_path_and_query_in_liff_state(
    client: EmulatorClient,
) -> None:
    app = client.add_liff_app("https://bot.example.jp/link?from=liff", channel_id=CHANNEL)
    assert app["liff_id"].startswith(CHANNEL + "-") and len(app["liff_id"]) == 19
    user = client.create_user(display_name="花子")["user_id"]
    bare = client.open_liff(user, f"https://liff.line.me/{app['liff_id']}")
    assert bare.status_code == 302
    assert bare.headers["Location"].startswith("https://bot.example.jp/link?from=liff#")
    deep = client.open_liff(user, f"https://liff.line.me/{app['liff_id']}/step/2?x=1")
    location = urlsplit(deep.headers["Location"])
    assert parse_qs(location.query) == {"from": ["liff"], "liff.state": ["/step/2?x=1"]}
    payload = verify(client, id_token=id_token_of(deep), client_id=CHANNEL).json()
    assert payload["sub"] == user and payload["aud"] == CHANNEL and payload["name"] == "花子"
    assert payload["iss"] == "https://access.line.me" and payload["exp"] > payload["iat"]
    assert id_token_of(bare) != id_token_of(deep)


def test_unknown_liff_apps_and_users_are_refused(client: EmulatorClient) -> None:
    app = client.add_liff_app("https://bot.example.jp/link", channel_id=CHANNEL)
    user = client.create_user()["user_id"]
    assert client.open_liff(user, "https://liff.line.me/2000000009-nosuchap").status_code == 404
    assert client.open_liff(user, "https://example.jp/not-liff").status_code == 404
    stranger = "U" + "0" * 32
    assert client.open_liff(stranger, f"https://liff.line.me/{app['liff_id']}").status_code == 404
    with pytest.raises(EmulatorError, match="10 digits"):
        client.add_liff_app("https://bot.example.jp/link", channel_id="12")
    with pytest.raises(EmulatorError, match="http"):
        client.add_liff_app("javascript:alert(1)")


def test_verify_answers_lines_error_descriptions(client: EmulatorClient) -> None:
    app = client.add_liff_app("https://bot.example.jp/link", channel_id=CHANNEL)
    user = client.create_user()["user_id"]
    token = id_token_of(client.open_liff(user, f"https://liff.line.me/{app['liff_id']}"))

    def refused(**form: str) -> str:
        response = verify(client, **form)
        assert response.status_code == 400
        body = response.json()
        assert body["error"] == "invalid_request"
        return body["error_description"]

    assert refused(id_token="made-up", client_id=CHANNEL) == "Invalid IdToken."
    assert refused(id_token=token, client_id="2000000008") == "Invalid IdToken Audience."
    other = "U" + "1" * 32
    assert (
        refused(id_token=token, client_id=CHANNEL, user_id=other)
        == "Invalid IdToken Subject Identifier."
    )
    assert refused(id_token=token, client_id=CHANNEL, nonce="n") == "Invalid IdToken Nonce."
    assert verify(client, id_token=token, client_id=CHANNEL, user_id=user).status_code == 200
    assert "required" in refused(id_token=token)
    as_json = requests.post(
        client.base_url + "/oauth2/v2.1/verify",
        json={"id_token": token, "client_id": CHANNEL},
        timeout=10,
    )
    assert as_json.status_code == 400  # LINE takes a form, not JSON
    assert client.expire_id_tokens() == 1
    assert refused(id_token=token, client_id=CHANNEL) == "IdToken expired."
    (first, *_) = client.calls("/oauth2/v2.1/verify")
    assert first["body"] == {"id_token": "made-up", "client_id": CHANNEL}  # recorded


def test_the_stand_in_sdk_is_served(client: EmulatorClient) -> None:
    sdk = requests.get(client.base_url + "/liff/edge/2/sdk.js", timeout=10)
    assert sdk.status_code == 200 and "javascript" in sdk.headers["Content-Type"]
    assert "getIDToken" in sdk.text and "liff.state" in sdk.text
