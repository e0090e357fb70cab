"""Rich menu definitions (data in `definitions.yaml`) and the LINE request bodies built from them.

A `MenuDef` is what one audience sees; each of its `PageDef`s becomes one LINE rich menu with
its own alias. Pages of a tabbed menu get a tab bar on top whose inactive tabs switch pages with
LINE's `richmenuswitch` action (postback data `action=richmenu_tab&page=<alias>`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

DEFINITIONS_FILE = Path(__file__).with_name("definitions.yaml")

WIDTH = 2500
HEIGHTS = (843, 1686)
TAB_BAR_HEIGHT = 200
AUDIENCES = ("none", "member", "hr_contact")
NAME_PREFIX = "benesapo:"
TAB_ACTION = "richmenu_tab"

# Postback actions the points handlers own (routed once those are registered).
EXTERNAL_POSTBACKS = frozenset({"balance", "history"})


class DefinitionError(ValueError):
    """The definitions file is not usable; the message names the menu and field."""


@dataclass(frozen=True)
class Button:
    label: str
    glyph: str
    action: dict[str, Any]


@dataclass(frozen=True)
class Bounds:
    x: int
    y: int
    width: int
    height: int

    def to_dict(self) -> dict[str, int]:
        return {"x": self.x, "y": self.y, "width": self.width, "height": self.height}


@dataclass(frozen=True)
class PageDef:
    menu_key: str
    index: int
    alias: str
    tab: str | None
    height: int
    rows: int
    columns: int
    buttons: tuple[Button, ...]

    @property
    def key(self) -> str:
        """`member` for a one-page menu, `member-2` for a tabbed menu's second page."""
        return self.menu_key if self.index == 0 else f"{self.menu_key}-{self.index + 1}"

    @property
    def size(self) -> tuple[int, int]:
        return WIDTH, self.height


@dataclass(frozen=True)
class MenuDef:
    key: str
    audience: str
    chat_bar: str
    pages: tuple[PageDef, ...]

    @property
    def tabbed(self) -> bool:
        return len(self.pages) > 1

    @property
    def entry(self) -> PageDef:
        """The page users are linked to (the first tab)."""
        return self.pages[0]


@dataclass(frozen=True)
class Definitions:
    menus: tuple[MenuDef, ...]

    def by_audience(self, audience: str) -> MenuDef:
        for menu in self.menus:
            if menu.audience == audience:
                return menu
        raise KeyError(audience)

    def pages(self) -> list[tuple[MenuDef, PageDef]]:
        return [(menu, page) for menu in self.menus for page in menu.pages]


# -- loading ---------------------------------------------------------------------------------


def _require(mapping: dict[str, Any], key: str, where: str) -> Any:
    if key not in mapping or mapping[key] in (None, ""):
        raise DefinitionError(f"{where}: '{key}' is required")
    return mapping[key]


def parse(data: dict[str, Any]) -> Definitions:
    menus_data = data.get("menus")
    if not isinstance(menus_data, dict) or not menus_data:
        raise DefinitionError("'menus' must map menu keys to menus")
    menus: list[MenuDef] = []
    for key, raw in menus_data.items():
        where = f"menus.{key}"
        if not isinstance(raw, dict):
            raise DefinitionError(f"{where}: must be a mapping")
        audience = str(_require(raw, "audience", where))
        if audience not in AUDIENCES:
            raise DefinitionError(f"{where}: audience must be one of {', '.join(AUDIENCES)}")
        pages_data = _require(raw, "pages", where)
        if not isinstance(pages_data, list):
            raise DefinitionError(f"{where}.pages: must be a list")
        pages: list[PageDef] = []
        for index, page in enumerate(pages_data):
            pwhere = f"{where}.pages[{index}]"
            buttons = tuple(
                Button(
                    label=str(_require(b, "label", f"{pwhere}.buttons[{i}]")),
                    glyph=str(b.get("glyph") or ""),
                    action=dict(_require(b, "action", f"{pwhere}.buttons[{i}]")),
                )
                for i, b in enumerate(_require(page, "buttons", pwhere))
            )
            pages.append(
                PageDef(
                    menu_key=str(key),
                    index=index,
                    alias=str(_require(page, "alias", pwhere)),
                    tab=str(page["tab"]) if page.get("tab") else None,
                    height=int(_require(page, "height", pwhere)),
                    rows=int(_require(page, "rows", pwhere)),
                    columns=int(_require(page, "columns", pwhere)),
                    buttons=buttons,
                )
            )
        menus.append(
            MenuDef(str(key), audience, str(_require(raw, "chat_bar", where)), tuple(pages))
        )
    definitions = Definitions(tuple(menus))
    check(definitions)
    return definitions


def load(path: Path | str | None = None) -> Definitions:
    source = Path(path) if path is not None else DEFINITIONS_FILE
    with source.open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    if not isinstance(data, dict):
        raise DefinitionError(f"{source}: not a mapping")
    return parse(data)


def check(definitions: Definitions) -> None:
    """Structural rules of our own (LINE's rules are in `richmenu.validate`)."""
    audiences = [m.audience for m in definitions.menus]
    for audience in AUDIENCES:
        if audiences.count(audience) != 1:
            raise DefinitionError(f"exactly one menu must have audience '{audience}'")
    aliases: set[str] = set()
    for menu in definitions.menus:
        if not menu.pages:
            raise DefinitionError(f"menus.{menu.key}: has no pages")
        for page in menu.pages:
            where = f"menus.{menu.key}.pages[{page.index}]"
            if page.alias in aliases:
                raise DefinitionError(f"{where}: alias {page.alias!r} is used twice")
            aliases.add(page.alias)
            if menu.tabbed and not page.tab:
                raise DefinitionError(f"{where}: pages of a tabbed menu need a 'tab' label")
            if page.rows < 1 or page.columns < 1:
                raise DefinitionError(f"{where}: rows and columns must be at least 1")
            if len(page.buttons) > page.rows * page.columns:
                raise DefinitionError(
                    f"{where}: {len(page.buttons)} buttons do not fit a "
                    f"{page.rows}x{page.columns} grid"
                )
            if not page.buttons:
                raise DefinitionError(f"{where}: has no buttons")
            for button in page.buttons:
                if not button.label.strip():
                    raise DefinitionError(f"{where}: a button has an empty label")
                if len(button.glyph) > 1:
                    raise DefinitionError(f"{where}: glyph {button.glyph!r} is not one character")


# -- geometry and request bodies -------------------------------------------------------------


def grid_top(menu: MenuDef, page: PageDef) -> int:
    return TAB_BAR_HEIGHT if menu.tabbed else 0


def button_bounds(menu: MenuDef, page: PageDef) -> list[Bounds]:
    """The cells of the page's grid, row by row; the last column/row takes the remainder."""
    top = grid_top(menu, page)
    width, height = page.size
    cell_w = width // page.columns
    cell_h = (height - top) // page.rows
    cells: list[Bounds] = []
    for index in range(len(page.buttons)):
        row, col = divmod(index, page.columns)
        x, y = col * cell_w, top + row * cell_h
        w = width - x if col == page.columns - 1 else cell_w
        h = height - y if row == page.rows - 1 else cell_h
        cells.append(Bounds(x, y, w, h))
    return cells


def tab_bounds(menu: MenuDef, page: PageDef) -> list[Bounds]:
    if not menu.tabbed:
        return []
    count = len(menu.pages)
    tab_w = WIDTH // count
    return [
        Bounds(i * tab_w, 0, WIDTH - i * tab_w if i == count - 1 else tab_w, TAB_BAR_HEIGHT)
        for i in range(count)
    ]


def tab_action(target: PageDef) -> dict[str, Any]:
    return {
        "type": "richmenuswitch",
        "richMenuAliasId": target.alias,
        "data": f"action={TAB_ACTION}&page={target.alias}",
    }


def areas(menu: MenuDef, page: PageDef) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    tabs = zip(menu.pages, tab_bounds(menu, page), strict=True) if menu.tabbed else []
    for target, bounds in tabs:
        if target.index != page.index:  # the active tab does nothing
            found.append({"bounds": bounds.to_dict(), "action": tab_action(target)})
    for button, bounds in zip(page.buttons, button_bounds(menu, page), strict=True):
        found.append({"bounds": bounds.to_dict(), "action": dict(button.action)})
    return found


def request_body(menu: MenuDef, page: PageDef, name: str = "") -> dict[str, Any]:
    """The `POST /v2/bot/richmenu` body (name filled in by the deploy, with the content hash)."""
    width, height = page.size
    return {
        "size": {"width": width, "height": height},
        "selected": False,
        "name": name,
        "chatBarText": menu.chat_bar,
        "areas": areas(menu, page),
    }


def content_hash(body: dict[str, Any], image: bytes) -> str:
    """What identifies a deployed menu: its body (without the name) and its image."""
    unnamed = {k: v for k, v in body.items() if k != "name"}
    digest = hashlib.sha256(json.dumps(unnamed, sort_keys=True, ensure_ascii=False).encode())
    digest.update(hashlib.sha256(image).digest())
    return digest.hexdigest()[:16]


def menu_name(page: PageDef, digest: str) -> str:
    return f"{NAME_PREFIX}{page.key}:{digest}"


def parse_name(name: str) -> tuple[str, str] | None:
    """(page key, hash) of a name we gave, else None (a menu someone else made)."""
    if not name.startswith(NAME_PREFIX):
        return None
    key, _, digest = name[len(NAME_PREFIX) :].rpartition(":")
    return (key, digest) if key and digest else None
