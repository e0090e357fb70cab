"""FAQ in the chat: an entry's answer (reached by a button or understood by handlers/understand.py),
the categories and their questions, and "役に立ちましたか？".

Postbacks: `action=faq_menu` (categories), `action=faq_category&c=<category>`,
`action=faq&id=<entry>`, `action=faq_none` (none of the candidates),
`action=faq_feedback&id=<entry>&v=yes|no`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from chat.messages import (
    Action,
    Message,
    buttons,
    carousel,
    confirm,
    flex,
    message_action,
    postback_action,
    text,
)
from chat.router import Context, Input, Router
from handlers import faq_texts as texts
from handlers.handoff import handoff_button
from models.faq import (
    FaqAction,
    FaqCategory,
    FaqEntry,
    FaqIndex,
    default_index,
    record_feedback,
)

MAX_BUTTON_ACTIONS = 4
MAX_LABEL = 20
KEYWORDS = ("よくある質問", "FAQ", "よくあるご質問", "質問一覧")


def short_label(value: str) -> str:
    return value if len(value) <= MAX_LABEL else value[: MAX_LABEL - 1] + "…"


def _data(**params: str) -> str:
    return urlencode(params)


def _fill(ctx: Context, template: str) -> str:
    return template.format(
        contact_email=ctx.settings.contact_email, service=ctx.settings.service_name
    )


def _follow_up(action: FaqAction) -> Action:
    if action.postback:
        return postback_action(short_label(action.label), action.postback, action.label)
    return message_action(short_label(action.label), action.text or action.label)


def inquiry_actions() -> list[Action]:
    return [
        message_action(texts.INQUIRY_LABEL, texts.INQUIRY_TEXT),
        postback_action(texts.FAQ_LABEL, _data(action="faq_menu"), texts.FAQ_LABEL),
    ]


# -- messages ---------------------------------------------------------------------------------
def answer_messages(ctx: Context, entry: FaqEntry) -> list[Message]:
    """The answer, its follow-up buttons (if any), then "役に立ちましたか？" はい / いいえ."""
    messages = [text(_fill(ctx, entry.answer))]
    if entry.actions:
        messages.append(
            buttons(
                texts.ACTIONS_ALT,
                texts.ACTIONS_BODY,
                [_follow_up(a) for a in entry.actions[:MAX_BUTTON_ACTIONS]],
            )
        )
    messages.append(
        confirm(
            texts.FEEDBACK_QUESTION,
            texts.FEEDBACK_QUESTION,
            postback_action(
                texts.FEEDBACK_YES,
                _data(action="faq_feedback", id=entry.id, v="yes"),
                texts.FEEDBACK_YES,
            ),
            postback_action(
                texts.FEEDBACK_NO,
                _data(action="faq_feedback", id=entry.id, v="no"),
                texts.FEEDBACK_NO,
            ),
        )
    )
    return messages


def unknown_messages(ctx: Context) -> list[Message]:
    return [text(_fill(ctx, texts.UNKNOWN), quick=[handoff_button(), *inquiry_actions()])]


def off_topic_messages(ctx: Context) -> list[Message]:
    return [text(_fill(ctx, texts.OFF_TOPIC), quick=inquiry_actions())]


def _category_bubble(category: FaqCategory, count: int) -> dict[str, Any]:
    return {
        "type": "bubble",
        "size": "kilo",
        "body": {
            "type": "box",
            "layout": "vertical",
            "spacing": "sm",
            "contents": [
                {"type": "text", "text": category.label, "weight": "bold", "wrap": True},
                {
                    "type": "text",
                    "text": texts.CATEGORY_COUNT.format(count=count),
                    "size": "sm",
                    "color": "#888888",
                },
            ],
        },
        "footer": {
            "type": "box",
            "layout": "vertical",
            "contents": [
                {
                    "type": "button",
                    "style": "primary",
                    "height": "sm",
                    "action": postback_action(
                        texts.CATEGORY_BUTTON,
                        _data(action="faq_category", c=category.id),
                        category.label,
                    ),
                }
            ],
        },
    }


def categories_messages(index: FaqIndex) -> list[Message]:
    bubbles = [
        _category_bubble(c, len(index.in_category(c.id)))
        for c in index.categories
        if index.in_category(c.id)
    ]
    return [
        text(texts.CATEGORIES_INTRO),
        flex(texts.CATEGORIES_ALT, carousel(bubbles[:12])),
    ]


def category_messages(index: FaqIndex, category: FaqCategory) -> list[Message]:
    """One bubble with a vertical list of the category's questions as buttons."""
    entries = index.in_category(category.id)
    question_buttons = [
        {
            "type": "button",
            "style": "secondary",
            "height": "sm",
            "action": postback_action(
                short_label(e.short), _data(action="faq", id=e.id), e.question
            ),
        }
        for e in entries
    ]
    bubble = {
        "type": "bubble",
        "header": {
            "type": "box",
            "layout": "vertical",
            "contents": [
                {
                    "type": "text",
                    "text": texts.CATEGORY_HEADER.format(label=category.label),
                    "weight": "bold",
                    "wrap": True,
                },
                {"type": "text", "text": texts.CATEGORY_HINT, "size": "sm", "color": "#888888"},
            ],
        },
        "body": {
            "type": "box",
            "layout": "vertical",
            "spacing": "sm",
            "contents": question_buttons,
        },
    }
    return [flex(texts.CATEGORY_ALT.format(label=category.label), bubble)]


# -- handlers ---------------------------------------------------------------------------------
def show_categories(ctx: Context, user_input: Input) -> list[Message]:
    return categories_messages(default_index())


def show_category(ctx: Context, user_input: Input) -> list[Message]:
    index = default_index()
    category = index.category(user_input.params.get("c", ""))
    if category is None:
        return [text(texts.CATEGORY_NOT_FOUND), *categories_messages(index)[1:]]
    return category_messages(index, category)


def show_entry(ctx: Context, user_input: Input) -> list[Message]:
    index = default_index()
    entry = index.by_id.get(user_input.params.get("id", ""))
    if entry is None:
        return [text(texts.ENTRY_NOT_FOUND), *categories_messages(index)[1:]]
    return answer_messages(ctx, entry)


def none_of_these(ctx: Context, user_input: Input) -> list[Message]:
    return unknown_messages(ctx)


def feedback(ctx: Context, user_input: Input) -> list[Message]:
    entry_id = user_input.params.get("id", "")
    vote = user_input.params.get("v")
    if entry_id not in default_index().by_id or vote not in {"yes", "no"}:
        return [text(texts.ENTRY_NOT_FOUND)]
    helpful = vote == "yes"
    record_feedback(ctx.session, entry_id, ctx.line_user_id, helpful, ctx.now)
    if helpful:
        return [text(texts.FEEDBACK_THANKS_YES)]
    return [text(_fill(ctx, texts.FEEDBACK_THANKS_NO), quick=inquiry_actions())]


def register(router: Router) -> None:
    router.keyword(*KEYWORDS)(show_categories)
    router.postback("faq_menu")(show_categories)
    router.postback("faq_category")(show_category)
    router.postback("faq")(show_entry)
    router.postback("faq_none")(none_of_these)
    router.postback("faq_feedback")(feedback)
    router.on_intent("faq_menu")(show_categories)
