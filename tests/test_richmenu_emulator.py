"""The emulator's rich menu endpoints, over real HTTP, as LINE answers them."""

from __future__ import annotations

import copy
import io
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from flask import Flask, request
from PIL import Image
from werkzeug.serving import make_server

from emulator.client import EmulatorClient
from emulator.server import EmulatorServer, QuietRequestHandler
from richmenu import definitions as d
from richmenu.deploy import plan_pages
from tests.test_richmenu_definitions import TABBED

SECRET = "richmenu-test-secret"
TOKEN = "richmenu-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def pages():
    return {p.page.key: p for p in plan_pages(d.parse(copy.deepcopy(TABBED)))}


@pytest.fixture
def received() -> Iterator[list[dict[str, Any]]]:
    events: list[dict[str, Any]] = []
    app = Flask("receiver")

    @app.post("/callback")
    def callback() -> tuple[str, int]:
        events.extend(json.loads(request.get_data(as_text=True))["events"])
        return "OK", 200

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietRequestHandler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    events.append({"url": f"http://127.0.0.1:{server.server_port}/callback"})
    yield events
    server.shutdown()
    server.server_close()


@pytest.fixture
def emulator(received) -> Iterator[EmulatorServer]:
    with EmulatorServer(SECRET, TOKEN, webhook_url=received.pop(0)["url"]) as server:
        yield server


@pytest.fixture
def client(emulator: EmulatorServer) -> EmulatorClient:
    return EmulatorClient(emulator.url)


def call(emulator, method: str, path: str, body: Any = None, **headers: str):
    return requests.request(
        method, emulator.url + path, json=body, headers={**AUTH, **headers}, timeout=10
    )


def upload(emulator, menu_id: str, data: bytes, content_type: str = "image/png"):
    return requests.post(
        f"{emulator.url}/v2/bot/richmenu/{menu_id}/content",
        data=data,
        headers={**AUTH, "Content-Type": content_type},
        timeout=10,
    )


def create(emulator, page) -> str:
    response = call(emulator, "POST", "/v2/bot/richmenu", page.body)
    assert response.status_code == 200, response.text
    menu_id = response.json()["richMenuId"]
    assert upload(emulator, menu_id, page.image, page.content_type).status_code == 200
    return menu_id


def image_of(size: tuple[int, int], kind: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 230, 210)).save(buffer, format=kind)
    return buffer.getvalue()


def test_every_endpoint_needs_the_access_token(emulator, pages):
    for method, path in [
        ("POST", "/v2/bot/richmenu"),
        ("GET", "/v2/bot/richmenu/list"),
        ("POST", "/v2/bot/richmenu/richmenu-x/content"),
        ("POST", "/v2/bot/richmenu/bulk/link"),
        ("GET", "/v2/bot/richmenu/alias/list"),
        ("POST", "/v2/bot/user/all/richmenu/richmenu-x"),
    ]:
        response = requests.request(
            method, emulator.url + path, json={}, headers={"Authorization": "Bearer nope"}
        )
        assert response.status_code == 401, path
    assert emulator.state.list_rich_menus() == []


def test_create_validates_the_body_like_line(emulator, pages):
    body = copy.deepcopy(pages["hr"].body)
    body["chatBarText"] = "とても長いチャットバーのテキストです"
    body["areas"][0]["bounds"]["width"] = 99_999
    response = call(emulator, "POST", "/v2/bot/richmenu", body)
    assert response.status_code == 400
    messages = [detail["message"] for detail in response.json()["details"]]
    assert any("chatBarText" in m for m in messages)
    assert any("not inside" in m for m in messages)
    assert call(emulator, "POST", "/v2/bot/richmenu/validate", body).status_code == 400
    assert call(emulator, "POST", "/v2/bot/richmenu/validate", pages["hr"].body).json() == {}
    assert emulator.state.list_rich_menus() == []


def test_image_upload_checks_type_size_and_dimensions(emulator, pages):
    page = pages["guest"]  # 2500x843
    menu_id = call(emulator, "POST", "/v2/bot/richmenu", page.body).json()["richMenuId"]
    assert upload(emulator, menu_id, page.image, "image/gif").status_code == 415
    assert upload(emulator, menu_id, image_of((2500, 1686))).status_code == 400
    assert upload(emulator, menu_id, image_of((2500, 843), "GIF"), "image/png").status_code == 400
    assert upload(emulator, menu_id, image_of((2500, 843), "JPEG"), "image/png").status_code == 400
    assert upload(emulator, menu_id, b"\0" * (1024 * 1024 + 1)).status_code == 413
    assert upload(emulator, "richmenu-" + "0" * 32, page.image).status_code == 404
    # Without an image the menu cannot be shown to anyone.
    assert call(emulator, "POST", f"/v2/bot/user/all/richmenu/{menu_id}").status_code == 400
    assert upload(emulator, menu_id, page.image).status_code == 200
    assert upload(emulator, menu_id, page.image).status_code == 400  # never replaced
    got = requests.get(f"{emulator.url}/v2/bot/richmenu/{menu_id}/content", headers=AUTH)
    assert got.content == page.image and got.headers["Content-Type"] == "image/png"


def test_menus_are_listed_fetched_and_deleted(emulator, pages):
    menu_id = create(emulator, pages["hr"])
    listed = call(emulator, "GET", "/v2/bot/richmenu/list").json()["richmenus"]
    assert [m["richMenuId"] for m in listed] == [menu_id]
    assert call(emulator, "GET", f"/v2/bot/richmenu/{menu_id}").json()["name"] == pages["hr"].name
    user = "U" + "c" * 32
    assert call(emulator, "POST", f"/v2/bot/user/{user}/richmenu/{menu_id}").status_code == 200
    assert call(emulator, "GET", f"/v2/bot/user/{user}/richmenu").json() == {"richMenuId": menu_id}
    assert call(emulator, "DELETE", f"/v2/bot/richmenu/{menu_id}").status_code == 200
    assert call(emulator, "GET", f"/v2/bot/richmenu/{menu_id}").status_code == 404
    assert call(emulator, "GET", f"/v2/bot/user/{user}/richmenu").status_code == 404


def test_at_most_1000_menus(emulator, pages):
    for _ in range(1000):
        emulator.state.create_rich_menu(pages["hr"].body, 1000)
    response = call(emulator, "POST", "/v2/bot/richmenu", pages["hr"].body)
    assert response.status_code == 400 and "1000" in response.json()["message"]


def test_bulk_link_takes_at_most_500_valid_ids(emulator, pages):
    menu_id = create(emulator, pages["hr"])
    ids = [f"U{i:032x}" for i in range(501)]
    too_many = call(
        emulator, "POST", "/v2/bot/richmenu/bulk/link", {"richMenuId": menu_id, "userIds": ids}
    )
    assert too_many.status_code == 400
    bad = call(
        emulator, "POST", "/v2/bot/richmenu/bulk/link", {"richMenuId": menu_id, "userIds": ["x"]}
    )
    assert bad.status_code == 400 and bad.json()["details"][0]["property"] == "userIds[0]"
    ok = call(
        emulator,
        "POST",
        "/v2/bot/richmenu/bulk/link",
        {"richMenuId": menu_id, "userIds": ids[:500]},
    )
    assert ok.status_code == 202
    assert emulator.state.linked_rich_menu(ids[499]) == menu_id
    unlinked = call(emulator, "POST", "/v2/bot/richmenu/bulk/unlink", {"userIds": ids[:2]})
    assert unlinked.status_code == 202 and emulator.state.linked_rich_menu(ids[0]) is None


def assert_refused_like_line(response, *expected: tuple[str, str]) -> None:
    """LINE's 400 for a body its request model refuses: one (property, message part) each."""
    assert response.status_code == 400, response.text
    payload = response.json()
    assert payload["message"] == f"The request body has {len(expected)} error(s)"
    found = [(d["property"], d["message"]) for d in payload["details"]]
    assert len(found) == len(expected), found
    for (prop, needle), (got_prop, got_message) in zip(expected, found, strict=True):
        assert got_prop == prop and needle in got_message, found


def test_bulk_bodies_are_checked_with_the_sdk_models(emulator, pages):
    menu_id = create(emulator, pages["hr"])
    user = "U" + "1" * 32
    link = "/v2/bot/richmenu/bulk/link"
    unlink = "/v2/bot/richmenu/bulk/unlink"
    assert_refused_like_line(
        call(emulator, "POST", link, {"userIds": [user]}),
        ("richMenuId", "none is not an allowed value"),
    )
    assert_refused_like_line(
        call(emulator, "POST", link, {"richMenuId": 7, "userIds": []}),
        ("richMenuId", "str type expected"),
        ("userIds", "at least 1 items"),
    )
    assert_refused_like_line(
        call(emulator, "POST", link, {"richMenuId": menu_id, "userIds": [user, 5]}),
        ("userIds[1]", "str type expected"),
    )
    assert_refused_like_line(
        call(emulator, "POST", unlink, {"userIds": user}), ("userIds", "value is not a valid list")
    )
    assert_refused_like_line(
        call(emulator, "POST", unlink, {}), ("userIds", "none is not an allowed value")
    )
    not_json = requests.post(
        emulator.url + link, data="[", headers={**AUTH, "Content-Type": "application/json"}
    )
    assert not_json.status_code == 400 and not_json.json()["message"]
    assert emulator.state.linked_rich_menu(user) is None
    assert (
        call(emulator, "POST", link, {"richMenuId": menu_id, "userIds": [user]}).status_code == 202
    )
    assert call(emulator, "POST", unlink, {"userIds": [5]}).status_code == 400
    assert emulator.state.linked_rich_menu(user) == menu_id


def test_alias_bodies_are_checked_with_the_sdk_models(emulator, pages):
    menu_id = create(emulator, pages["member"])
    create_path = "/v2/bot/richmenu/alias"
    assert_refused_like_line(
        call(
            emulator, "POST", create_path, {"richMenuAliasId": "Not Valid!", "richMenuId": menu_id}
        ),
        ("richMenuAliasId", "regular expression"),
    )
    assert_refused_like_line(
        call(emulator, "POST", create_path, {"richMenuAliasId": "a" * 33, "richMenuId": menu_id}),
        ("richMenuAliasId", "at most 32 characters"),
    )
    assert_refused_like_line(
        call(emulator, "POST", create_path, {"richMenuAliasId": "t-member-points"}),
        ("richMenuId", "none is not an allowed value"),
    )
    assert emulator.state.rich_menu_alias_list() == {}
    alias = {"richMenuAliasId": "t-member-points", "richMenuId": menu_id}
    assert call(emulator, "POST", create_path, alias).status_code == 200
    update_path = "/v2/bot/richmenu/alias/t-member-points"
    assert_refused_like_line(
        call(emulator, "POST", update_path, {}), ("richMenuId", "none is not an allowed value")
    )
    assert_refused_like_line(
        call(emulator, "POST", update_path, {"richMenuId": ["richmenu-x"]}),
        ("richMenuId", "str type expected"),
    )
    assert emulator.state.rich_menu_alias_list() == {"t-member-points": menu_id}


def test_aliases(emulator, pages):
    first = create(emulator, pages["member"])
    second = create(emulator, pages["member-2"])
    alias = {"richMenuAliasId": "t-member-points", "richMenuId": first}
    assert call(emulator, "POST", "/v2/bot/richmenu/alias", alias).status_code == 200
    assert call(emulator, "POST", "/v2/bot/richmenu/alias", alias).status_code == 400  # exists
    bad = {"richMenuAliasId": "Not Valid!", "richMenuId": first}
    assert call(emulator, "POST", "/v2/bot/richmenu/alias", bad).status_code == 400
    updated = call(
        emulator, "POST", "/v2/bot/richmenu/alias/t-member-points", {"richMenuId": second}
    )
    assert updated.status_code == 200
    assert call(emulator, "GET", "/v2/bot/richmenu/alias/t-member-points").json() == {
        "richMenuAliasId": "t-member-points",
        "richMenuId": second,
    }
    assert call(emulator, "GET", "/v2/bot/richmenu/alias/list").json()["aliases"] == [
        {"richMenuAliasId": "t-member-points", "richMenuId": second}
    ]
    assert call(emulator, "DELETE", "/v2/bot/richmenu/alias/t-member-points").status_code == 200
    assert call(emulator, "GET", "/v2/bot/richmenu/alias/t-member-points").status_code == 404


def create_tabbed_member_menus(emulator, pages) -> tuple[str, str]:
    """The member's two tab pages, each with its alias: (points menu id, support menu id)."""
    points = create(emulator, pages["member"])
    support = create(emulator, pages["member-2"])
    for alias, menu_id in [("t-member-points", points), ("t-member-support", support)]:
        call(
            emulator,
            "POST",
            "/v2/bot/richmenu/alias",
            {"richMenuAliasId": alias, "richMenuId": menu_id},
        )
    return points, support


def test_the_chat_page_sees_and_taps_the_users_menu(emulator, client, pages, received):
    guest = create(emulator, pages["guest"])
    points, support = create_tabbed_member_menus(emulator, pages)
    user = client.create_user("タブ太郎")["user_id"]
    base = f"{emulator.url}/_emulator/users/{user}/richmenu"
    assert requests.get(base).json()["menu"] is None
    call(emulator, "POST", f"/v2/bot/user/all/richmenu/{guest}")
    shown = requests.get(base).json()
    assert shown["source"] == "default" and shown["richMenuId"] == guest
    assert requests.get(emulator.url + shown["imageUrl"]).content == pages["guest"].image

    call(emulator, "POST", f"/v2/bot/user/{user}/richmenu/{points}")
    shown = requests.get(base).json()
    assert shown["source"] == "linked" and shown["menu"]["chatBarText"] == "ポイントとサポート"
    # Area 0 is the other tab: LINE switches the menu and sends the postback with the alias.
    tapped = requests.post(base + "/tap", json={"area": 0}).json()
    assert tapped["status"] == 200 and tapped["richmenu"]["richMenuId"] == support
    assert received[-1]["postback"] == {
        "data": "action=richmenu_tab&page=t-member-support",
        "params": {"newRichMenuAliasId": "t-member-support", "status": "SUCCESS"},
    }
    # A postback area, then a uri area (opened by the browser, nothing sent).
    tapped = requests.post(base + "/tap", json={"area": 1}).json()
    assert received[-1]["postback"] == {"data": "action=faq_menu"}
    assert tapped["richmenu"]["richMenuId"] == support
    count = len(received)
    uri = requests.post(base + "/tap", json={"area": 2}).json()
    assert uri["uri"] == "https://example.jp/" and len(received) == count
    # A message area (the guest menu's second button) sends text.
    call(emulator, "POST", "/v2/bot/richmenu/bulk/unlink", {"userIds": [user]})
    requests.post(base + "/tap", json={"area": 1})
    assert received[-1]["message"]["text"] == "使い方"
    assert requests.post(base + "/tap", json={"area": 9}).status_code == 400
    entries = client.timeline(user)
    assert [e["message"].get("data") or e["message"].get("text") for e in entries] == [
        "action=richmenu_tab&page=t-member-support",
        "action=faq_menu",
        "使い方",
    ]


def test_switch_to_an_unknown_alias_reports_it(emulator, client, pages, received):
    menu_id = create(emulator, pages["member"])  # its tab points at an alias never created
    user = client.create_user("迷子")["user_id"]
    call(emulator, "POST", f"/v2/bot/user/{user}/richmenu/{menu_id}")
    requests.post(f"{emulator.url}/_emulator/users/{user}/richmenu/tap", json={"area": 0})
    assert received[-1]["postback"]["params"]["status"] == "RICHMENU_ALIAS_ID_NOTFOUND"
    assert emulator.state.linked_rich_menu(user) == menu_id


def test_reset_forgets_rich_menus(emulator, client, pages):
    menu_id = create(emulator, pages["hr"])
    call(emulator, "POST", f"/v2/bot/user/all/richmenu/{menu_id}")
    client.reset()
    assert emulator.state.list_rich_menus() == [] and emulator.state.default_rich_menu_id() is None


def test_chat_page_draws_the_menu_and_taps_it(emulator, client, pages, received, browser):
    points, support = create_tabbed_member_menus(emulator, pages)
    user = client.create_user("画面太郎")["user_id"]
    call(emulator, "POST", f"/v2/bot/user/{user}/richmenu/{points}")
    page = browser.new_page(viewport={"width": 420, "height": 900})
    page.goto(f"{emulator.url}/?user={user}")
    page.wait_for_selector(f'#richmenu-area[data-richmenu="{points}"] .richmenu-hit')
    assert page.locator(".richmenu-hit").count() == len(pages["member"].body["areas"])
    assert page.locator(".richmenu-bar").inner_text().startswith("ポイントとサポート")
    page.wait_for_function("document.querySelector('.richmenu-image').naturalWidth === 2500")
    # Areas are scaled to the drawn image: the tab is the top right half.
    panel = page.locator(".richmenu-panel").bounding_box()
    tab = page.locator('.richmenu-hit[data-area="0"]').bounding_box()
    assert abs(tab["x"] - (panel["x"] + panel["width"] / 2)) < 2
    assert abs(tab["height"] - panel["height"] * d.TAB_BAR_HEIGHT / 1686) < 2
    page.locator('.richmenu-hit[data-area="0"]').click()
    page.wait_for_selector(f'#richmenu-area[data-richmenu="{support}"]')
    assert received[-1]["postback"]["params"]["newRichMenuAliasId"] == "t-member-support"
    page.locator(".richmenu-bar").click()
    assert page.locator(".richmenu-panel").is_hidden()
    page.locator(".richmenu-bar").click()
    shown = page.locator(".notice").count()
    page.locator('.richmenu-hit[data-area="1"]').click()  # よくある質問
    page.wait_for_function(f"document.querySelectorAll('.notice').length > {shown}")
    assert received[-1]["postback"]["data"] == "action=faq_menu"
