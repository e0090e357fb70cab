"""The postback LINE sends when a user taps another tab of a tabbed rich menu.

LINE has already switched the menu (`richmenuswitch`); the bot has nothing to say. Without this
route the fallback would answer every tab tap. Register with `register(router)`.
"""

from __future__ import annotations

from chat.messages import Message
from chat.router import Context, Input, Router
from richmenu.definitions import TAB_ACTION


def tab_switched(ctx: Context, user_input: Input) -> list[Message]:
    return []


def register(router: Router) -> None:
    router.postback(TAB_ACTION)(tab_switched)
