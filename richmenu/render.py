"""Rich menu images drawn from the definitions with Pillow and a Japanese font.

`render_page` draws one page (tab bar, then a grid of tiles: a round icon with the button's
glyph and its label); `encode` makes LINE-ready bytes (PNG, or JPEG if the PNG were over 1 MB).
"""

from __future__ import annotations

import io
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from richmenu.definitions import (
    Bounds,
    Definitions,
    MenuDef,
    PageDef,
    button_bounds,
    tab_bounds,
)

MAX_IMAGE_BYTES = 1024 * 1024
FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf",
    "/usr/share/fonts/truetype/fonts-japanese-gothic.ttf",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
)

BACKGROUND = (238, 243, 240)
TILE = (255, 255, 255)
TILE_BORDER = (214, 222, 218)
ICON = (6, 199, 85)  # LINE green
ICON_TEXT = (255, 255, 255)
LABEL = (34, 43, 38)
TAB_ACTIVE = (6, 199, 85)
TAB_ACTIVE_TEXT = (255, 255, 255)
TAB_IDLE = (220, 228, 224)
TAB_IDLE_TEXT = (70, 82, 76)
MARGIN = 18
MAX_LABEL_SIZE = 112
MIN_LABEL_SIZE = 56


class FontMissing(RuntimeError):
    """No Japanese font is installed (`make install` installs fonts-ipafont-gothic)."""


@lru_cache(maxsize=1)
def font_path() -> str:
    for candidate in FONT_CANDIDATES:
        if Path(candidate).is_file():
            return candidate
    if shutil.which("fc-match"):
        found = subprocess.run(
            ["fc-match", "-f", "%{file}", ":lang=ja"],
            capture_output=True,
            text=True,
            check=False,
            timeout=10,
        ).stdout.strip()
        if found and Path(found).is_file() and not found.endswith((".pcf.gz", ".pfb")):
            return found
    raise FontMissing(
        "no Japanese font found: install fonts-ipafont-gothic (apt-get install -y "
        "fonts-ipafont-gothic) or run `make install`"
    )


@lru_cache(maxsize=64)
def font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(font_path(), size)


@lru_cache(maxsize=256)
def has_glyph(char: str) -> bool:
    """False when the font would draw its 'missing glyph' box for `char`."""
    probe = font(64)
    missing = probe.getmask("\ue000")  # a private-use code point: never in the font
    mask = probe.getmask(char)
    return (mask.size, bytes(mask)) != (missing.size, bytes(missing))


@dataclass(frozen=True)
class Tile:
    """Where one button's parts are drawn (image coordinates)."""

    bounds: Bounds
    icon: tuple[int, int, int, int]  # the icon's circle box
    label_xy: tuple[int, int]  # the label's anchor point (middle-left or middle)
    label_anchor: str  # Pillow anchor: "mm" (under the icon) or "lm" (right of it)
    label_size: int
    label_box: tuple[int, int, int, int]  # where the label's ink may be


def _fit(label: str, start: int, max_width: int) -> int:
    size = start
    while size > MIN_LABEL_SIZE and font(size).getlength(label) > max_width:
        size -= 4
    return size


def layout(menu: MenuDef, page: PageDef) -> list[Tile]:
    tiles: list[Tile] = []
    for button, cell in zip(page.buttons, button_bounds(menu, page), strict=True):
        inner_w = cell.width - 2 * MARGIN
        inner_h = cell.height - 2 * MARGIN
        x0, y0 = cell.x + MARGIN, cell.y + MARGIN
        if inner_w > 2 * inner_h:  # a wide cell: icon on the left, label on the right
            diameter = int(inner_h * 0.56)
            icon_x = x0 + int(inner_h * 0.24)
            icon_y = y0 + (inner_h - diameter) // 2
            text_x = icon_x + diameter + int(inner_h * 0.18)
            size = _fit(button.label, MAX_LABEL_SIZE, x0 + inner_w - text_x - MARGIN)
            xy = (text_x, y0 + inner_h // 2)
            anchor = "lm"
            box = (text_x, y0, x0 + inner_w, y0 + inner_h)
        else:  # icon on top, label under it
            diameter = int(min(inner_h * 0.42, inner_w * 0.5))
            icon_x = x0 + (inner_w - diameter) // 2
            icon_y = y0 + int(inner_h * 0.14)
            size = _fit(button.label, MAX_LABEL_SIZE, inner_w - 2 * MARGIN)
            label_top = icon_y + diameter
            xy = (x0 + inner_w // 2, label_top + (y0 + inner_h - label_top) // 2)
            anchor = "mm"
            box = (x0, label_top, x0 + inner_w, y0 + inner_h)
        tiles.append(
            Tile(
                bounds=cell,
                icon=(icon_x, icon_y, icon_x + diameter, icon_y + diameter),
                label_xy=xy,
                label_anchor=anchor,
                label_size=size,
                label_box=box,
            )
        )
    return tiles


def _draw_tabs(draw: ImageDraw.ImageDraw, menu: MenuDef, page: PageDef) -> None:
    if not menu.tabbed:
        return
    for target, bounds in zip(menu.pages, tab_bounds(menu, page), strict=True):
        active = target.index == page.index
        draw.rectangle(
            (bounds.x, bounds.y, bounds.x + bounds.width - 1, bounds.y + bounds.height - 1),
            fill=TAB_ACTIVE if active else TAB_IDLE,
        )
        color = TAB_ACTIVE_TEXT if active else TAB_IDLE_TEXT
        label = target.tab or ""
        size = _fit(label, 96, bounds.width - 4 * MARGIN)
        center = (bounds.x + bounds.width // 2, bounds.y + bounds.height // 2)
        draw.text(
            center,
            label,
            font=font(size),
            fill=color,
            anchor="mm",
            stroke_width=1,
            stroke_fill=color,
        )


def render_page(menu: MenuDef, page: PageDef, *, labels: bool = True) -> Image.Image:
    """The page's image; `labels=False` leaves the labels out (to check each one is drawn)."""
    image = Image.new("RGB", page.size, BACKGROUND)
    draw = ImageDraw.Draw(image)
    _draw_tabs(draw, menu, page)
    for button, tile in zip(page.buttons, layout(menu, page), strict=True):
        cell = tile.bounds
        draw.rounded_rectangle(
            (
                cell.x + MARGIN,
                cell.y + MARGIN,
                cell.x + cell.width - MARGIN,
                cell.y + cell.height - MARGIN,
            ),
            radius=36,
            fill=TILE,
            outline=TILE_BORDER,
            width=4,
        )
        draw.ellipse(tile.icon, fill=ICON)
        glyph = button.glyph if button.glyph and has_glyph(button.glyph) else button.label[0]
        diameter = tile.icon[2] - tile.icon[0]
        center = ((tile.icon[0] + tile.icon[2]) // 2, (tile.icon[1] + tile.icon[3]) // 2)
        draw.text(center, glyph, font=font(int(diameter * 0.56)), fill=ICON_TEXT, anchor="mm")
        if labels:
            draw.text(
                tile.label_xy,
                button.label,
                font=font(tile.label_size),
                fill=LABEL,
                anchor=tile.label_anchor,
                stroke_width=2,  # a little weight: IPA Gothic has no bold
                stroke_fill=LABEL,
            )
    return image


def encode(image: Image.Image) -> tuple[bytes, str]:
    """(bytes, content type): PNG, or JPEG at the best quality that fits LINE's 1 MB."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=6)
    if buffer.tell() <= MAX_IMAGE_BYTES:
        return buffer.getvalue(), "image/png"
    for quality in (92, 85, 75, 65, 50):
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, format="JPEG", quality=quality, optimize=True)
        if buffer.tell() <= MAX_IMAGE_BYTES:
            return buffer.getvalue(), "image/jpeg"
    raise ValueError("the image does not fit in 1 MB even as a JPEG")


@dataclass(frozen=True)
class RenderedPage:
    menu: MenuDef
    page: PageDef
    image: bytes
    content_type: str

    @property
    def filename(self) -> str:
        return f"{self.page.key}.{'png' if self.content_type == 'image/png' else 'jpg'}"


def render_all(definitions: Definitions) -> list[RenderedPage]:
    rendered: list[RenderedPage] = []
    for menu, page in definitions.pages():
        data, content_type = encode(render_page(menu, page))
        rendered.append(RenderedPage(menu, page, data, content_type))
    return rendered


def write_previews(definitions: Definitions, directory: Path | str) -> list[Path]:
    """`benesapo richmenu preview DIR`: one image per page, for review."""
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for page in render_all(definitions):
        path = target / page.filename
        path.write_bytes(page.image)
        written.append(path)
    return written
