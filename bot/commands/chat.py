"""`benesapo chat`: talk to the bot as a LINE user, in the terminal, through the LINE emulator.

Each input line is sent as a text message; `/postback DATA` sends a postback, `/follow` and
`/unfollow` send those events, and a bare number taps that option of the last answer (quick
replies, template buttons and Flex buttons are listed as `[1] label`). Works with piped stdin.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import click

from emulator.client import EmulatorClient, EmulatorError
from emulator.liff import LIFF_URL_PREFIX

DEFAULT_EMULATOR_URL = "http://127.0.0.1:8001"
SETTLE_SECONDS = 0.6
BOT_PREFIX = "ベネサポ> "


@dataclass
class Rendered:
    """Messages turned into terminal lines, and the options a number can tap."""

    lines: list[str] = field(default_factory=list)
    options: list[dict[str, Any]] = field(default_factory=list)

    def add_option(self, action: dict[str, Any], indent: str = "  ") -> None:
        self.options.append(action)
        self.lines.append(f"{indent}[{len(self.options)}] {action_label(action)}")


def action_label(action: dict[str, Any]) -> str:
    label = action.get("label") or action.get("text") or action.get("displayText") or ""
    if action.get("type") == "uri":
        return f"{label} → {action.get('uri', '')}".strip()
    return str(label) or f"({action.get('type', '?')})"


def _flex_lines(node: dict[str, Any], out: Rendered, indent: str) -> None:
    kind = node.get("type")
    if kind == "box":
        children = node.get("contents", [])
        if node.get("layout") in {"horizontal", "baseline"} and all(
            c.get("type") in {"text", "icon", "filler", "spacer", "separator"} for c in children
        ):
            words = [_flex_text(c) for c in children if c.get("type") == "text"]
            line = "  ".join(w for w in words if w)
            if line:
                out.lines.append(indent + line)
        else:
            for child in children:
                _flex_lines(child, out, indent)
        if node.get("action"):
            out.add_option(node["action"], indent)
    elif kind == "text":
        text = _flex_text(node)
        if text:
            out.lines.extend(indent + part for part in text.split("\n"))
        if node.get("action"):
            out.add_option(node["action"], indent)
    elif kind == "separator":
        out.lines.append(indent + "-" * 20)
    elif kind == "button":
        out.add_option(node.get("action", {}), indent)
    elif kind in {"image", "video"}:
        out.lines.append(indent + ("[画像]" if kind == "image" else "[動画]"))
        if node.get("action"):
            out.add_option(node["action"], indent)


def _flex_text(node: dict[str, Any]) -> str:
    spans = node.get("contents")
    if isinstance(spans, list) and spans:
        return "".join(str(s.get("text", "")) for s in spans)
    return str(node.get("text", ""))


def _bubble(bubble: dict[str, Any], out: Rendered, indent: str) -> None:
    for part in ("header", "hero", "body", "footer"):
        if isinstance(bubble.get(part), dict):
            _flex_lines(bubble[part], out, indent)
    if bubble.get("action"):
        out.add_option(bubble["action"], indent)


def _template(template: dict[str, Any], out: Rendered) -> None:
    columns = template.get("columns")
    if columns is None:
        columns = [template]
    for i, column in enumerate(columns):
        if len(columns) > 1:
            out.lines.append(f"  ({i + 1}/{len(columns)})")
        if column.get("title"):
            out.lines.append(f"  【{column['title']}】")
        if column.get("text"):
            out.lines.extend("  " + part for part in str(column["text"]).split("\n"))
        actions = column.get("actions") or ([column["action"]] if column.get("action") else [])
        for action in actions:
            out.add_option(action, "    ")


def render_messages(messages: list[dict[str, Any]]) -> Rendered:
    """Readable text for a batch of bot messages; quick replies of the last one come last."""
    out = Rendered()
    for message in messages:
        kind = message.get("type")
        if kind in {"text", "textV2"}:
            first, *rest = str(message.get("text", "")).split("\n")
            out.lines.append(f"{BOT_PREFIX}{first}")
            out.lines.extend(" " * 10 + part for part in rest)  # under the prefix
        elif kind == "template":
            out.lines.append(f"ベネサポ> [{message.get('altText', 'テンプレート')}]")
            _template(message.get("template", {}), out)
        elif kind == "flex":
            out.lines.append(f"ベネサポ> [{message.get('altText', 'Flex')}]")
            contents = message.get("contents", {})
            bubbles = (
                contents.get("contents", []) if contents.get("type") == "carousel" else [contents]
            )
            for i, bubble in enumerate(bubbles):
                if len(bubbles) > 1:
                    out.lines.append(f"  ({i + 1}/{len(bubbles)})")
                _bubble(bubble, out, "  ")
        else:
            out.lines.append(f"ベネサポ> [{kind} メッセージ]")
    last_quick = (messages[-1].get("quickReply") or {}).get("items", []) if messages else []
    if last_quick:
        out.lines.append("  クイックリプライ:")
        for item in last_quick:
            out.add_option(item.get("action", {}), "    ")
    return out


class ChatSession:
    """One simulated user's conversation over the emulator's control API."""

    def __init__(self, client: EmulatorClient, user_id: str, wait: float = 5.0) -> None:
        self.client = client
        self.user_id = user_id
        self.wait = wait
        self.last_seq = max((m["seq"] for m in client.inbox(user_id)), default=0)
        self.options: list[dict[str, Any]] = []

    def handle(self, line: str) -> list[str]:
        """Act on one input line; return the lines to print (the bot's answer)."""
        line = line.strip()
        if not line:
            return []
        if line.isdigit() and self.options:
            index = int(line) - 1
            if not 0 <= index < len(self.options):
                return [f"(1〜{len(self.options)} の番号を選んでください)"]
            return self.tap(self.options[index])
        if line.startswith("/postback "):
            result = self.client.send_postback(self.user_id, line[len("/postback ") :].strip())
        elif line == "/follow":
            result = self.client.follow(self.user_id)
        elif line == "/unfollow":
            result = self.client.unfollow(self.user_id)
        else:
            result = self.client.send_text(self.user_id, line)
        return self._problems(result) + self.collect()

    def tap(self, action: dict[str, Any]) -> list[str]:
        kind = action.get("type")
        if kind == "message":
            text = str(action.get("text", ""))
            return (
                [f"あなた> {text}"]
                + self._problems(self.client.send_text(self.user_id, text))
                + self.collect()
            )
        if kind == "postback":
            shown = action.get("displayText") or action.get("text")
            result = self.client.send_postback(
                self.user_id, str(action.get("data", "")), display_text=shown
            )
            head = [f"あなた> {shown}"] if shown else [f"(postback: {action.get('data')})"]
            return head + self._problems(result) + self.collect()
        if kind == "uri":
            uri = str(action.get("uri", ""))
            if uri.startswith(LIFF_URL_PREFIX):  # LINE opens it logged in as this user
                uri = self.client.liff_open_url(self.user_id, uri)
            return [f"(ブラウザで開いてください: {uri})"]
        return [f"(このアクションは端末では使えません: {kind})"]

    def _problems(self, result: dict[str, Any]) -> list[str]:
        if result.get("error"):
            return [f"(Bot に届きませんでした: {result['error']})"]
        status = result.get("status")
        if status is not None and status >= 300:
            return [f"(Bot の応答: HTTP {status})"]
        return []

    def collect(self) -> list[str]:
        """Wait up to `wait` seconds for the bot's messages, until they stop coming."""
        deadline = time.monotonic() + self.wait
        messages: list[dict[str, Any]] = []
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            new = self.client.inbox(self.user_id, after=self.last_seq)
            if new:
                messages.extend(new)
                self.last_seq = new[-1]["seq"]
                quiet_since = time.monotonic()
            elif messages and time.monotonic() - quiet_since >= SETTLE_SECONDS:
                break
            time.sleep(0.05)
        if not messages:
            return ["(応答がありません)"]
        rendered = render_messages([m["message"] for m in messages])
        self.options = rendered.options
        return rendered.lines


@click.command("chat")
@click.option(
    "--emulator",
    "emulator_url",
    default=lambda: os.environ.get("EMULATOR_URL", DEFAULT_EMULATOR_URL),
    show_default="$EMULATOR_URL or " + DEFAULT_EMULATOR_URL,
    help="Base URL of the running LINE emulator.",
)
@click.option(
    "--user",
    "user_name",
    default="デモユーザー",
    show_default=True,
    help="Display name of the simulated LINE user (created if new).",
)
@click.option(
    "--wait",
    type=float,
    default=5.0,
    show_default=True,
    help="Seconds to wait for the bot's answer to each line.",
)
def chat(emulator_url: str, user_name: str, wait: float) -> None:
    """Chat with the bot as a LINE user through the local LINE emulator."""
    client = EmulatorClient(emulator_url)
    try:
        user = client.create_user(user_name)
        session = ChatSession(client, user["user_id"], wait=wait)
    except EmulatorError as exc:
        raise click.ClickException(str(exc)) from exc
    interactive = sys.stdin.isatty()
    if interactive:
        who = f"{user['display_name']} ({user['user_id']})"
        click.echo(f"{who} として {emulator_url} に接続しました。")
        click.echo("番号でボタンを選択、/postback DATA、/follow、/unfollow、/quit で終了。")
    stream = sys.stdin
    while True:
        if interactive:
            click.echo("> ", nl=False)
        line = stream.readline()
        if not line or line.strip() in {"/quit", "/exit"}:
            break
        if not interactive and line.strip():
            click.echo(f"あなた> {line.strip()}")
        try:
            for out in session.handle(line):
                click.echo(out)
        except EmulatorError as exc:
            click.echo(f"(エミュレーターのエラー: {exc})", err=True)


COMMANDS = [chat]
