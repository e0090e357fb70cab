"""Rich menus: LINE's endpoints (`richmenu_api`) and the emulator's controls for them.

LINE's side, as LINE answers: create / validate (the body checked with the SDK's model and
LINE's rules), the image upload on the DATA API paths (PNG or JPEG, at most 1 MB, exactly the
menu's size, never replaced), list / get / delete, the default menu, linking to one user or in
bulk (at most 500), and aliases. At most 1000 menus a channel. Every JSON body is checked with
the SDK's own request model (`emulator.messaging.validated`) before LINE's further rules.

The controls (`/_emulator/...`, no auth) serve the chat page: the menu a user sees now (linked,
else the default) with its image, and a tap on one of its areas, which runs the area's action
as LINE would (a message or postback event; a `richmenuswitch` switches the user's menu
through the alias and sends the postback with `params.newRichMenuAliasId`).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request
from flask.typing import ResponseReturnValue

from emulator import webhook
from emulator.common import get_state, line_error
from emulator.messaging import body_errors, json_body, malformed_user_ids, not_json, validated
from emulator.richmenu_rules import (
    IMAGE_TYPES,
    MAX_IMAGE_BYTES,
    MAX_MENUS,
    body_problems,
    image_problems,
)
from emulator.state import USER_ID_RE

richmenu_api = Blueprint("richmenu_api", __name__)
richmenu_control = Blueprint("richmenu_control", __name__, url_prefix="/_emulator")

NOT_FOUND = "Not found"
NO_IMAGE = "must upload richmenu image before applying it to user"


def _problems(problems: list[str]) -> ResponseReturnValue:
    return body_errors([{"message": p} for p in problems])


def _outcome(outcome: str) -> ResponseReturnValue:
    if outcome == "ok":
        return jsonify({})
    if outcome == "no_image":
        return line_error(400, NO_IMAGE)
    return line_error(404, NOT_FOUND)


def _checked_menu() -> tuple[dict[str, Any] | None, ResponseReturnValue | None]:
    body = json_body()
    if body is None:
        return None, not_json()
    problems = body_problems(body)
    if problems:
        return None, _problems(problems)
    return body, None


# -- LINE's endpoints ------------------------------------------------------------------------


@richmenu_api.post("/v2/bot/richmenu")
def create() -> ResponseReturnValue:
    body, error = _checked_menu()
    if error is not None:
        return error
    assert body is not None
    rich_menu_id = get_state().create_rich_menu(body, MAX_MENUS)
    if rich_menu_id is None:
        return line_error(400, f"The maximum number of rich menus ({MAX_MENUS}) is reached")
    return jsonify({"richMenuId": rich_menu_id})


@richmenu_api.post("/v2/bot/richmenu/validate")
def validate() -> ResponseReturnValue:
    _body, error = _checked_menu()
    return error if error is not None else jsonify({})


@richmenu_api.post("/v2/bot/richmenu/<rich_menu_id>/content")
def upload_image(rich_menu_id: str) -> ResponseReturnValue:
    """The DATA API host's upload (served by the same emulator)."""
    state = get_state()
    menu = state.get_rich_menu(rich_menu_id)
    if menu is None:
        return line_error(404, NOT_FOUND)
    content_type = (request.content_type or "").split(";")[0].strip().lower()
    if content_type not in IMAGE_TYPES.values():
        return line_error(415, "Unsupported media type: use image/png or image/jpeg")
    image = request.get_data(cache=False)
    if len(image) > MAX_IMAGE_BYTES:
        return line_error(413, f"Request entity too large: at most {MAX_IMAGE_BYTES} bytes")
    size = (int(menu["size"]["width"]), int(menu["size"]["height"]))
    problems = image_problems(image, size, content_type)
    if problems:
        return line_error(400, "; ".join(problems))
    outcome = state.set_rich_menu_image(rich_menu_id, image, content_type)
    if outcome == "exists":
        return line_error(400, "An image has already been uploaded to the rich menu")
    return _outcome(outcome)


@richmenu_api.get("/v2/bot/richmenu/<rich_menu_id>/content")
def download_image(rich_menu_id: str) -> ResponseReturnValue:
    found = get_state().rich_menu_image(rich_menu_id)
    if found is None:
        return line_error(404, NOT_FOUND)
    data, content_type = found
    return Response(data, mimetype=content_type)


@richmenu_api.get("/v2/bot/richmenu/list")
def list_menus() -> ResponseReturnValue:
    return jsonify({"richmenus": get_state().list_rich_menus()})


@richmenu_api.get("/v2/bot/richmenu/<rich_menu_id>")
def get_menu(rich_menu_id: str) -> ResponseReturnValue:
    menu = get_state().get_rich_menu(rich_menu_id)
    return jsonify(menu) if menu is not None else line_error(404, NOT_FOUND)


@richmenu_api.delete("/v2/bot/richmenu/<rich_menu_id>")
def delete_menu(rich_menu_id: str) -> ResponseReturnValue:
    if not get_state().delete_rich_menu(rich_menu_id):
        return line_error(404, NOT_FOUND)
    return jsonify({})


@richmenu_api.post("/v2/bot/user/all/richmenu/<rich_menu_id>")
def set_default(rich_menu_id: str) -> ResponseReturnValue:
    return _outcome(get_state().set_default_rich_menu(rich_menu_id))


@richmenu_api.get("/v2/bot/user/all/richmenu")
def get_default() -> ResponseReturnValue:
    rich_menu_id = get_state().default_rich_menu_id()
    if rich_menu_id is None:
        return line_error(404, "no default richmenu")
    return jsonify({"richMenuId": rich_menu_id})


@richmenu_api.delete("/v2/bot/user/all/richmenu")
def cancel_default() -> ResponseReturnValue:
    return _outcome(get_state().set_default_rich_menu(None))


@richmenu_api.post("/v2/bot/user/<user_id>/richmenu/<rich_menu_id>")
def link_user(user_id: str, rich_menu_id: str) -> ResponseReturnValue:
    if not USER_ID_RE.match(user_id):
        return line_error(400, "The value of the userId path parameter is invalid")
    return _outcome(get_state().link_rich_menu([user_id], rich_menu_id))


@richmenu_api.get("/v2/bot/user/<user_id>/richmenu")
def user_menu(user_id: str) -> ResponseReturnValue:
    rich_menu_id = get_state().linked_rich_menu(user_id)
    if rich_menu_id is None:
        return line_error(404, "the user has no richmenu")
    return jsonify({"richMenuId": rich_menu_id})


@richmenu_api.delete("/v2/bot/user/<user_id>/richmenu")
def unlink_user(user_id: str) -> ResponseReturnValue:
    if not USER_ID_RE.match(user_id):
        return line_error(400, "The value of the userId path parameter is invalid")
    get_state().unlink_rich_menu([user_id])
    return jsonify({})


@richmenu_api.post("/v2/bot/richmenu/bulk/link")
def bulk_link() -> ResponseReturnValue:
    body, error = validated("richmenu.bulk.link")  # 1-500 IDs: the SDK model's own limits
    if error is not None:
        return error
    assert body is not None
    error = malformed_user_ids(body["userIds"], "userIds")
    if error is not None:
        return error
    outcome = get_state().link_rich_menu(body["userIds"], body["richMenuId"])
    if outcome != "ok":
        return _outcome(outcome)
    return jsonify({}), 202


@richmenu_api.post("/v2/bot/richmenu/bulk/unlink")
def bulk_unlink() -> ResponseReturnValue:
    body, error = validated("richmenu.bulk.unlink")
    if error is not None:
        return error
    assert body is not None
    error = malformed_user_ids(body["userIds"], "userIds")
    if error is not None:
        return error
    get_state().unlink_rich_menu(body["userIds"])
    return jsonify({}), 202


def _alias_outcome(outcome: str) -> ResponseReturnValue:
    if outcome == "exists":
        return line_error(400, "conflict richmenu alias id")
    if outcome == "no_alias":
        return line_error(400, "richmenu alias not found")
    if outcome == "not_found":
        return line_error(400, "richmenu not found")
    return _outcome(outcome)


@richmenu_api.post("/v2/bot/richmenu/alias")
def create_alias() -> ResponseReturnValue:
    body, error = validated("richmenu.alias.create")  # the alias ID's pattern included
    if error is not None:
        return error
    assert body is not None
    outcome = get_state().set_rich_menu_alias(
        body["richMenuAliasId"], body["richMenuId"], create=True
    )
    return _alias_outcome(outcome)


@richmenu_api.post("/v2/bot/richmenu/alias/<alias_id>")
def update_alias(alias_id: str) -> ResponseReturnValue:
    body, error = validated("richmenu.alias.update")
    if error is not None:
        return error
    assert body is not None
    outcome = get_state().set_rich_menu_alias(alias_id, body["richMenuId"], create=False)
    return _alias_outcome(outcome)


@richmenu_api.get("/v2/bot/richmenu/alias/list")
def list_aliases() -> ResponseReturnValue:
    aliases = get_state().rich_menu_alias_list()
    return jsonify(
        {"aliases": [{"richMenuAliasId": a, "richMenuId": m} for a, m in aliases.items()]}
    )


@richmenu_api.get("/v2/bot/richmenu/alias/<alias_id>")
def get_alias(alias_id: str) -> ResponseReturnValue:
    rich_menu_id = get_state().rich_menu_alias(alias_id)
    if rich_menu_id is None:
        return line_error(404, NOT_FOUND)
    return jsonify({"richMenuAliasId": alias_id, "richMenuId": rich_menu_id})


@richmenu_api.delete("/v2/bot/richmenu/alias/<alias_id>")
def delete_alias(alias_id: str) -> ResponseReturnValue:
    if not get_state().delete_rich_menu_alias(alias_id):
        return line_error(400, "richmenu alias not found")
    return jsonify({})


# -- the emulator's controls -----------------------------------------------------------------


def current_menu(user_id: str) -> dict[str, Any]:
    """What the user's LINE app shows under the chat: {richMenuId, source, menu, imageUrl}."""
    state = get_state()
    rich_menu_id, source = state.current_rich_menu(user_id)
    menu = state.get_rich_menu(rich_menu_id) if rich_menu_id else None
    if menu is None:
        return {"richMenuId": None, "source": None, "menu": None, "imageUrl": None}
    return {
        "richMenuId": rich_menu_id,
        "source": source,
        "menu": menu,
        "imageUrl": f"/_emulator/richmenus/{rich_menu_id}/image",
    }


@richmenu_control.get("/users/<user_id>/richmenu")
def control_user_menu(user_id: str) -> ResponseReturnValue:
    if get_state().get_user(user_id) is None and not USER_ID_RE.match(user_id):
        return jsonify({"error": f"unknown user {user_id}"}), 404
    return jsonify(current_menu(user_id))


@richmenu_control.get("/richmenus/<rich_menu_id>/image")
def control_image(rich_menu_id: str) -> ResponseReturnValue:
    found = get_state().rich_menu_image(rich_menu_id)
    if found is None:
        return jsonify({"error": "no image"}), 404
    data, content_type = found
    return Response(data, mimetype=content_type)


@richmenu_control.get("/richmenus")
def control_menus() -> ResponseReturnValue:
    state = get_state()
    return jsonify(
        {
            "richmenus": state.list_rich_menus(),
            "aliases": state.rich_menu_alias_list(),
            "default": state.default_rich_menu_id(),
            "users": dict(state.user_rich_menus),
        }
    )


@richmenu_control.post("/users/<user_id>/richmenu/tap")
def control_tap(user_id: str) -> ResponseReturnValue:
    """Tap area `area` (an index) of the user's current menu, as the LINE app would."""
    state = get_state()
    if state.get_user(user_id) is None:
        return jsonify({"error": f"unknown user {user_id}"}), 404
    body = request.get_json(silent=True) or {}
    shown = current_menu(user_id)
    menu = shown["menu"]
    if menu is None:
        return jsonify({"error": "the user sees no rich menu"}), 409
    areas = menu.get("areas") or []
    index = body.get("area")
    if not isinstance(index, int) or not (0 <= index < len(areas)):
        return jsonify({"error": f"area must be an index below {len(areas)}"}), 400
    action = areas[index]["action"]
    kind = action.get("type")
    if kind == "message":
        text = str(action.get("text", ""))
        state.record_user_action(user_id, "text", {"type": "text", "text": text})
        event = webhook.text_event(state, user_id, text)
    elif kind in {"postback", "richmenuswitch"}:
        data = str(action.get("data", ""))
        params: dict[str, Any] | None = None
        if kind == "richmenuswitch":
            alias_id = str(action.get("richMenuAliasId", ""))
            params = {
                "newRichMenuAliasId": alias_id,
                "status": state.switch_rich_menu(user_id, alias_id),
            }
        shown_entry = {"type": "postback", "data": data}
        if action.get("displayText"):
            shown_entry["displayText"] = str(action["displayText"])
        state.record_user_action(user_id, "postback", shown_entry)
        event = webhook.postback_event(state, user_id, data, params)
    elif kind == "uri":
        return jsonify({"action": action, "uri": action.get("uri")})
    else:
        return jsonify({"action": action, "error": f"{kind} actions are not emulated"}), 400
    result = webhook.deliver_events(state, [event])
    return jsonify(
        {
            "action": action,
            "webhookEventId": event["webhookEventId"],
            "event": event,
            "richmenu": current_menu(user_id),
            **result.to_dict(),
        }
    )
