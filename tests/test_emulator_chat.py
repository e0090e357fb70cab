"""`benesapo chat` against a running emulator and a small bot that answers over HTTP."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from click.testing import CliRunner
from flask import Flask, request
from werkzeug.serving import make_server

from bot.cli import cli
from bot.commands.chat import render_messages
from emulator.server import EmulatorServer, QuietRequestHandler

SECRET = "chat-secret"
TOKEN = "chat-token"

MENU = {
    "type": "text",
    "text": "ご用件は？\n選んでください",
    "quickReply": {
        "items": [
            {"type": "action", "action": {"type": "message", "label": "手当", "text": "手当"}},
            {
                "type": "action",
                "action": {
                    "type": "postback",
                    "label": "相談",
                    "data": "talk=1",
                    "displayText": "相談したい",
                },
            },
        ]
    },
}


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    """An emulator whose webhook is a tiny bot: it replies to each event through the API."""
    with EmulatorServer(SECRET, TOKEN) as server:
        bot = Flask("bot")

        @bot.post("/callback")
        def callback() -> str:
            for event in json.loads(request.get_data())["events"]:
                if event["type"] == "message":
                    said = event["message"]["text"]
                    messages: list[dict[str, Any]] = (
                        [MENU] if said == "メニュー" else [{"type": "text", "text": f"「{said}」"}]
                    )
                elif event["type"] == "postback":
                    messages = [{"type": "text", "text": "postback " + event["postback"]["data"]}]
                elif event["type"] == "follow":
                    messages = [{"type": "text", "text": "友だち追加ありがとう"}]
                else:
                    continue
                requests.post(
                    server.url + "/v2/bot/message/reply",
                    json={"replyToken": event["replyToken"], "messages": messages},
                    headers={"Authorization": f"Bearer {TOKEN}"},
                    timeout=10,
                )
            return "OK"

        http = make_server("127.0.0.1", 0, bot, threaded=True, request_handler=QuietRequestHandler)
        threading.Thread(target=http.serve_forever, args=(0.05,), daemon=True).start()
        server.state.webhook_url = f"http://127.0.0.1:{http.server_port}/callback"
        yield server
        http.shutdown()
        http.server_close()


def test_chat_with_piped_stdin(emulator: EmulatorServer) -> None:
    script = "/follow\nこんにちは\nメニュー\n2\nメニュー\n1\n/postback a=b\n"
    result = CliRunner().invoke(
        cli,
        ["chat", "--emulator", emulator.url, "--user", "テスト太郎", "--wait", "3"],
        input=script,
    )

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "ベネサポ> 友だち追加ありがとう" in lines
    assert "ベネサポ> 「こんにちは」" in lines
    assert "ベネサポ> ご用件は？" in lines
    assert any(line.strip() == "選んでください" for line in lines)
    assert "    [1] 手当" in lines and "    [2] 相談" in lines
    assert "あなた> 相談したい" in lines  # the postback's displayText
    assert "ベネサポ> postback talk=1" in lines
    assert "ベネサポ> 「手当」" in lines  # option 1 of the second menu sent its text
    assert "ベネサポ> postback a=b" in lines
    users = [u.display_name for u in emulator.state.list_users()]
    assert users == ["テスト太郎"]


def test_chat_reports_an_unreachable_emulator() -> None:
    result = CliRunner().invoke(cli, ["chat", "--emulator", "http://127.0.0.1:9", "--wait", "0"])
    assert result.exit_code != 0
    assert "cannot reach the LINE emulator" in result.output


def test_render_templates_and_flex_as_numbered_options() -> None:
    buttons = {
        "type": "template",
        "altText": "メニュー",
        "template": {
            "type": "buttons",
            "title": "手続き",
            "text": "選択してください",
            "actions": [
                {"type": "postback", "label": "申請", "data": "apply"},
                {"type": "uri", "label": "サイト", "uri": "https://example.com"},
            ],
        },
    }
    flex = {
        "type": "flex",
        "altText": "カード",
        "contents": {
            "type": "carousel",
            "contents": [
                {
                    "type": "bubble",
                    "body": {
                        "type": "box",
                        "layout": "vertical",
                        "contents": [
                            {"type": "text", "text": "ホテル優待", "weight": "bold"},
                            {
                                "type": "box",
                                "layout": "baseline",
                                "contents": [
                                    {"type": "text", "text": "割引"},
                                    {"type": "text", "text": "30%"},
                                ],
                            },
                            {"type": "separator"},
                            {"type": "image", "url": "https://example.com/a.png"},
                        ],
                    },
                    "footer": {
                        "type": "box",
                        "layout": "vertical",
                        "contents": [
                            {
                                "type": "button",
                                "action": {"type": "message", "label": "予約", "text": "予約"},
                            }
                        ],
                    },
                }
            ]
            * 2,
        },
    }
    rendered = render_messages([buttons, flex])
    text = "\n".join(rendered.lines)
    assert "【手続き】" in text and "選択してください" in text
    assert "[1] 申請" in text
    assert "[2] サイト → https://example.com" in text
    assert "ホテル優待" in text and "割引  30%" in text and "[画像]" in text
    assert "(2/2)" in text
    assert [a["type"] for a in rendered.options] == ["postback", "uri", "message", "message"]


def test_tapping_a_liff_button_gives_the_address_that_opens_it_as_this_user(
    emulator: EmulatorServer,
) -> None:
    from bot.commands.chat import ChatSession
    from emulator.client import EmulatorClient

    client = EmulatorClient(emulator.url)
    app = client.add_liff_app("https://bot.example.jp/link")
    user = client.create_user(display_name="端末")["user_id"]
    liff_url = f"https://liff.line.me/{app['liff_id']}"
    (line,) = ChatSession(client, user).tap({"type": "uri", "label": "開く", "uri": liff_url})
    address = line.removeprefix("(ブラウザで開いてください: ").removesuffix(")")
    opened = requests.get(address, allow_redirects=False, timeout=10)
    assert opened.status_code == 302
    assert opened.headers["Location"].startswith("https://bot.example.jp/link#liff.id_token=")
    other = ChatSession(client, user).tap({"type": "uri", "uri": "https://example.jp/x"})
    assert other == ["(ブラウザで開いてください: https://example.jp/x)"]
