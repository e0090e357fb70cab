"""Free text the fast paths did not take (exact keywords, postbacks, open flows): the
understanding layer decides what it means, and this module acts on the decision.

  confident intent      → the intent's handler (`router.on_intent`), as if its keyword was sent
  confident FAQ entry   → the entry's answer (handlers/faq.py)
  small talk            → a short friendly reply (with the menu where it helps)
  off-topic subject     → a polite redirect
  close call            → "もしかして" with the 2–3 best intents/entries as buttons
  unknown               → "no answer found", with a way to reach the office

Unknown questions and close calls are counted for the back office (models/unanswered.py).
Who is asking decides what may be offered: guest (not linked, or no longer a member in good
standing), employee or HR contact.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from chat.messages import Message, postback_action, text
from chat.router import Context, Input, Router
from chat.understanding.data import default_understanding, intents
from chat.understanding.index import Candidate, Decision, Kind, Outcome, Understanding
from common.textnorm import normalize
from handlers import faq as faq_handlers
from handlers import faq_texts
from handlers import smalltalk_texts as t
from handlers.greeting import menu_actions
from models.company import MemberStatus
from models.faq import default_index
from models.unanswered import record_unanswered

GUEST, EMPLOYEE, HR = "guest", "employee", "hr"


def audience_of(ctx: Context) -> str:
    member = ctx.member
    if member is None or member.status is not MemberStatus.ACTIVE:
        return GUEST
    return HR if member.is_hr_contact else EMPLOYEE


def _data(**params: str) -> str:
    return urlencode(params)


def smalltalk_messages(ctx: Context, kind: str) -> list[Message]:
    body = t.SMALLTALK[kind].format(service=ctx.settings.service_name)
    return [text(body, quick=menu_actions() if kind in t.WITH_MENU else None)]


def _button(candidate: Candidate) -> dict:
    if candidate.kind is Kind.INTENT:
        label = intents()[candidate.id].label
        return postback_action(label, _data(action="intent", id=candidate.id), label)
    entry = default_index().by_id[candidate.id]
    return postback_action(
        faq_handlers.short_label(entry.short), _data(action="faq", id=entry.id), entry.question
    )


def close_call_messages(decision: Decision) -> list[Message]:
    quick = [_button(c) for c in decision.candidates]
    quick.append(
        postback_action(faq_texts.NONE_OF_THESE, _data(action="faq_none"), faq_texts.NONE_OF_THESE)
    )
    return [text(faq_texts.CLOSE_CALL, quick=quick)]


def make_understand(
    router: Router, factory: Callable[[], Understanding] = default_understanding
) -> Callable[[Context, Input], list[Message] | None]:
    def understand(ctx: Context, user_input: Input) -> list[Message] | None:
        """None for flow words and text with nothing to match (the fallback answers those)."""
        if user_input.kind != "text" or router.is_flow_word(user_input.text):
            return None
        understanding = factory()
        if not understanding.prepare(user_input.text):
            return None
        audience = audience_of(ctx)
        decision = understanding.decide(user_input.text, audience)
        best = decision.best
        if decision.outcome is Outcome.ANSWER and best is not None:
            if best.kind is Kind.INTENT:
                return list(router.intent_handlers[best.id](ctx, user_input) or [])
            if best.kind is Kind.FAQ:
                return faq_handlers.answer_messages(ctx, default_index().by_id[best.id])
            return smalltalk_messages(ctx, best.id)
        if decision.outcome is Outcome.OFF_TOPIC:
            return faq_handlers.off_topic_messages(ctx)
        record_unanswered(
            ctx.session, normalize(user_input.text), audience, decision.outcome.value, ctx.now
        )
        if decision.outcome is Outcome.CLOSE_CALL:
            return close_call_messages(decision)
        return faq_handlers.unknown_messages(ctx)

    return understand


def make_picked(router: Router) -> Callable[[Context, Input], list[Message]]:
    def picked(ctx: Context, user_input: Input) -> list[Message]:
        """A "もしかして" button for an intent: run it as if it had been understood."""
        intent = intents().get(user_input.params.get("id", ""))
        if intent is None:
            return [text(faq_texts.ENTRY_NOT_FOUND)]
        handler = router.intent_handlers[intent.id]
        return list(handler(ctx, Input.from_text(intent.label)) or [])

    return picked


def register(router: Router) -> None:
    router.postback("intent")(make_picked(router))
    router.faq(make_understand(router))
