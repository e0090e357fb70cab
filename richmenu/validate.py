"""LINE's rules for a rich menu and its image, checked before anything is uploaded.

`problems(body, image)` lists every broken rule (empty when fine); `check(body, image)` raises
`RichMenuInvalid` with all of them. The emulator applies LINE's own rules
(`emulator/richmenu_rules.py`, without our size policy).
"""

from __future__ import annotations

import io
from typing import Any

from PIL import Image, UnidentifiedImageError

from adapters.line_client import validate_request
from adapters.line_limits import MessageLimitError

MAX_IMAGE_BYTES = 1024 * 1024
MAX_AREAS = 20
MAX_CHAT_BAR = 14
MAX_NAME = 300
MAX_MENUS = 1000
# Our policy: LINE's two standard sizes (LINE itself accepts 800-2500 wide, >= 250 high,
# width / height >= 1.45).
ALLOWED_SIZES = frozenset({(2500, 1686), (2500, 843)})
MIN_WIDTH, MAX_WIDTH, MIN_HEIGHT, MIN_ASPECT = 800, 2500, 250, 1.45
IMAGE_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg"}
ALIAS_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_-")


class RichMenuInvalid(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def size_problems(width: int, height: int, *, strict: bool = True) -> list[str]:
    found = []
    if not (MIN_WIDTH <= width <= MAX_WIDTH) or height < MIN_HEIGHT:
        found.append(f"size {width}x{height}: width must be 800-2500 and height at least 250")
    elif width / height < MIN_ASPECT:
        found.append(f"size {width}x{height}: width / height must be at least {MIN_ASPECT}")
    if strict and (width, height) not in ALLOWED_SIZES:
        found.append(f"size {width}x{height}: use 2500x1686 or 2500x843")
    return found


def image_problems(
    image: bytes, size: tuple[int, int], content_type: str | None = None
) -> list[str]:
    """PNG or JPEG, at most 1 MB, exactly the menu's size."""
    found = []
    if len(image) > MAX_IMAGE_BYTES:
        found.append(f"image is {len(image)} bytes; at most {MAX_IMAGE_BYTES}")
    try:
        with Image.open(io.BytesIO(image)) as opened:
            kind, dimensions = opened.format, opened.size
    except (UnidentifiedImageError, OSError):
        return [*found, "image is not a PNG or JPEG file"]
    if kind not in IMAGE_TYPES:
        found.append(f"image is {kind}; use PNG or JPEG")
    elif content_type is not None and content_type != IMAGE_TYPES[kind]:
        found.append(f"image is {kind} but sent as {content_type}")
    if dimensions != tuple(size):
        found.append(f"image is {dimensions[0]}x{dimensions[1]}; the menu is {size[0]}x{size[1]}")
    return found


def _action_problems(where: str, action: Any) -> list[str]:
    if not isinstance(action, dict) or not action.get("type"):
        return [f"{where}: an action with a type is required"]
    kind = action["type"]
    found = []
    if kind == "postback" and not (0 < len(str(action.get("data", ""))) <= 300):
        found.append(f"{where}: postback data must be 1-300 characters")
    if kind == "message" and not (0 < len(str(action.get("text", ""))) <= 300):
        found.append(f"{where}: message text must be 1-300 characters")
    if kind == "uri" and not str(action.get("uri", "")).startswith(("https://", "http://", "tel:")):
        found.append(f"{where}: uri must be http(s) or tel")
    if kind == "richmenuswitch":
        alias = str(action.get("richMenuAliasId", ""))
        if not (0 < len(alias) <= 32) or not set(alias) <= ALIAS_CHARS:
            found.append(f"{where}: richMenuAliasId must be 1-32 of [a-z0-9_-]")
        if not (0 < len(str(action.get("data", ""))) <= 300):
            found.append(f"{where}: richmenuswitch data must be 1-300 characters")
    if len(str(action.get("displayText", ""))) > 300:
        found.append(f"{where}: displayText is over 300 characters")
    return found


def body_problems(body: dict[str, Any], *, strict: bool = True) -> list[str]:
    """The rich menu object: size, chat bar text, name, areas (count, inside, actions)."""
    found: list[str] = []
    try:
        validate_request("richmenu", body)
    except MessageLimitError as exc:
        found.append(str(exc))
    size = body.get("size") or {}
    width, height = int(size.get("width") or 0), int(size.get("height") or 0)
    found.extend(size_problems(width, height, strict=strict))
    chat_bar = body.get("chatBarText")
    if not isinstance(chat_bar, str) or not (0 < len(chat_bar) <= MAX_CHAT_BAR):
        found.append(f"chatBarText must be 1-{MAX_CHAT_BAR} characters")
    if not isinstance(body.get("selected"), bool):
        found.append("selected must be true or false")
    if not isinstance(body.get("name"), str) or not (0 < len(body["name"]) <= MAX_NAME):
        found.append(f"name must be 1-{MAX_NAME} characters")
    areas = body.get("areas")
    if not isinstance(areas, list):
        return [*found, "areas must be a list"]
    if len(areas) > MAX_AREAS:
        found.append(f"{len(areas)} areas; at most {MAX_AREAS}")
    for index, area in enumerate(areas):
        where = f"areas[{index}]"
        bounds = area.get("bounds") if isinstance(area, dict) else None
        if not isinstance(bounds, dict):
            found.append(f"{where}: bounds are required")
            continue
        try:
            x, y = int(bounds["x"]), int(bounds["y"])
            w, h = int(bounds["width"]), int(bounds["height"])
        except (KeyError, TypeError, ValueError):
            found.append(f"{where}: bounds need x, y, width and height")
            continue
        if x < 0 or y < 0 or w < 1 or h < 1 or x + w > width or y + h > height:
            found.append(f"{where}: bounds {x},{y} {w}x{h} are not inside {width}x{height}")
        found.extend(_action_problems(f"{where}.action", area.get("action")))
    return found


def problems(
    body: dict[str, Any], image: bytes | None = None, content_type: str | None = None
) -> list[str]:
    found = body_problems(body)
    if image is not None:
        size = body.get("size") or {}
        found.extend(
            image_problems(
                image, (int(size.get("width", 0)), int(size.get("height", 0))), content_type
            )
        )
    return found


def check(
    body: dict[str, Any], image: bytes | None = None, content_type: str | None = None
) -> None:
    found = problems(body, image, content_type)
    if found:
        raise RichMenuInvalid(found)
