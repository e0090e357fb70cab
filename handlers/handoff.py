"""The live chat with a person: 「担当者と話したい」 hands the conversation to the back office.

Entry: the keywords below, the `human` intent, and the 「担当者に相談」 button (`action=handoff`).
The user is told the business hours (models/handoff_hours.py) and when to expect an answer.
While the chat is live (the `handoff` conversation; its state is the `handoffs` row) the bot
answers nothing by itself: each message is kept in the transcript for the operator, except
the words that end the chat (END_WORDS, `action=handoff_end`) and the rich menu's own
postbacks (MENU_ACTIONS), which the bot answers as usual. The console's operator closes the
chat, or it returns to the bot after the idle time (bot/handoff_jobs.py tells the user).

An after-dispatch hook keeps the transcript of what the bot answered while the chat is live,
and opens the `handoff` conversation again when another flow (started from the rich menu)
has ended.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chat.messages import Action, Message, postback_action, text
from chat.router import Context, Input, Router
from common.textnorm import normalize
from handlers import handoff_texts as t
from models import handoff as handoffs
from models.handoff_hours import HandoffPolicy
from models.handoff_transcript import (
    NON_TEXT_LABELS,
    copy_recent_exchange,
    event_line,
    message_line,
)
from models.timeutil import to_jst

CONVERSATION = "handoff"
# The handoffs row decides when the chat ends; this only has to outlive it.
CONVERSATION_TIMEOUT = timedelta(days=30)
KEYWORDS = ("担当者と話したい", "人と話したい", "担当者に相談", "有人チャット", "オペレーター")
END_WORDS = frozenset(
    normalize(w)
    for w in (
        "終了",
        "終了します",
        "終了する",
        "チャット終了",
        "チャットを終了",
        "ボットに戻る",
        "ボットに戻して",
        "ボットに戻ります",
        "ボットに戻りたい",
        "ボットへ戻る",
        "botに戻る",
        "おわり",
        "終わり",
        "終わります",
        "終わる",
    )
)
# The rich menu's postbacks (richmenu/definitions.yaml; tests/test_handoff_chat.py checks the
# two agree): answered by the bot while a person holds the chat.
MENU_ACTIONS = frozenset(
    {
        "link",
        "faq_menu",
        "inquiry",
        "howto",
        "balance",
        "expiry",
        "reminder_settings",
        "link_info",
        "inquiry_status",
        "company_info",
        "richmenu_tab",
    }
)
WEEKDAY_NAMES = "月火水木金土日"


def handoff_button() -> Action:
    """The 「担当者に相談」 quick reply (the fallbacks offer it)."""
    return postback_action(t.BUTTON_LABEL, "action=handoff", t.BUTTON_LABEL)


def _end_button() -> Action:
    return postback_action(t.END_LABEL, "action=handoff_end", t.END_LABEL)


def _policy(ctx: Context) -> HandoffPolicy:
    return HandoffPolicy.from_settings(ctx.settings)


def _when(moment: datetime) -> str:
    local = to_jst(moment)
    return f"{local.month}月{local.day}日（{WEEKDAY_NAMES[local.weekday()]}）{local.hour}時"


def opening_text(policy: HandoffPolicy, now: datetime) -> str:
    if policy.is_open(now):
        return t.OPEN_IN_HOURS.format(minutes=policy.answer_minutes, hours=policy.hours_label())
    return t.OPEN_OUT_OF_HOURS.format(
        hours=policy.hours_label(), next=_when(policy.next_opening(now))
    )


def open_chat(ctx: Context, user_input: Input) -> list[Message]:
    policy = _policy(ctx)
    handoff, created = handoffs.start(
        ctx.session, ctx.line_user_id, ctx.member, ctx.now, out_of_hours=not policy.is_open(ctx.now)
    )
    if created:
        copy_recent_exchange(
            ctx.session, handoff, ctx.line_user_id, ctx.now, ctx.event.get("webhookEventId")
        )
    line = user_input.text if user_input.kind == "text" else t.BUTTON_LABEL
    handoffs.add_line(ctx.session, handoff, handoffs.SENDER_USER, line, ctx.now)
    ctx.conversation.start(CONVERSATION, "live", timeout=CONVERSATION_TIMEOUT)
    return [text(opening_text(policy, ctx.now), quick=[_end_button()])]


def _sent_at(ctx: Context) -> datetime:
    """When LINE issued the reply token: the event's time, never later than now."""
    stamp = ctx.event.get("timestamp")
    if isinstance(stamp, int | float):
        return min(datetime.fromtimestamp(stamp / 1000, tz=UTC), ctx.now)
    return ctx.now


def _end(ctx: Context, handoff: handoffs.Handoff, reason: str) -> list[Message]:
    closed = handoffs.end_live(handoff, ctx.now, reason=reason, actor=_actor(ctx))
    ctx.conversation.clear()
    if reason == "idle":
        messages = idle_message(closed, _policy(ctx).idle)
    else:
        messages = [text(t.ENDED_BY_USER if closed else t.ENDED_PENDING)]
    handoffs.add_line(ctx.session, handoff, handoffs.SENDER_BOT, messages[0]["text"], ctx.now)
    return messages


def _actor(ctx: Context) -> str:
    member = ctx.member
    return f"member:{member.member_id}" if member is not None else "line_user"


def in_chat(ctx: Context, user_input: Input) -> list[Message] | None:
    """Input while a person holds the chat: kept for the operator, not answered."""
    handoff = handoffs.open_handoff(ctx.session, ctx.line_user_id)
    if handoff is None or not handoff.live:
        ctx.conversation.clear()
        return None
    if handoffs.is_idle(handoff, ctx.now, _policy(ctx).idle):
        return _end(ctx, handoff, "idle")
    if user_input.kind == "postback":
        if user_input.action == "handoff_end":
            return _end(ctx, handoff, "user")
        if user_input.action == "handoff":
            return open_chat(ctx, user_input)
        if user_input.action in MENU_ACTIONS:
            return None  # the bot answers the rich menu
    elif user_input.kind == "text" and user_input.normalized in END_WORDS:
        return _end(ctx, handoff, "user")
    if user_input.kind == "text":
        line = user_input.text
    elif user_input.kind == "other":
        line = NON_TEXT_LABELS.get(user_input.message_type, "（メッセージ）")
    else:
        line = event_line(ctx.event) or "（ボタン操作）"
    message = ctx.event.get("message") or {}
    handoffs.user_wrote(
        ctx.session,
        handoff,
        line,
        ctx.now,
        reply_token=ctx.event.get("replyToken"),
        sent_at=_sent_at(ctx),
        read_token=message.get("markAsReadToken") if isinstance(message, dict) else None,
    )
    return []


def after_dispatch(
    ctx: Context, user_input: Input, messages: list[Message], started_in: str | None
) -> None:
    """While the chat is live: keep what the bot answered, and take the chat back when a flow
    the rich menu started has ended. Without a conversation before or after (most input) no
    chat can be live: nothing to look up."""
    if started_in is None and ctx.conversation.current() is None:
        return
    handoff = handoffs.open_handoff(ctx.session, ctx.line_user_id)
    if handoff is None or not handoff.live:
        return
    if ctx.handled_by not in _KEPT_BY_THIS_MODULE:  # the bot answered it: keep both sides
        said = user_input.text if user_input.kind == "text" else event_line(ctx.event)
        handoffs.add_line(ctx.session, handoff, handoffs.SENDER_USER, said or "", ctx.now)
    for message in messages:
        handoffs.add_line(ctx.session, handoff, handoffs.SENDER_BOT, message_line(message), ctx.now)
    if ctx.conversation.current() is None:
        ctx.conversation.start(CONVERSATION, "live", timeout=CONVERSATION_TIMEOUT)


_KEPT_BY_THIS_MODULE = {f"{__name__}.in_chat", f"{__name__}.open_chat"}


def register(router: Router) -> None:
    router.keyword(*KEYWORDS)(open_chat)
    router.postback("handoff")(open_chat)
    router.postback("handoff_end")(not_in_chat)
    router.on_intent("human")(open_chat)
    router.conversation(CONVERSATION)(in_chat)
    router.after_dispatch(after_dispatch)


def not_in_chat(ctx: Context, user_input: Input) -> list[Message]:
    """「ボットに戻る」 tapped when no person holds the chat (an old button)."""
    return [text(t.NOT_IN_CHAT)]


# -- messages the console sends (bot/admin/handoff_views.py, bot/handoff_jobs.py) ----------------


def operator_message(body: str) -> list[Message]:
    """An operator's reply as the user sees it, with the way back to the bot."""
    return [text(t.OPERATOR_PREFIX + body, quick=[_end_button()])]


def closed_message() -> list[Message]:
    return [text(t.ENDED_BY_OPERATOR)]


def idle_message(closed: bool, idle: timedelta) -> list[Message]:
    body = t.ENDED_IDLE if closed else t.ENDED_IDLE_PENDING
    return [text(body.format(minutes=int(idle.total_seconds() // 60)))]
