"""The expiry breakdown (a Flex card like the balance's): the expiry intent, and the
rich menu's 有効期限・履歴 tile (postback action=expiry: the card, then the history)."""

from __future__ import annotations

from typing import Any

from chat.messages import Message, card, flex, postback_action
from chat.router import Context, Input, Router
from handlers import expiry_texts as t
from handlers.balance import HISTORY_LIMIT, history_text, ledger_of, refusal
from models.points import Balance
from models.timeutil import format_jst_date, jst_date

EXPIRY_LINES = 6


def _points(value: int) -> str:
    return f"{value:,}pt"


def _small(value: str, *, color: str = "#888888", margin: str | None = None) -> dict[str, Any]:
    node: dict[str, Any] = {
        "type": "text",
        "text": value,
        "size": "xs",
        "color": color,
        "wrap": True,
    }
    if margin:
        node["margin"] = margin
    return node


def _line(label: str, value: str) -> dict[str, Any]:
    return {
        "type": "box",
        "layout": "horizontal",
        "margin": "sm",
        "contents": [
            {"type": "text", "text": label, "size": "sm", "color": "#333333", "flex": 3},
            {"type": "text", "text": value, "size": "sm", "align": "end", "flex": 2},
        ],
    }


def expiry_rows(b: Balance) -> list[dict[str, Any]]:
    """One line per last usable day (soonest first), the rest summed in one line."""
    if not b.expiring:
        return [_small(t.NO_EXPIRY, color="#333333", margin="sm")]
    shown = b.expiring[:EXPIRY_LINES]
    rows = [
        _line(t.EXPIRY_LINE.format(date=format_jst_date(x.date)), _points(x.points)) for x in shown
    ]
    rest = b.expiring[EXPIRY_LINES:]
    if rest:
        more = t.EXPIRY_MORE.format(count=len(rest), points=f"{sum(x.points for x in rest):,}")
        rows.append(_small(more, margin="sm"))
    return rows


def expiry_bubble(b: Balance) -> Message:
    body: list[dict[str, Any]] = [
        _small(t.AVAILABLE_LABEL),
        {
            "type": "text",
            "text": _points(b.available),
            "size": "xxl",
            "weight": "bold",
            "color": "#06C755",
        },
        {"type": "separator", "margin": "lg"},
        _small(t.BREAKDOWN_LABEL, margin="lg"),
        *expiry_rows(b),
    ]
    if b.pending > 0:  # points not confirmed yet have no expiry date yet
        body.append({"type": "separator", "margin": "lg"})
        body.append(_small(t.PENDING_LABEL, margin="lg"))
        body.append({"type": "text", "text": _points(b.pending), "size": "md", "margin": "sm"})
        body.append(_small(t.PENDING_NOTE, margin="sm"))
    bubble = card(
        t.TITLE,
        body,
        f"{format_jst_date(jst_date(b.as_of))}時点",
        postback_action(t.BALANCE_BUTTON, "action=balance", t.BALANCE_BUTTON),
    )
    return flex(t.ALT.format(available=f"{b.available:,}"), bubble)


def show_expiry(ctx: Context, user_input: Input) -> list[Message]:
    refused = refusal(ctx)
    if refused is not None:
        return refused
    assert ctx.member is not None
    return [expiry_bubble(ledger_of(ctx).balance(ctx.member, ctx.now))]


def show_expiry_and_history(ctx: Context, user_input: Input) -> list[Message]:
    """The rich menu's 有効期限・履歴 tile: the breakdown card, then the latest entries."""
    refused = refusal(ctx)
    if refused is not None:
        return refused
    assert ctx.member is not None
    ledger = ledger_of(ctx)
    balance = ledger.balance(ctx.member, ctx.now)
    items = ledger.history(ctx.member, limit=HISTORY_LIMIT)
    return [
        expiry_bubble(balance),
        history_text(items, ledger.policy.pending_days, balance.pending > 0),
    ]


def register(router: Router) -> None:
    router.postback("expiry")(show_expiry_and_history)
    router.on_intent("expiry")(show_expiry)
