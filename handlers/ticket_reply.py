"""A ticket's reply mode: the requester's text goes to one of their open tickets.

Declared as a `chat.flows.Flow` with one step (`compose`). It opens when the back office sets
a ticket to お客さまの回答待ち (models.inquiry_reply_mode, for 7 days), or when the requester
taps 「この件に返信する」 (on that push and on the operator's messages) or 「INQ-…に追記」
(問い合わせ状況). Each text is attached to the ticket (models.inquiry_thread: once per LINE
message, even redelivered), the bot confirms 「INQ-… に送信しました」 and the mode stays open
30 minutes after each message; 「送信を終わる」 (or やめる) ends it. Only the requester's own
open tickets take messages.
"""

from __future__ import annotations

from chat.flows import End, Entry, Flow, Question, Stay, Step, Turn, register_flow
from chat.messages import Action, Message, message_action, postback_action, text
from chat.router import Context, Input, Router
from common.textnorm import normalize
from handlers import ticket_reply_texts as t
from models.conversation import Conversation
from models.inquiries import Inquiry, get_by_number
from models.inquiry_reply_mode import (
    IDLE_TIMEOUT,
    REPLY_ACTION,
    REPLY_CONVERSATION,
    REPLY_STEP,
    reply_data,
)
from models.inquiry_thread import TEXT_MAX, ThreadError, attach_from_requester, own_open_tickets

MAX_APPEND_BUTTONS = 10


def append_actions(ctx: Context) -> list[Action]:
    """「INQ-…に追記」 for each of the requester's own open tickets (問い合わせ状況)."""
    return [
        postback_action(
            t.APPEND_LABEL.format(number=i.number),
            reply_data(i.number),
            t.APPEND_LABEL.format(number=i.number),
        )
        for i in own_open_tickets(ctx.session, ctx.line_user_id, MAX_APPEND_BUTTONS)
    ]


def _refusal(ctx: Context, inquiry: Inquiry | None, number: str) -> str | None:
    if inquiry is None or inquiry.line_user_id != ctx.line_user_id:
        return t.NOT_FOUND  # another person's ticket is not even named
    if not inquiry.is_open:
        return t.CLOSED.format(number=inquiry.number)
    return None


def open_reply(ctx: Context, user_input: Input) -> list[Message]:
    """Postback action=ticket_reply&number=INQ-…: open the reply mode for that ticket."""
    number = user_input.params.get("number", "")[:20]
    inquiry = get_by_number(ctx.session, number)
    refused = _refusal(ctx, inquiry, number)
    if refused is not None:
        return [text(refused)]
    assert inquiry is not None
    return FLOW.start(ctx, REPLY_STEP, {"number": inquiry.number})


def _stop_button() -> Action:
    return message_action(t.STOP)


def ask(turn: Turn) -> Question:
    number = str(turn.data.get("number", ""))
    if turn.data.get("sent"):
        return Question(t.CONTINUE, [_stop_button()])
    inquiry = get_by_number(turn.ctx.session, number)
    kind = inquiry.type_label if inquiry is not None else "-"
    return Question(t.ASK.format(number=number, type=kind, max=TEXT_MAX), [_stop_button()])


def answer(turn: Turn) -> End | Stay:
    number = str(turn.data.get("number", ""))
    if turn.input.normalized == normalize(t.STOP):
        return End([text(t.STOPPED.format(number=number))])
    ctx = turn.ctx
    inquiry = get_by_number(ctx.session, number)
    refused = _refusal(ctx, inquiry, number)
    if refused is not None:
        return End([text(refused)])
    assert inquiry is not None
    message = ctx.event.get("message") or {}
    message_id = message.get("id") if isinstance(message, dict) else None
    source = f"line:{message_id or ctx.event.get('webhookEventId') or ''}"
    try:
        attach_from_requester(
            ctx.session,
            ctx.clock,
            inquiry,
            turn.text,
            line_user_id=ctx.line_user_id,
            source_key=source,
            console_url=ctx.settings.public_base_url,
        )
    except ThreadError as exc:
        if exc.code in t.ERRORS:
            return Stay(t.ERRORS[exc.code].format(max=TEXT_MAX))
        return End([text(t.NOT_FOUND)])
    turn.data["sent"] = True
    return Stay(t.SENT.format(number=inquiry.number))


def finished(ctx: Context) -> list[Message]:
    return [text(t.STOPPED_PLAIN)]


def expired(conversation: Conversation) -> list[Message]:
    return [text(t.EXPIRED.format(number=str((conversation.data or {}).get("number", ""))))]


def reply_help(turn: Turn) -> str:
    return t.HELP.format(number=turn.data.get("number", ""))


FLOW = Flow(
    name=REPLY_CONVERSATION,
    states={REPLY_STEP: Step(ask, answer, nav=False)},
    entry_points=[Entry(open_reply, postbacks=(REPLY_ACTION,))],
    timeout=IDLE_TIMEOUT,
    cancelled=finished,
    help=reply_help,
    hint=None,
)


def register(router: Router) -> None:
    register_flow(router, FLOW)
    router.expiry_notice(REPLY_CONVERSATION)(expired)
