"""Pure builders for LINE message objects, as plain dicts in the Messaging API's JSON shape.

Handlers return these; only `adapters.line_client` turns them into SDK models and sends them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

Message = dict[str, Any]
Action = dict[str, Any]


def message_action(label: str, text: str | None = None) -> Action:
    return {"type": "message", "label": label, "text": text or label}


def postback_action(label: str, data: str, display_text: str | None = None) -> Action:
    action: Action = {"type": "postback", "label": label, "data": data}
    if display_text:
        action["displayText"] = display_text
    return action


def uri_action(label: str, uri: str) -> Action:
    return {"type": "uri", "label": label, "uri": uri}


def quick_reply(actions: Iterable[Action]) -> dict[str, Any]:
    return {"items": [{"type": "action", "action": a} for a in actions]}


def text(body: str, quick: Sequence[Action] | None = None) -> Message:
    message: Message = {"type": "text", "text": body}
    if quick:
        message["quickReply"] = quick_reply(quick)
    return message


def with_quick_reply(message: Message, quick: Sequence[Action]) -> Message:
    return {**message, "quickReply": quick_reply(quick)}


def buttons(
    alt_text: str, body: str, actions: Sequence[Action], title: str | None = None
) -> Message:
    template: dict[str, Any] = {"type": "buttons", "text": body, "actions": list(actions)}
    if title:
        template["title"] = title
    return {"type": "template", "altText": alt_text, "template": template}


def confirm(alt_text: str, body: str, yes: Action, no: Action) -> Message:
    return {
        "type": "template",
        "altText": alt_text,
        "template": {"type": "confirm", "text": body, "actions": [yes, no]},
    }


def flex(alt_text: str, contents: dict[str, Any]) -> Message:
    return {"type": "flex", "altText": alt_text, "contents": contents}


def carousel(bubbles: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "carousel", "contents": list(bubbles)}


def card(title: str, body: list[dict[str, Any]], footnote: str, button: Action) -> dict[str, Any]:
    """A one-bubble card: a bold title, the body's rows, a small right-aligned footnote (e.g.
    「2026年12月3日時点」) and one link button (the balance and expiry cards)."""
    footer_note = {
        "type": "text",
        "text": footnote,
        "size": "xxs",
        "color": "#AAAAAA",
        "margin": "lg",
        "align": "end",
    }
    return {
        "type": "bubble",
        "header": {
            "type": "box",
            "layout": "vertical",
            "contents": [{"type": "text", "text": title, "weight": "bold", "size": "lg"}],
        },
        "body": {"type": "box", "layout": "vertical", "contents": [*body, footer_note]},
        "footer": {
            "type": "box",
            "layout": "vertical",
            "contents": [{"type": "button", "style": "link", "height": "sm", "action": button}],
        },
    }
