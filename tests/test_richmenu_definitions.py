"""Rich menu definitions, their images and LINE's rules (no database, no LINE)."""

from __future__ import annotations

import copy
import io
from functools import cache, lru_cache

import pytest
from PIL import Image, ImageChops

from bot.handlers_registry import build_router
from common.textnorm import normalize
from richmenu import definitions as d
from richmenu import render, validate
from richmenu.definitions import DefinitionError
from richmenu.deploy import plan_pages

ISSUE_LABELS = {
    "none": ["連携する", "よくある質問", "お問い合わせ", "使い方"],
    "member": [
        "ポイント残高",
        "有効期限・履歴",
        "よくある質問",
        "お問い合わせ",
        "通知設定",
        "連携情報",
    ],
    "hr_contact": ["各種申請", "申請状況", "企業情報", "よくある質問", "お問い合わせ", "連携情報"],
}

TABBED = {
    "menus": {
        "guest": {
            "audience": "none",
            "chat_bar": "メニュー",
            "pages": [
                {
                    "alias": "t-guest",
                    "height": 843,
                    "rows": 1,
                    "columns": 2,
                    "buttons": [
                        {
                            "label": "連携する",
                            "glyph": "⇄",
                            "action": {"type": "postback", "data": "action=link"},
                        },
                        {"label": "使い方", "action": {"type": "message", "text": "使い方"}},
                    ],
                }
            ],
        },
        "member": {
            "audience": "member",
            "chat_bar": "ポイントとサポート",
            "pages": [
                {
                    "alias": "t-member-points",
                    "tab": "ポイント",
                    "height": 1686,
                    "rows": 2,
                    "columns": 2,
                    "buttons": [
                        {
                            "label": "ポイント残高",
                            "glyph": "Ｐ",
                            "action": {"type": "postback", "data": "action=balance"},
                        },
                        {
                            "label": "通知設定",
                            "glyph": "♪",
                            "action": {"type": "message", "text": "通知設定"},
                        },
                    ],
                },
                {
                    "alias": "t-member-support",
                    "tab": "サポート",
                    "height": 1686,
                    "rows": 2,
                    "columns": 2,
                    "buttons": [
                        {
                            "label": "よくある質問",
                            "glyph": "？",
                            "action": {"type": "postback", "data": "action=faq_menu"},
                        },
                        {
                            "label": "サイト",
                            "glyph": "◆",
                            "action": {"type": "uri", "uri": "https://example.jp/"},
                        },
                    ],
                },
            ],
        },
        "hr": {
            "audience": "hr_contact",
            "chat_bar": "メニュー",
            "pages": [
                {
                    "alias": "t-hr",
                    "height": 843,
                    "rows": 1,
                    "columns": 1,
                    "buttons": [
                        {
                            "label": "企業情報",
                            "action": {"type": "postback", "data": "action=company_info"},
                        }
                    ],
                }
            ],
        },
    }
}


@cache
def rendered(key: str, labels: bool = True) -> Image.Image:
    definitions = d.load()
    for menu, page in definitions.pages():
        if page.key == key:
            return render.render_page(menu, page, labels=labels)
    raise KeyError(key)


@lru_cache(maxsize=1)
def planned():
    return plan_pages(d.load())


@lru_cache(maxsize=1)
def planned_tabbed():
    return plan_pages(d.parse(copy.deepcopy(TABBED)))


def test_three_audiences_with_the_issues_buttons():
    definitions = d.load()
    assert sorted(m.audience for m in definitions.menus) == sorted(d.AUDIENCES)
    for audience, labels in ISSUE_LABELS.items():
        menu = definitions.by_audience(audience)
        assert [b.label for p in menu.pages for b in p.buttons] == labels
        assert 0 < len(menu.chat_bar) <= 14
        # Six buttons fit one page; tabs only when a page would need more.
        assert menu.tabbed is (len(labels) > 6)
        for page in menu.pages:
            assert len(page.buttons) <= page.rows * page.columns
            assert page.size in {(2500, 1686), (2500, 843)}
            assert all(b.glyph and render.has_glyph(b.glyph) for b in page.buttons)


def test_every_action_is_routed_by_the_dispatcher():
    router = build_router()
    keywords = {w for route in router.keywords for w in route.words}
    for _menu, page in d.load().pages():
        for button in page.buttons:
            action = button.action
            if action["type"] == "postback":
                name = dict(p.split("=", 1) for p in action["data"].split("&"))["action"]
                assert name in router.postbacks or name in d.EXTERNAL_POSTBACKS, name
                assert action.get("displayText") == button.label
            elif action["type"] == "message":
                assert normalize(action["text"]) in keywords, action
            else:
                assert action["type"] == "uri" and action["uri"].startswith("https://")
    assert set(d.EXTERNAL_POSTBACKS).isdisjoint({"link", "faq_menu", "inquiry", "howto"})


def test_areas_are_a_grid_inside_the_image():
    for menu, page in d.load().pages():
        areas = d.areas(menu, page)
        assert len(areas) == len(page.buttons) <= 20
        width, height = page.size
        covered = sum(a["bounds"]["width"] * a["bounds"]["height"] for a in areas)
        if len(page.buttons) == page.rows * page.columns:
            assert covered == width * height  # the whole image is tappable, no overlap
        for area in areas:
            b = area["bounds"]
            assert b["x"] + b["width"] <= width and b["y"] + b["height"] <= height


def test_images_are_line_ready_and_under_a_megabyte():
    for item in planned():
        assert item.content_type == "image/png"
        assert len(item.image) <= 1024 * 1024
        with Image.open(io.BytesIO(item.image)) as image:
            assert image.format == "PNG"
            assert image.size == item.page.size
        assert validate.problems(item.body, item.image, item.content_type) == []
        assert item.body["name"].startswith(f"benesapo:{item.page.key}:")


def test_every_label_is_drawn_inside_its_button():
    definitions = d.load()
    for menu, page in definitions.pages():
        with_labels = rendered(page.key)
        without = rendered(page.key, labels=False)
        tiles = render.layout(menu, page)
        for button, tile in zip(page.buttons, tiles, strict=True):
            box = tile.label_box
            cell = tile.bounds
            assert cell.x <= box[0] < box[2] <= cell.x + cell.width
            assert cell.y <= box[1] < box[3] <= cell.y + cell.height
            diff = ImageChops.difference(with_labels.crop(box), without.crop(box)).getbbox()
            assert diff is not None, f"{page.key}: {button.label} is not drawn"
            # Readable on a phone: about 16 px or more on a 375 px wide screen.
            assert tile.label_size * 375 / 2500 >= 8.4
        # Nothing of a label leaks outside the label boxes.
        whole = ImageChops.difference(with_labels, without)
        mask = Image.new("L", with_labels.size, 255)
        for tile in tiles:
            mask.paste(0, tile.label_box)
        assert ImageChops.multiply(whole.convert("L"), mask).getbbox() is None


def test_the_same_definitions_give_the_same_hash():
    first = plan_pages(d.load())
    assert [p.name for p in first] == [p.name for p in planned()]
    other = copy.deepcopy(TABBED)
    other["menus"]["hr"]["pages"][0]["buttons"][0]["label"] = "会社の情報"
    names = {p.page.key: p.name for p in planned_tabbed()}
    other_names = {p.page.key: p.name for p in plan_pages(d.parse(other))}
    assert names["hr"] != other_names["hr"]
    assert names["member"] == other_names["member"] and names["guest"] == other_names["guest"]


def test_tabbed_menu_switches_pages_through_aliases():
    definitions = d.parse(copy.deepcopy(TABBED))
    member = definitions.by_audience("member")
    assert member.tabbed and member.entry.alias == "t-member-points"
    first, second = member.pages
    switches = [a for a in d.areas(member, first) if a["action"]["type"] == "richmenuswitch"]
    assert switches == [
        {
            "bounds": {"x": 1250, "y": 0, "width": 1250, "height": d.TAB_BAR_HEIGHT},
            "action": {
                "type": "richmenuswitch",
                "richMenuAliasId": "t-member-support",
                "data": "action=richmenu_tab&page=t-member-support",
            },
        }
    ]
    back = [a for a in d.areas(member, second) if a["action"]["type"] == "richmenuswitch"]
    assert back[0]["action"]["richMenuAliasId"] == "t-member-points"
    # Buttons sit under the tab bar.
    assert min(b.y for b in d.button_bounds(member, first)) == d.TAB_BAR_HEIGHT
    for item in planned_tabbed():
        assert validate.problems(item.body, item.image, item.content_type) == []
    # The glyph-less button is drawn with its label's first character.
    assert definitions.by_audience("hr_contact").entry.buttons[0].glyph == ""


def test_tab_postback_is_routed_to_the_tab_handler():
    from richmenu.handler import tab_switched

    assert build_router().postbacks[d.TAB_ACTION] is tab_switched


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m["menus"].pop("hr"), "exactly one menu must have audience 'hr_contact'"),
        (
            lambda m: m["menus"]["hr"]["pages"][0].update(alias="t-guest"),
            "alias 't-guest' is used twice",
        ),
        (
            lambda m: m["menus"]["guest"]["pages"][0].update(columns=1),
            "2 buttons do not fit a 1x1 grid",
        ),
        (
            lambda m: m["menus"]["member"]["pages"][1].pop("tab"),
            "pages of a tabbed menu need a 'tab' label",
        ),
        (lambda m: m["menus"]["hr"].update(audience="boss"), "audience must be one of"),
        (
            lambda m: m["menus"]["hr"]["pages"][0]["buttons"][0].update(glyph="ab"),
            "is not one character",
        ),
    ],
)
def test_bad_definitions_are_refused(change, message):
    data = copy.deepcopy(TABBED)
    change(data)
    with pytest.raises(DefinitionError, match=message.replace("(", r"\(")):
        d.parse(data)


def good_body() -> tuple[dict, bytes]:
    item = planned()[0]
    return copy.deepcopy(item.body), item.image


def png(size: tuple[int, int], kind: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (255, 255, 255)).save(buffer, format=kind)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda b: b.update(chatBarText="メニューを開いてご利用ください"), "chatBarText"),
        (lambda b: b["size"].update(height=1000), "use 2500x1686 or 2500x843"),
        (lambda b: b["size"].update(width=700), "width must be 800-2500"),
        (lambda b: b["size"].update(width=1200, height=1000), "at least 1.45"),
        (lambda b: b.update(areas=b["areas"] * 6), "areas; at most 20"),
        (lambda b: b["areas"][0]["bounds"].update(x=2400), "not inside 2500x843"),
        (lambda b: b["areas"][0].update(action={"type": "postback", "data": ""}), "postback data"),
        (
            lambda b: b["areas"][0].update(
                action={"type": "richmenuswitch", "richMenuAliasId": "Bad Alias", "data": "x"}
            ),
            "richMenuAliasId",
        ),
        (lambda b: b.update(name=""), "name must be"),
    ],
)
def test_line_rules_reject_bad_menus(mutate, expected):
    body, _image = good_body()
    assert validate.problems(body) == []
    mutate(body)
    found = validate.problems(body)
    assert any(expected in p for p in found), found
    with pytest.raises(validate.RichMenuInvalid):
        validate.check(body)


def test_line_rules_reject_bad_images():
    body, image = good_body()
    size = (body["size"]["width"], body["size"]["height"])
    assert validate.image_problems(image, size, "image/png") == []
    assert "image is 2500x1686" in validate.image_problems(png((2500, 1686)), size)[0]
    assert "use PNG or JPEG" in validate.image_problems(png(size, "GIF"), size)[0]
    assert "sent as image/jpeg" in validate.image_problems(image, size, "image/jpeg")[0]
    assert validate.image_problems(b"not an image", size) == ["image is not a PNG or JPEG file"]
    big = image + b"\0" * (1024 * 1024)
    assert any("at most 1048576" in p for p in validate.image_problems(big, size))


def test_an_image_too_big_for_png_is_sent_as_a_jpeg_under_a_megabyte():
    noise = Image.effect_noise((625, 211), 90).convert("RGB").resize((2500, 843), Image.BICUBIC)
    data, content_type = render.encode(noise)
    assert content_type == "image/jpeg" and len(data) <= 1024 * 1024
    assert validate.image_problems(data, (2500, 843), content_type) == []


def test_preview_writes_one_image_per_page(tmp_path):
    from click.testing import CliRunner

    from bot.cli import cli

    result = CliRunner().invoke(cli, ["richmenu", "preview", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert files == ["guest.png", "hr.png", "member.png"]
    for name in files:
        with Image.open(tmp_path / "out" / name) as image:
            assert image.size[0] == 2500
