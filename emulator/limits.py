"""LINE's limits on the messages it is sent, as LINE checks them: the emulator's own table.

Written from LINE's documentation (Messaging API reference, "Message objects", "Action objects",
"Quick reply", "Flex Message elements") and /work/shared/line-spec/messaging-api.yml where the
spec states a bound (multicast recipients, messages per request, quick reply items, postback
data). It deliberately shares nothing with the bot's `adapters.line_limits`: were the bot's table
wrong, the emulator would still refuse what LINE refuses, and a test would catch it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

MAX_MESSAGES = 5
MAX_TEXT = 5000
MAX_ALT_TEXT = 1500
MAX_QUICK_REPLY_ITEMS = 13
MAX_ACTION_LABEL = 20
MAX_POSTBACK_DATA = 300
MAX_DISPLAY_TEXT = 300
MAX_URI = 1000
MAX_BUTTONS_TEXT = 160
MAX_BUTTONS_TEXT_WITH_TITLE = 60
MAX_BUTTONS_TITLE = 40
MAX_BUTTONS_ACTIONS = 4
MAX_CONFIRM_TEXT = 240
MAX_CAROUSEL_BUBBLES = 12
MAX_BUBBLE_JSON_BYTES = 30_000
MAX_CAROUSEL_JSON_BYTES = 50_000
MAX_MULTICAST_RECIPIENTS = 500


class MessageLimitError(ValueError):
    """An outgoing message breaks one of LINE's limits."""


def text_length(value: str) -> int:
    """LINE counts characters as UTF-16 code units (an emoji outside the BMP counts twice)."""
    return len(value.encode("utf-16-le")) // 2


def _require(condition: bool, what: str) -> None:
    if not condition:
        raise MessageLimitError(what)


def check_action(action: dict[str, Any], where: str, *, label_required: bool = True) -> None:
    kind = action.get("type")
    label = action.get("label")
    if label_required or label is not None:
        _require(
            isinstance(label, str) and 0 < text_length(label) <= MAX_ACTION_LABEL,
            f"{where}: action label must be 1-{MAX_ACTION_LABEL} characters: {label!r}",
        )
    if kind == "postback":
        data = action.get("data", "")
        _require(
            0 < text_length(data) <= MAX_POSTBACK_DATA,
            f"{where}: postback data must be 1-{MAX_POSTBACK_DATA} characters",
        )
        if "displayText" in action:
            _require(
                text_length(action["displayText"]) <= MAX_DISPLAY_TEXT,
                f"{where}: displayText over {MAX_DISPLAY_TEXT} characters",
            )
    elif kind == "message":
        _require(
            0 < text_length(action.get("text", "")) <= MAX_DISPLAY_TEXT,
            f"{where}: message action text must be 1-{MAX_DISPLAY_TEXT} characters",
        )
    elif kind == "uri":
        _require(0 < len(action.get("uri", "")) <= MAX_URI, f"{where}: uri must be 1-{MAX_URI}")
    elif kind == "datetimepicker":
        _check_datetimepicker(action, where)


# LINE's datetime picker: values by mode, from 1900-01-01T00:00 to 2100-12-31T23:59.
_PICKER_FORMATS = {
    "date": re.compile(r"\d{4}-\d{2}-\d{2}"),
    "time": re.compile(r"\d{2}:\d{2}"),
    "datetime": re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}"),
}
_PICKER_PARSE = {"date": "%Y-%m-%d", "time": "%H:%M", "datetime": "%Y-%m-%dT%H:%M"}
_PICKER_RANGE = {
    "date": ("1900-01-01", "2100-12-31"),
    "time": ("00:00", "23:59"),
    "datetime": ("1900-01-01T00:00", "2100-12-31T23:59"),
}


def _check_datetimepicker(action: dict[str, Any], where: str) -> None:
    data = action.get("data")
    _require(
        isinstance(data, str) and text_length(data) <= MAX_POSTBACK_DATA,
        f"{where}: datetimepicker data must be a string of at most {MAX_POSTBACK_DATA} characters",
    )
    mode = action.get("mode")
    _require(mode in _PICKER_FORMATS, f"{where}: datetimepicker mode must be date/time/datetime")
    values: dict[str, str] = {}
    for key in ("initial", "min", "max"):
        if key not in action:
            continue
        value = str(action[key]).replace("t", "T")
        low, high = _PICKER_RANGE[mode]
        try:
            well_formed = bool(_PICKER_FORMATS[mode].fullmatch(value))
            datetime.strptime(value, _PICKER_PARSE[mode])
        except ValueError:
            well_formed = False
        _require(
            well_formed and low <= value <= high,
            f"{where}: datetimepicker {key} {action[key]!r} is not a {mode} in {low}..{high}",
        )
        values[key] = value
    if "min" in values and "max" in values:
        _require(values["min"] < values["max"], f"{where}: datetimepicker max must be after min")
    if "initial" in values:
        _require(
            values.get("min", values["initial"]) <= values["initial"]
            and values["initial"] <= values.get("max", values["initial"]),
            f"{where}: datetimepicker initial must lie between min and max",
        )


def _check_flex_actions(node: Any, where: str) -> None:
    if isinstance(node, dict):
        action = node.get("action")
        if isinstance(action, dict):
            check_action(action, where, label_required=False)
        for value in node.values():
            _check_flex_actions(value, where)
    elif isinstance(node, list):
        for value in node:
            _check_flex_actions(value, where)


def check_message(message: dict[str, Any], where: str = "message") -> None:
    kind = message.get("type")
    if kind == "text":
        body = message.get("text", "")
        _require(
            0 < text_length(body) <= MAX_TEXT, f"{where}: text must be 1-{MAX_TEXT} characters"
        )
    elif kind in {"template", "flex"}:
        alt = message.get("altText", "")
        _require(
            0 < text_length(alt) <= MAX_ALT_TEXT,
            f"{where}: altText must be 1-{MAX_ALT_TEXT} characters",
        )
    if kind == "template":
        _check_template(message.get("template", {}), where)
    if kind == "flex":
        contents = message.get("contents", {})
        size = len(json.dumps(contents, ensure_ascii=False).encode())
        if contents.get("type") == "carousel":
            _require(
                len(contents.get("contents", [])) <= MAX_CAROUSEL_BUBBLES,
                f"{where}: a carousel holds at most {MAX_CAROUSEL_BUBBLES} bubbles",
            )
            _require(size <= MAX_CAROUSEL_JSON_BYTES, f"{where}: carousel JSON too large")
        else:
            _require(size <= MAX_BUBBLE_JSON_BYTES, f"{where}: bubble JSON too large")
        _check_flex_actions(contents, where)
    quick = message.get("quickReply")
    if quick is not None:
        items = quick.get("items", [])
        _require(
            0 < len(items) <= MAX_QUICK_REPLY_ITEMS,
            f"{where}: quick reply must have 1-{MAX_QUICK_REPLY_ITEMS} items",
        )
        for i, item in enumerate(items):
            check_action(item.get("action", {}), f"{where}.quickReply[{i}]")


def _check_template(template: dict[str, Any], where: str) -> None:
    kind = template.get("type")
    actions = template.get("actions", [])
    if kind == "buttons":
        limit = MAX_BUTTONS_TEXT_WITH_TITLE if template.get("title") else MAX_BUTTONS_TEXT
        _require(
            0 < text_length(template.get("text", "")) <= limit,
            f"{where}: buttons text must be 1-{limit} characters",
        )
        if template.get("title"):
            _require(
                text_length(template["title"]) <= MAX_BUTTONS_TITLE,
                f"{where}: buttons title over {MAX_BUTTONS_TITLE} characters",
            )
        _require(
            0 < len(actions) <= MAX_BUTTONS_ACTIONS,
            f"{where}: buttons need 1-{MAX_BUTTONS_ACTIONS} actions",
        )
    elif kind == "confirm":
        _require(
            0 < text_length(template.get("text", "")) <= MAX_CONFIRM_TEXT,
            f"{where}: confirm text must be 1-{MAX_CONFIRM_TEXT} characters",
        )
        _require(len(actions) == 2, f"{where}: confirm needs exactly 2 actions")
    for i, action in enumerate(actions):
        check_action(action, f"{where}.actions[{i}]")


def check_messages(messages: Sequence[dict[str, Any]]) -> None:
    _require(
        0 < len(messages) <= MAX_MESSAGES, f"send 1-{MAX_MESSAGES} messages, not {len(messages)}"
    )
    for i, message in enumerate(messages):
        check_message(message, f"messages[{i}]")


def check_recipients(to: Sequence[str]) -> None:
    _require(
        0 < len(to) <= MAX_MULTICAST_RECIPIENTS,
        f"multicast takes 1-{MAX_MULTICAST_RECIPIENTS} recipients, not {len(to)}",
    )
