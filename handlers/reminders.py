"""Expiry reminder messages, and "通知設定" to turn them off and on."""

from __future__ import annotations

from datetime import date

from chat.flows import End, Entry, Flow, Leave, Outcome, Question, Step, Turn, register_flow
from chat.messages import Message, flex, message_action, postback_action, text
from chat.router import Context, Input, Router
from common.textnorm import normalize
from handlers import reminders_texts as t
from handlers.member_status import require_active_member
from models.reminders import STAGE_LAST_CALL
from models.timeutil import format_jst_date


def expiry_reminder(points: int, expiry: date, stage: int) -> Message:
    """The reminder bubble: points, date, and the way to the balance and to using points."""
    day = format_jst_date(expiry)
    last_call = stage == STAGE_LAST_CALL
    color = "#D93025" if last_call else "#1A73E8"
    bubble = {
        "type": "bubble",
        "header": {
            "type": "box",
            "layout": "vertical",
            "backgroundColor": color,
            "contents": [
                {
                    "type": "text",
                    "text": t.TITLE_LAST_CALL if last_call else t.TITLE_FIRST,
                    "color": "#FFFFFF",
                    "weight": "bold",
                    "size": "sm",
                    "wrap": True,
                }
            ],
        },
        "body": {
            "type": "box",
            "layout": "vertical",
            "spacing": "md",
            "contents": [
                {
                    "type": "text",
                    "text": f"{points:,}",
                    "size": "3xl",
                    "weight": "bold",
                    "color": color,
                    "align": "center",
                },
                {
                    "type": "text",
                    "text": t.BODY.format(points=f"{points:,}", date=day),
                    "wrap": True,
                    "size": "md",
                },
                {
                    "type": "text",
                    "text": t.NOTE_LAST_CALL if last_call else t.NOTE_FIRST,
                    "wrap": True,
                    "size": "sm",
                    "color": "#666666",
                },
            ],
        },
        "footer": {
            "type": "box",
            "layout": "vertical",
            "spacing": "sm",
            "contents": [
                {
                    "type": "button",
                    "style": "primary",
                    "color": color,
                    "action": postback_action(
                        t.BUTTON_BALANCE, "action=balance", display_text=t.BUTTON_BALANCE
                    ),
                },
                {
                    "type": "button",
                    "style": "secondary",
                    "action": message_action(t.BUTTON_HOW_TO_USE, t.HOW_TO_USE_QUESTION),
                },
            ],
        },
    }
    return flex(t.ALT.format(points=f"{points:,}", date=day), bubble)


def _settings_choices() -> list[dict]:
    return [
        postback_action(t.BUTTON_ON, "action=reminders&on=1", display_text=t.BUTTON_ON),
        postback_action(t.BUTTON_OFF, "action=reminders&on=0", display_text=t.BUTTON_OFF),
    ]


# -- 通知設定 (a declared chat.flows.Flow: one question, ON / OFF) ---------------------------

SETTINGS = "reminder_settings"
CHOOSE = "choose"
ON_WORDS = frozenset(normalize(w) for w in t.ON_WORDS)
OFF_WORDS = frozenset(normalize(w) for w in t.OFF_WORDS)


def show_settings(ctx: Context, user_input: Input) -> list[Message]:
    refused = require_active_member(ctx)
    if refused is not None:
        return refused
    return SETTINGS_FLOW.start(ctx, CHOOSE)


def settings_question(turn: Turn) -> Question:
    body = t.SETTINGS_OFF if turn.ctx.line_user.reminders_opt_out else t.SETTINGS_ON
    return Question(body, _settings_choices())


def settings_answer(turn: Turn) -> Outcome:
    """A tap on 受け取る / 停止する, or the same typed (オン, オフ, …); anything else moves on."""
    if turn.input.kind == "postback":
        turn_on = turn.input.params.get("on") == "1"
    elif turn.input.normalized in ON_WORDS | OFF_WORDS:
        turn_on = turn.input.normalized in ON_WORDS
    else:
        return Leave()
    return End(_set(turn.ctx, turn_on))


def _set(ctx: Context, turn_on: bool) -> list[Message]:
    ctx.line_user.reminders_opt_out = not turn_on
    return [text(t.TURNED_ON if turn_on else t.TURNED_OFF)]


def change_settings(ctx: Context, user_input: Input) -> list[Message]:
    """A settings button tapped outside the flow (an older message): still applied."""
    refused = require_active_member(ctx)
    if refused is not None:
        return refused
    return _set(ctx, user_input.params.get("on") == "1")


def settings_cancelled(ctx: Context) -> list[Message]:
    return [text(t.SETTINGS_KEPT)]


SETTINGS_FLOW = Flow(
    name=SETTINGS,
    states={CHOOSE: Step(settings_question, settings_answer, postbacks=frozenset({"reminders"}))},
    entry_points=[
        Entry(show_settings, keywords=("通知設定", "通知", "お知らせ設定")),
        Entry(show_settings, postbacks=("reminder_settings",)),
        Entry(change_settings, postbacks=("reminders",)),
    ],
    cancelled=settings_cancelled,
    hint=None,
)


def register(router: Router) -> None:
    register_flow(router, SETTINGS_FLOW)
    router.on_intent("notifications")(show_settings)
