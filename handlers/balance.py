"""Points balance (Flex bubble) and history in the chat: "ポイント" / "残高" / "履歴"."""

from __future__ import annotations

from typing import Any

from chat.messages import Message, card, flex, message_action, postback_action, text
from chat.router import Context, Input, Router
from handlers import balance_texts as t
from models.company import CompanyStatus, MemberStatus
from models.points import Balance, HistoryItem, PointsLedger
from models.timeutil import format_jst_date, jst_date

HISTORY_LIMIT = 10
PENDING_LINES = 3


def refusal(ctx: Context) -> list[Message] | None:
    member = ctx.member
    if member is None:
        return [text(t.NOT_LINKED, quick=[message_action(t.LINK_LABEL, t.LINK_TEXT)])]
    if member.status is not MemberStatus.ACTIVE:
        return [text(t.RETIRED)]
    if member.company.status is not CompanyStatus.ACTIVE:
        return [text(t.COMPANY_INACTIVE)]
    return None


def ledger_of(ctx: Context) -> PointsLedger:
    return PointsLedger.configured(ctx.session, ctx.clock, ctx.settings)


def _points(value: int) -> str:
    return t.POINTS.format(points=f"{value:,}")


def _row(label: str, value: str, *, bold: bool = False, color: str = "#333333") -> dict[str, Any]:
    return {
        "type": "box",
        "layout": "vertical",
        "margin": "md",
        "contents": [
            {"type": "text", "text": label, "size": "xs", "color": "#888888"},
            {
                "type": "text",
                "text": value,
                "size": "md",
                "wrap": True,
                "color": color,
                "weight": "bold" if bold else "regular",
            },
        ],
    }


def balance_bubble(b: Balance) -> Message:
    """available, pending with their dates, the next expiry, any debt."""
    if b.pending_lots:
        lines = [
            f"{_points(x.points)}（{t.PENDING_LINE.format(date=format_jst_date(x.date))}）"
            for x in b.pending_lots[:PENDING_LINES]
        ]
        if len(b.pending_lots) > PENDING_LINES:
            lines.append(t.PENDING_MORE.format(count=len(b.pending_lots) - PENDING_LINES))
        pending = "\n".join(lines)
    else:
        pending = t.NO_PENDING
    if b.expiring:
        nxt = b.expiring[0]
        expiry = t.NEXT_EXPIRY.format(date=format_jst_date(nxt.date), points=f"{nxt.points:,}")
    else:
        expiry = t.NO_EXPIRY
    body: list[dict[str, Any]] = [
        {"type": "text", "text": t.AVAILABLE_LABEL, "size": "xs", "color": "#888888"},
        {
            "type": "text",
            "text": _points(b.available),
            "size": "xxl",
            "weight": "bold",
            "color": "#06C755",
        },
        {"type": "separator", "margin": "lg"},
        _row(t.PENDING_LABEL, f"{_points(b.pending)}\n{pending}" if b.pending else pending),
        _row(t.NEXT_EXPIRY_LABEL, expiry),
    ]
    if b.debt_yen > 0:
        body.append(
            _row(t.DEBT_LABEL, t.DEBT.format(yen=f"{b.debt_yen:,}"), bold=True, color="#D0342C")
        )
        body.append(
            {
                "type": "text",
                "text": t.DEBT_NOTE,
                "size": "xxs",
                "wrap": True,
                "color": "#888888",
                "margin": "sm",
            }
        )
    bubble = card(
        t.TITLE,
        body,
        t.AS_OF.format(date=format_jst_date(jst_date(b.as_of))),
        postback_action(t.HISTORY_BUTTON, "action=history", t.HISTORY_BUTTON),
    )
    return flex(t.ALT.format(available=f"{b.available:,}"), bubble)


def _history_line(item: HistoryItem) -> str:
    label = t.KIND_LABELS.get(item.kind, t.KIND_UNKNOWN)
    if item.kind in ("debt", "debt_cleared"):
        amount = f"{item.debt_yen:+,}円"
    elif item.points:
        amount = f"{item.points:+,}pt"
    else:
        amount = ""
    line = t.HISTORY_LINE.format(
        date=format_jst_date(jst_date(item.occurred_at)), label=label, amount=amount
    ).rstrip()
    if item.reason and item.kind in t.KINDS_WITH_REASON:
        line += t.HISTORY_REASON.format(reason=item.reason[:40])
    return line


def history_text(items: list[HistoryItem], pending_days: int, pending: bool = True) -> Message:
    """The latest entries; the note on points awaiting confirmation only when there are some."""
    if not items:
        return text(t.HISTORY_EMPTY)
    lines = [t.HISTORY_TITLE.format(count=len(items))]
    lines.extend(_history_line(item) for item in items)
    if pending:
        lines.append(t.HISTORY_FOOTER.format(days=pending_days))
    return text("\n".join(lines))


def show_balance(ctx: Context, user_input: Input) -> list[Message]:
    refused = refusal(ctx)
    if refused is not None:
        return refused
    assert ctx.member is not None
    return [balance_bubble(ledger_of(ctx).balance(ctx.member, ctx.now))]


def show_history(ctx: Context, user_input: Input) -> list[Message]:
    refused = refusal(ctx)
    if refused is not None:
        return refused
    assert ctx.member is not None
    ledger = ledger_of(ctx)
    items = ledger.history(ctx.member, limit=HISTORY_LIMIT)
    pending = ledger.balance(ctx.member, ctx.now).pending > 0
    return [history_text(items, ledger.policy.pending_days, pending)]


def register(router: Router) -> None:
    router.keyword(*t.BALANCE_WORDS)(show_balance)
    router.postback("balance")(show_balance)
    router.keyword(*t.HISTORY_WORDS)(show_history)
    router.postback("history")(show_history)
    router.on_intent("balance")(show_balance)
    router.on_intent("history")(show_history)
