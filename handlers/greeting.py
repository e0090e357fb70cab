"""Follow/unblock greeting, the one-to-one notice for groups, and the polite fallback."""

from __future__ import annotations

from chat.messages import Message, buttons, message_action, postback_action, text
from chat.router import Context, Input, Router
from handlers import texts
from handlers.handoff import handoff_button


def menu_actions() -> list[dict]:
    """The quick replies that say what the account does (small talk, welcome back)."""
    return [
        message_action("ポイント残高", "残高"),
        message_action("よくある質問"),
        message_action("お問い合わせ", "問い合わせ"),
        message_action("使い方"),
    ]


def hr_menu_actions() -> list[dict]:
    """What an HR contact came for (welcome back): requests, their status, the company."""
    return [
        postback_action("各種申請", "action=inquiry&menu=requests", "各種申請"),
        message_action("申請状況"),
        message_action("企業情報"),
        message_action("よくある質問"),
    ]


def greeting(ctx: Context) -> list[Message]:
    name = ctx.settings.service_name
    member = ctx.member
    if member is not None:  # blocked and re-added: the link is still there
        if member.is_hr_contact:
            return [text(texts.WELCOME_BACK_HR.format(service=name), quick=hr_menu_actions())]
        return [text(texts.WELCOME_BACK.format(service=name), quick=menu_actions())]
    return [
        text(texts.GREETING.format(service=name)),
        buttons(
            texts.GREETING_ALT,
            texts.GREETING_MENU,
            [
                message_action("アカウント連携", "連携"),
                message_action("よくある質問"),
                message_action("お問い合わせ", "問い合わせ"),
            ],
        ),
    ]


def fallback(ctx: Context, user_input: Input) -> list[Message]:
    return [
        text(
            texts.FALLBACK,
            quick=[
                message_action("よくある質問"),
                message_action("お問い合わせ", "問い合わせ"),
                message_action("使い方"),
                handoff_button(),
            ],
        )
    ]


def non_text(ctx: Context) -> list[Message]:
    return [
        text(
            texts.NON_TEXT,
            quick=[message_action("よくある質問"), message_action("使い方")],
        )
    ]


def how_to(ctx: Context, user_input: Input) -> list[Message]:
    return [text(texts.HOW_TO)]


def register(router: Router) -> None:
    router.on_event("follow")(greeting)
    router.on_event("message:other")(non_text)
    router.keyword("使い方", "ヘルプ", "help", "メニュー")(how_to)
    router.postback("howto")(how_to)
    router.on_intent("help")(how_to)
    router.fallback(fallback)
