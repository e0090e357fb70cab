"""The ordered router: open conversation → postback action → intent/keyword → FAQ → fallback.

Each `handlers/` module exposes `register(router)`; `bot.handlers_registry` composes them in
one place. A handler takes a `Context` and an `Input` and returns a list of message dicts
(`chat.messages`), or `None` to let the next route try.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from sqlalchemy.orm import Session

from chat.messages import Message, text
from common.config import Settings
from common.textnorm import normalize
from models.company import Member
from models.conversation import Conversation, ConversationStore
from models.line_user import LineUser
from models.timeutil import Clock


@dataclass(frozen=True)
class Input:
    """What the user sent: text typed (or sent by a message action) or a postback."""

    kind: str  # "text" | "postback" | "other" (a sticker, image, location… message)
    text: str = ""
    data: str = ""
    params: dict[str, str] = field(default_factory=dict)  # postback data, parsed as a query string
    postback_params: dict[str, Any] = field(default_factory=dict)  # LINE's date/time picker params
    message_type: str = ""  # for kind "other": LINE's message type (sticker, image, …)

    @property
    def normalized(self) -> str:
        return normalize(self.text)

    @property
    def action(self) -> str | None:
        return self.params.get("action")

    @classmethod
    def from_text(cls, text: str) -> Input:
        return cls(kind="text", text=text)

    @classmethod
    def from_other(cls, message_type: str) -> Input:
        return cls(kind="other", message_type=message_type)

    @classmethod
    def from_postback(cls, data: str, params: dict[str, Any] | None = None) -> Input:
        return cls(
            kind="postback",
            data=data,
            params=dict(parse_qsl(data, keep_blank_values=True)),
            postback_params=params or {},
        )


@dataclass
class Context:
    line_user_id: str
    session: Session
    clock: Clock
    settings: Settings
    line_user: LineUser
    event: dict[str, Any]
    language: str = "ja"
    handled_by: str | None = None  # set by the router, for logs

    @property
    def member(self) -> Member | None:
        """The linked member, if any (whatever the member's or company's status)."""
        return self.line_user.member

    @property
    def now(self) -> datetime:
        return self.clock.now()

    @property
    def conversation(self) -> ConversationStore:
        return ConversationStore(self.session, self.line_user_id, self.clock)


Handler = Callable[[Context, Input], Sequence[Message] | None]
EventHandler = Callable[[Context], Sequence[Message] | None]
# (context, input, the messages produced, the conversation open when the input arrived)
AfterHook = Callable[[Context, Input, list[Message], str | None], None]


@dataclass
class _KeywordRoute:
    words: frozenset[str]
    handler: Handler
    prefix: bool


class Router:
    def __init__(self) -> None:
        self.conversations: dict[str, Handler] = {}
        self.postbacks: dict[str, Handler] = {}
        self.keywords: list[_KeywordRoute] = []
        self.intents: list[tuple[Callable[[Context, Input], bool], Handler]] = []
        self.intent_handlers: dict[str, Handler] = {}  # understood intent id → its handler
        self.faq_handler: Handler | None = None
        self.fallback_handler: Handler | None = None
        self.event_handlers: dict[str, EventHandler] = {}
        self.after_hooks: list[AfterHook] = []
        # conversation name → its own "it expired" notice (else `expired_notice`)
        self.expiry_notices: dict[str, Callable[[Conversation], list[Message]]] = {}

    # -- registration ---------------------------------------------------------------------
    def conversation(self, name: str) -> Callable[[Handler], Handler]:
        """Handles input while the user's open conversation is `name`."""

        def decorate(fn: Handler) -> Handler:
            if name in self.conversations:
                raise ValueError(f"conversation {name!r} registered twice")
            self.conversations[name] = fn
            return fn

        return decorate

    def postback(self, action: str) -> Callable[[Handler], Handler]:
        """Handles postbacks whose data has `action=<action>`."""

        def decorate(fn: Handler) -> Handler:
            if action in self.postbacks:
                raise ValueError(f"postback action {action!r} registered twice")
            self.postbacks[action] = fn
            return fn

        return decorate

    def keyword(self, *words: str, prefix: bool = False) -> Callable[[Handler], Handler]:
        """Handles text equal (after normalisation) to one of `words`, or starting with one."""

        normalized = frozenset(normalize(w) for w in words)
        taken = {w for route in self.keywords for w in route.words}
        if normalized & taken:
            raise ValueError(f"keywords registered twice: {sorted(normalized & taken)}")

        def decorate(fn: Handler) -> Handler:
            self.keywords.append(_KeywordRoute(normalized, fn, prefix))
            return fn

        return decorate

    def intent(self, predicate: Callable[[Context, Input], bool]) -> Callable[[Handler], Handler]:
        def decorate(fn: Handler) -> Handler:
            self.intents.append((predicate, fn))
            return fn

        return decorate

    def on_intent(self, intent_id: str) -> Callable[[Handler], Handler]:
        """Runs when the understanding layer is confident the message means `intent_id`
        (an id of chat/understanding/intents.yaml)."""

        def decorate(fn: Handler) -> Handler:
            if intent_id in self.intent_handlers:
                raise ValueError(f"intent {intent_id!r} registered twice")
            self.intent_handlers[intent_id] = fn
            return fn

        return decorate

    def check_intents(self, declared: Iterable[str]) -> None:
        """Every declared intent has a handler and every handler a declared intent."""
        declared = set(declared)
        missing = sorted(declared - self.intent_handlers.keys())
        unknown = sorted(self.intent_handlers.keys() - declared)
        if missing or unknown:
            raise ValueError(
                f"intents without a handler: {missing}; handlers of no intent: {unknown}"
            )

    def faq(self, fn: Handler) -> Handler:
        self.faq_handler = fn
        return fn

    def fallback(self, fn: Handler) -> Handler:
        self.fallback_handler = fn
        return fn

    def after_dispatch(self, fn: AfterHook) -> AfterHook:
        """Runs after every dispatched input, with the messages it produced."""
        self.after_hooks.append(fn)
        return fn

    def expiry_notice(
        self, name: str
    ) -> Callable[
        [Callable[[Conversation], list[Message]]], Callable[[Conversation], list[Message]]
    ]:
        """What the user is told when the conversation `name` has expired."""

        def decorate(
            fn: Callable[[Conversation], list[Message]],
        ) -> Callable[[Conversation], list[Message]]:
            self.expiry_notices[name] = fn
            return fn

        return decorate

    def on_event(self, event_type: str) -> Callable[[EventHandler], EventHandler]:
        """Handles a non-message event type (follow, unfollow, accountLink, …)."""

        def decorate(fn: EventHandler) -> EventHandler:
            self.event_handlers[event_type] = fn
            return fn

        return decorate

    def is_flow_word(self, text: str) -> bool:
        """True if the text is a keyword some flow owns (the FAQ must not capture it)."""
        normalized = normalize(text)
        return self._keyword_route(normalized) is not None

    # -- dispatch -------------------------------------------------------------------------
    def _keyword_route(self, normalized: str) -> _KeywordRoute | None:
        for route in self.keywords:
            if normalized in route.words:
                return route
        for route in self.keywords:
            if route.prefix and any(normalized.startswith(w) for w in route.words):
                return route
        return None

    def dispatch(self, ctx: Context, user_input: Input) -> list[Message]:
        open_before = ctx.conversation.current()
        started_in = open_before.name if open_before is not None else None
        messages = self._dispatch(ctx, user_input)
        for hook in self.after_hooks:
            hook(ctx, user_input, messages, started_in)
        return messages

    def _dispatch(self, ctx: Context, user_input: Input) -> list[Message]:
        notices: list[Message] = []
        conversation = ctx.conversation.current()
        if conversation is not None and conversation.is_expired(ctx.now):
            notices.extend(self.expiry_notices.get(conversation.name, expired_notice)(conversation))
            ctx.conversation.clear()
            conversation = None
        if conversation is not None:
            handler = self.conversations.get(conversation.name)
            if handler is None:
                ctx.conversation.clear()
            else:
                result = _call(ctx, handler, user_input)
                if result is not None:
                    return notices + result
        if user_input.kind == "other":  # no open flow took it: the message type's own answer
            result = self.dispatch_event(ctx, f"message:{user_input.message_type}")
            if result is None:
                result = self.dispatch_event(ctx, "message:other")
            return notices + (result or [])
        for handler in self._candidates(ctx, user_input):
            result = _call(ctx, handler, user_input)
            if result is not None:
                return notices + result
        return notices

    def _candidates(self, ctx: Context, user_input: Input) -> list[Handler]:
        candidates: list[Handler] = []
        if user_input.kind == "postback":
            action = user_input.action
            if action and action in self.postbacks:
                candidates.append(self.postbacks[action])
            # A postback with an unknown action is answered by the fallback, never the FAQ.
        else:
            route = self._keyword_route(user_input.normalized)
            if route is not None:
                candidates.append(route.handler)
            candidates.extend(h for p, h in self.intents if p(ctx, user_input))
            if self.faq_handler is not None:
                candidates.append(self.faq_handler)
        if self.fallback_handler is not None:
            candidates.append(self.fallback_handler)
        return candidates

    def dispatch_event(self, ctx: Context, event_type: str) -> list[Message] | None:
        handler = self.event_handlers.get(event_type)
        if handler is None:
            return None
        ctx.handled_by = _name(handler)
        result = handler(ctx)
        return list(result) if result is not None else None


def _name(handler: Callable[..., Any]) -> str:
    return f"{handler.__module__}.{handler.__name__}"


def _call(ctx: Context, handler: Handler, user_input: Input) -> list[Message] | None:
    ctx.handled_by = _name(handler)
    result = handler(ctx, user_input)
    return list(result) if result is not None else None


def expired_notice(conversation: Conversation) -> list[Message]:
    return [
        text(
            "前回のお手続きは30分間操作がなかったため終了しました。"
            "お手数ですが、もう一度はじめからお願いいたします。"
        )
    ]
