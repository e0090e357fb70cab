"""Declared conversations, in the manner of python-telegram-bot's ConversationHandler.

A `Flow` is declared once: its states table `{step: Step}`, entry points, fallbacks and
timeout. A step's `answer` function RETURNS what comes next: the name of the next step (or a
`Go` with a notice shown above its question), `Stay` (ask the same question again, saying why)
or `End` (the conversation is over; these are the last messages). The framework stores the
state in the database (`models.conversation`, so a flow survives restarts and is shared by
workers) and owns, at every step of every flow:

    cancel / back / help / start over   typed in any ordinary way (`chat.control`)
    stickers, images, locations         a polite word and the current question again
    other features' postbacks           passed through (the flow stays open)
    timeout                             the flow's `timeout`; the router ends an expired flow

Declaring a flow twice, an entry keyword twice, or a step whose declared `next` names an
unknown step raises `FlowError` at start-up; a step that returns an unknown step at run time is
logged as an error, ends the flow and is answered politely, never dropped silently.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from chat import flow_texts as t
from chat.control import Control, recognize
from chat.messages import Action, Message, confirm, message_action, text, with_quick_reply
from chat.router import Context, Handler, Input, Router
from common.logging_setup import log_fields
from common.textnorm import normalize
from models.conversation import DEFAULT_TIMEOUT

logger = logging.getLogger("benesapo.flows")

END = "__end__"
HISTORY = "history"  # the framework's key in the stored data: the steps behind the current one
MAX_HISTORY = 30
MAX_QUICK_REPLIES = 13  # LINE's limit


class FlowError(ValueError):
    """A flow declared or run inconsistently; `code` is stable."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code


@dataclass
class Turn:
    """One input at one step: the flow's own data is `data` (mutate it; the router stores it)."""

    ctx: Context
    input: Input
    step: str
    data: dict[str, Any]

    @property
    def text(self) -> str:
        return self.input.text


@dataclass(frozen=True)
class Question:
    body: str
    choices: Sequence[Action] = ()  # quick-reply buttons (the framework adds 戻る / やめる)
    confirm: tuple[Action, Action] | None = None  # shown as a yes/no confirm template instead
    alt_text: str = ""  # the confirm template's alt text


@dataclass(frozen=True)
class Go:
    step: str
    notice: str | None = None


@dataclass(frozen=True)
class Stay:
    notice: str


@dataclass(frozen=True)
class End:
    messages: list[Message]


@dataclass(frozen=True)
class Leave:
    """The flow ends without an answer of its own: the input goes on to the router's other
    routes (the user moved on, e.g. typed 「残高」 at a yes/no question)."""


Outcome = Go | Stay | End | Leave | str


@dataclass(frozen=True)
class Step:
    ask: Callable[[Turn], Question]
    answer: Callable[[Turn], Outcome]
    postbacks: frozenset[str] = frozenset()  # postback actions this step answers (date picker)
    next: tuple[str, ...] = ()  # the steps `answer` may return: checked at start-up and run time
    nav: bool = True  # offer 戻る / やめる as quick replies


@dataclass(frozen=True)
class Entry:
    """Keywords and postback actions answered by `handler` (which may call `Flow.start`)."""

    handler: Handler
    keywords: tuple[str, ...] = ()
    postbacks: tuple[str, ...] = ()


def _cancelled(ctx: Context) -> list[Message]:
    return [text(t.CANCELLED)]


@dataclass
class Flow:
    name: str
    states: dict[str, Step]
    entry_points: list[Entry]
    fallbacks: list[Entry] = field(default_factory=list)  # keywords answered inside the flow
    timeout: timedelta = DEFAULT_TIMEOUT
    cancelled: Callable[[Context], list[Message]] = _cancelled
    restart: Callable[[Turn], str] | None = None  # reset turn.data, return the first step
    on_back: Callable[[Turn, str], str | None] | None = None  # returns a notice (the old answer)
    help: Callable[[Turn], str] | None = None
    hint: str | None = t.STEP_HINT  # under the first question

    # -- declaration checks -------------------------------------------------------------
    def validate(self) -> None:
        if not self.states:
            raise FlowError("no_states", self.name)
        for name, step in self.states.items():
            for target in step.next:
                if target != END and target not in self.states:
                    raise FlowError("unknown_step", f"{self.name}.{name} → {target}")

    # -- running ------------------------------------------------------------------------
    def start(self, ctx: Context, step: str, data: dict[str, Any] | None = None) -> list[Message]:
        """Open this flow at `step` (replacing any open conversation) and ask its question."""
        if step not in self.states:
            raise FlowError("unknown_step", f"{self.name} starts at {step!r}")
        stored = {**(data or {}), HISTORY: []}
        ctx.conversation.start(self.name, step, stored, timeout=self.timeout)
        turn = Turn(ctx, Input.from_text(""), step, dict(data or {}))
        return self._ask(turn, [], None)

    def handle(self, ctx: Context, user_input: Input) -> list[Message] | None:
        """The conversation handler: one input while this flow is open."""
        current = ctx.conversation.current()
        if current is None or current.step not in self.states:
            if current is not None:  # a step renamed or removed since the flow was opened
                log_fields(
                    logger,
                    logging.WARNING,
                    {"event": "flow_stale_step", "flow": self.name, "step": current.step[:64]},
                )
            ctx.conversation.clear()
            return None
        data = dict(current.data or {})
        history = [str(s) for s in data.pop(HISTORY, None) or []]
        turn = Turn(ctx, user_input, current.step, data)
        step = self.states[current.step]
        if user_input.kind == "postback":
            if user_input.action not in step.postbacks:
                return None  # another feature's button (or an entry point): the flow stays open
            return self._apply(turn, history, step.answer(turn))
        if user_input.kind != "text":
            return self._ask(turn, history, t.NOT_TEXT)
        question = step.ask(turn)
        if not _is_choice(question, user_input.text):  # a button's label is always an answer
            control = recognize(user_input.text)
            if control is not None:
                return self._control(turn, history, control)
            for fallback in self.fallbacks:
                if user_input.normalized in {normalize(w) for w in fallback.keywords}:
                    return list(fallback.handler(ctx, user_input) or [])
        return self._apply(turn, history, step.answer(turn))

    def _control(self, turn: Turn, history: list[str], control: Control) -> list[Message]:
        if control is Control.CANCEL:
            turn.ctx.conversation.clear()
            return self.cancelled(turn.ctx)
        if control is Control.HELP:
            notice = self.help(turn) if self.help else t.HELP
            return self._ask(turn, history, notice)
        if control is Control.RESTART:
            if self.restart is not None:
                first = self.restart(turn)
            else:
                first = history[0] if history else turn.step
            return self._move(turn, [], first, t.RESTARTED)
        if not history:
            return self._ask(turn, history, t.BACK_AT_START)
        previous = history.pop()
        notice = self.on_back(turn, previous) if self.on_back else None
        return self._move(turn, history, previous, notice)

    def _apply(self, turn: Turn, history: list[str], outcome: Outcome) -> list[Message] | None:
        if isinstance(outcome, str):
            outcome = End([]) if outcome == END else Go(outcome)
        if isinstance(outcome, Leave):
            turn.ctx.conversation.clear()
            return None
        if isinstance(outcome, End):
            turn.ctx.conversation.clear()
            return outcome.messages
        if isinstance(outcome, Stay):
            self._save(turn, history, turn.step)
            return self._ask(turn, history, outcome.notice)
        declared = self.states[turn.step].next
        if outcome.step not in self.states or (declared and outcome.step not in declared):
            return self._unknown_step(turn, outcome.step)
        if outcome.step != turn.step:
            history = [*history, turn.step][-MAX_HISTORY:]
        return self._move(turn, history, outcome.step, outcome.notice)

    def _move(self, turn: Turn, history: list[str], step: str, notice: str | None) -> list[Message]:
        if step not in self.states:
            return self._unknown_step(turn, step)
        self._save(turn, history, step)
        turn.step = step
        return self._ask(turn, history, notice)

    def _save(self, turn: Turn, history: list[str], step: str) -> None:
        stored = {**turn.data, HISTORY: history}
        turn.ctx.conversation.advance(step, stored, timeout=self.timeout)

    def _unknown_step(self, turn: Turn, returned: str) -> list[Message]:
        log_fields(
            logger,
            logging.ERROR,
            {"event": "flow_unknown_step", "flow": self.name, "step": turn.step,
             "returned": returned[:64]},
        )  # fmt: skip
        turn.ctx.conversation.clear()
        return [text(t.FLOW_BROKEN)]

    def _ask(self, turn: Turn, history: list[str], notice: str | None) -> list[Message]:
        step = self.states[turn.step]
        question = step.ask(turn)
        body = question.body
        if not history and self.hint:
            body += "\n" + self.hint
        quick = _quick(question.choices, step.nav)
        if question.confirm is not None:
            asked = confirm(question.alt_text or body[:40], body, *question.confirm)
            messages = [text(notice), asked] if notice else [asked]
            return [*messages[:-1], with_quick_reply(asked, quick) if quick else asked]
        if notice:
            body = notice + "\n\n" + body
        return [text(body, quick=quick)]


def _quick(choices: Sequence[Action], nav_wanted: bool = True) -> list[Action]:
    nav = [message_action(t.BACK), message_action(t.CANCEL)] if nav_wanted else []
    labels = {a.get("label") for a in choices}
    actions = [*choices, *(a for a in nav if a["label"] not in labels)]
    return actions[:MAX_QUICK_REPLIES]


def _is_choice(question: Question, typed: str) -> bool:
    word = normalize(typed)
    return any(
        word in (normalize(str(a.get("label", ""))), normalize(str(a.get("text", ""))))
        for a in question.choices
        if a.get("type") == "message"
    )


def register_flow(router: Router, flow: Flow) -> None:
    """Wire a flow into the router: its conversation handler and its entry points. Raises
    FlowError (or the router's ValueError) on a duplicate flow, keyword or postback."""
    flow.validate()
    if flow.name in router.conversations:
        raise FlowError("duplicate_flow", flow.name)
    router.conversation(flow.name)(flow.handle)
    for entry in flow.entry_points:
        if entry.keywords:
            router.keyword(*entry.keywords)(entry.handler)
        for action in entry.postbacks:
            router.postback(action)(entry.handler)
