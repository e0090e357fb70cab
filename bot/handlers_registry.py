"""Composes every handlers/ module's routes into one router, in one place."""

from __future__ import annotations

import importlib

from chat.router import Router
from chat.understanding.data import intents as declared_intents

# Each module defines `register(router: Router) -> None`. Order matters only for intents.
HANDLER_MODULES = [
    "handlers.greeting",
    "handlers.reminders",
    "handlers.linking",
    "handlers.unlink",
    "handlers.inquiry",
    "handlers.ticket_reply",
    "handlers.handoff",
    "handlers.faq",
    "handlers.understand",
    "handlers.balance",
    "handlers.expiry",
    "richmenu.handler",
]


def build_router(modules: list[str] | None = None) -> Router:
    router = Router()
    for name in modules or HANDLER_MODULES:
        importlib.import_module(name).register(router)
    if modules is None:
        router.check_intents(declared_intents())
    return router
