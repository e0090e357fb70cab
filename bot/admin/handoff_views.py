"""Console: live chats handed to a person (要対応 / 対応中 / 対応済み), a chat's page (who the
user is, the transcript, reply with canned replies, notes, 対応済みにする).

Every view of a transcript is written to the audit log with the viewer. Opening a chat marks
the user's messages read on LINE (mark-as-read API, after the page's transaction commits).
An operator's reply is claimed by the form's one-time key, so a double click sends once.
"""

from __future__ import annotations

import logging
import uuid
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from flask import abort, after_this_request, g, redirect, render_template, request, url_for
from sqlalchemy import select

from adapters.line_client import LineApiError
from bot.admin import bp
from bot.admin import texts as t
from bot.admin.auth import login_required, unit_of_work
from bot.admin.labels import format_jst, preview
from bot.appstate import get_runtime, get_services
from common.logging_setup import log_fields
from handlers.handoff import (
    CONVERSATION,
    CONVERSATION_TIMEOUT,
    closed_message,
    operator_message,
)
from models import audit, handoff_lists
from models import handoff as handoffs
from models.console_facts import last_user_lines
from models.conversation import ConversationStore
from models.credentials import looks_like_password
from models.events import enqueue_messages
from models.handoff import STATUS_LABELS, Handoff, HandoffError, HandoffStatus
from models.inquiries import OPEN_STATUSES, Inquiry
from models.operators import Operator
from models.points import PointsLedger

logger = logging.getLogger("benesapo.admin")
CANNED_FILE = Path(__file__).with_name("canned_replies.yaml")


@lru_cache(maxsize=1)
def canned_replies() -> list[dict[str, str]]:
    """The canned replies (label, text) of canned_replies.yaml."""
    data = yaml.safe_load(CANNED_FILE.read_text(encoding="utf-8")) or []
    return [{"label": str(item["label"]), "text": str(item["text"])} for item in data]


def _load(handoff_id: int) -> Handoff:
    handoff = g.session.get(Handoff, handoff_id)
    if handoff is None:
        abort(404)
    return handoff


def _email(operator_id: int | None) -> str:
    if operator_id is None:
        return t.UNASSIGNED
    operator = g.session.get(Operator, operator_id)
    return operator.email if operator else "-"


@bp.get("/handoffs")
@login_required
def handoff_list() -> str:
    status = request.args.get("status", HandoffStatus.WAITING.value)
    if status not in {s.value for s in HandoffStatus}:
        status = HandoffStatus.WAITING.value
    rows = handoff_lists.search(g.session, status)
    return render_template(
        "admin/handoffs.html",
        rows=rows,
        status=status,
        statuses={s.value: label for s, label in STATUS_LABELS.items()},
        counts=handoff_lists.counts(g.session),
        user_label=handoff_lists.user_label,
        unread=handoff_lists.unread_counts(g.session, [h.id for h in rows]),
        last_lines=last_user_lines(g.session, [h.id for h in rows]),
        preview=lambda text: preview({"detail": text}),
        assignee=_email,
        fmt=format_jst,
    )


def _profile(handoff: Handoff) -> dict[str, Any]:
    """Who the user is: member, company, points balance, open tickets."""
    member = handoff.member
    tickets = list(
        g.session.scalars(
            select(Inquiry)
            .where(Inquiry.line_user_id == handoff.line_user_id, Inquiry.status.in_(OPEN_STATUSES))
            .order_by(Inquiry.id.desc())
            .limit(20)
        )
    )
    profile: dict[str, Any] = {"member": member, "tickets": tickets, "balance": None}
    if member is not None:
        runtime = get_runtime()
        ledger = PointsLedger.configured(g.session, runtime.clock, runtime.settings)
        profile["balance"] = ledger.balance(member, runtime.clock.now()).available
    return profile


def _page(handoff: Handoff, notice: str | None = None, error: str | None = None) -> str:
    audit.record(
        g.session,
        g.actor,
        "handoff_viewed",
        f"handoff:{handoff.id}",
        {"user": handoff_lists.user_label(handoff)},
        at=get_runtime().clock.now(),
    )
    unread = handoffs.unread_token(handoff)
    if unread is not None and handoff.is_open:
        _mark_read_after_commit(*unread)
    return render_template(
        "admin/handoff.html",
        handoff=handoff,
        user=handoff_lists.user_label(handoff),
        closed_by=handoff_lists.closed_by_label(handoff),
        profile=_profile(handoff),
        lines=handoff.messages,
        canned=canned_replies(),
        client_key=uuid.uuid4().hex,
        assignee=_email(handoff.assignee_id),
        operator_email=_email,
        fmt=format_jst,
        notice=notice,
        error=error,
        reply_max=handoffs.REPLY_MAX,
        note_max=handoffs.NOTE_MAX,
    )


def _mark_read_after_commit(token: str, ids: list[int]) -> None:
    @after_this_request
    def mark(response: Any) -> Any:
        try:
            get_services().line.mark_as_read(token)
        except LineApiError as exc:  # the chat is shown anyway; read next time it is opened
            log_fields(
                logger, logging.WARNING, {"event": "mark_as_read_failed", "status": exc.status}
            )
            return response
        with unit_of_work() as session:
            handoffs.mark_read(session, ids, get_runtime().clock.now())
        return response


@bp.get("/handoffs/<int:handoff_id>")
@login_required
def handoff_detail(handoff_id: int) -> str:
    notice = t.HANDOFF_NOTICES.get(request.args.get("notice", ""))
    return _page(_load(handoff_id), notice=notice)


@bp.post("/handoffs/<int:handoff_id>/reply")
@login_required
def handoff_reply(handoff_id: int) -> Any:
    handoff = _load(handoff_id)
    body = request.form.get("message", "").strip()
    canned = request.form.get("canned", "")
    if not body and canned:
        texts = {c["label"]: c["text"] for c in canned_replies()}
        body = texts.get(canned, "")
    if looks_like_password(body):
        return _page(handoff, error=t.STATUS_ERRORS["message_has_password"]), 400
    now = get_runtime().clock.now()
    try:
        handoffs.reply(
            g.session,
            handoff,
            operator_id=g.operator.id,
            text=body,
            client_key=request.form.get("client_key", ""),
            now=now,
            messages=operator_message(body),
        )
    except HandoffError as exc:
        status = 409 if exc.code in {"duplicate", "closed"} else 400
        return _page(handoff, error=t.HANDOFF_ERRORS[exc.code]), status
    _live_again(handoff)
    audit.record(g.session, g.actor, "handoff_replied", f"handoff:{handoff.id}", {}, at=now)
    return redirect(url_for("admin.handoff_detail", handoff_id=handoff.id, notice="sent"))


def _live_again(handoff: Handoff) -> None:
    """After an operator's reply the user's next messages go to the operator again."""
    store = ConversationStore(g.session, handoff.line_user_id, get_runtime().clock)
    current = store.current()
    if current is None or current.name == CONVERSATION or current.is_expired(store.clock.now()):
        store.start(CONVERSATION, "live", timeout=CONVERSATION_TIMEOUT)


@bp.post("/handoffs/<int:handoff_id>/note")
@login_required
def handoff_note(handoff_id: int) -> Any:
    handoff = _load(handoff_id)
    try:
        handoffs.set_note(handoff, request.form.get("note", ""))
    except HandoffError as exc:
        return _page(handoff, error=t.HANDOFF_ERRORS[exc.code]), 400
    now = get_runtime().clock.now()
    audit.record(g.session, g.actor, "handoff_note", f"handoff:{handoff.id}", {}, at=now)
    return redirect(url_for("admin.handoff_detail", handoff_id=handoff.id, notice="note"))


@bp.post("/handoffs/<int:handoff_id>/close")
@login_required
def handoff_close(handoff_id: int) -> Any:
    handoff = _load(handoff_id)
    now = get_runtime().clock.now()
    was_live = handoff.live
    if not handoffs.close_by_operator(g.session, handoff, now, g.actor):
        return _page(handoff, error=t.HANDOFF_ERRORS["closed"]), 409
    store = ConversationStore(g.session, handoff.line_user_id, get_runtime().clock)
    current = store.current()
    if current is not None and current.name == CONVERSATION:
        store.clear()
    if was_live:
        notice = closed_message()
        handoffs.add_line(g.session, handoff, handoffs.SENDER_BOT, notice[0]["text"], now)
        enqueue_messages(
            g.session,
            dedupe_key=f"handoff-closed:{handoff.id}",
            to=[handoff.line_user_id],
            messages=notice,
            now=now,
        )
    audit.record(g.session, g.actor, "handoff_closed", f"handoff:{handoff.id}", {}, at=now)
    return redirect(url_for("admin.handoff_detail", handoff_id=handoff.id, notice="closed"))
