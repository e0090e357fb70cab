"""Unlinking, declared as a `chat.flows.Flow`:

UNLINK   entry: 連携解除 / postback action=unlink
         CONFIRM: はい (postback answer=yes) → unlinked; いいえ → kept;
         the framework: やめる / キャンセル / … keep the link, a sticker asks again;
         anything else leaves the flow and is answered as usual
"""

from __future__ import annotations

from chat.flows import End, Entry, Flow, Leave, Outcome, Question, Step, Turn, register_flow
from chat.messages import Message, message_action, postback_action, text
from chat.router import Context, Input, Router
from common.textnorm import normalize
from handlers import linking_texts as t
from models import companies

UNLINK = "unlink"
CONFIRM = "confirm"

UNLINK_WORDS = ("連携解除", "連携を解除", "連携解除する")
YES_WORDS = frozenset(normalize(w) for w in ("はい", "解除する", "yes"))
NO_WORDS = frozenset(normalize(w) for w in ("いいえ", "no"))


def _not_linked() -> list[Message]:
    return [text(t.NOT_LINKED, quick=[message_action(t.LINK_LABEL, "連携")])]


def start_unlink(ctx: Context, user_input: Input) -> list[Message]:
    """Entry point: ask for confirmation."""
    if ctx.member is None:
        return _not_linked()
    return FLOW.start(ctx, CONFIRM)


def confirm_question(turn: Turn) -> Question:
    member = turn.ctx.member
    member_id = member.member_id if member is not None else "-"
    return Question(
        t.UNLINK_CONFIRM.format(member_id=member_id),
        confirm=(
            postback_action(t.UNLINK_YES, "action=unlink&answer=yes", t.UNLINK_YES),
            postback_action(t.UNLINK_NO, "action=unlink&answer=no", t.UNLINK_NO),
        ),
        alt_text=t.UNLINK_CONFIRM_ALT,
    )


def _unlink(ctx: Context) -> list[Message]:
    member = companies.unlink(ctx.session, ctx.clock, ctx.line_user_id)
    if member is None:
        return _not_linked()
    ctx.session.refresh(ctx.line_user)
    return [text(t.UNLINKED)]


def confirm_answer(turn: Turn) -> Outcome:
    """CONFIRM: yes unlinks, no keeps the link; anything else leaves the flow."""
    if turn.input.kind == "postback":
        answer = turn.input.params.get("answer")
    else:
        word = turn.input.normalized
        answer = "yes" if word in YES_WORDS else "no" if word in NO_WORDS else None
    if answer == "yes":
        return End(_unlink(turn.ctx))
    if answer == "no":
        return End(kept(turn.ctx))
    return Leave()


def kept(ctx: Context) -> list[Message]:
    return [text(t.UNLINK_KEPT)]


def unlink_postback(ctx: Context, user_input: Input) -> list[Message]:
    """A confirmation button tapped outside its flow (stale): ask again, or say no."""
    if user_input.params.get("answer") == "no":
        return kept(ctx)
    return start_unlink(ctx, user_input)


FLOW = Flow(
    name=UNLINK,
    states={
        CONFIRM: Step(confirm_question, confirm_answer, postbacks=frozenset({"unlink"}), nav=False)
    },
    entry_points=[
        Entry(start_unlink, keywords=UNLINK_WORDS),
        Entry(unlink_postback, postbacks=("unlink",)),
    ],
    cancelled=kept,
    hint=None,
)


def register(router: Router) -> None:
    register_flow(router, FLOW)
    router.on_intent("unlink")(start_unlink)
