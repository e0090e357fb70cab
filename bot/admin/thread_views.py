"""Console: a ticket's thread (the messages exchanged with the requester) on the ticket's
page, and the operator's message to the requester (POST /admin/inquiries/<number>/messages).

The thread is its own template (admin/thread.html), included from the ticket's page; it reads
the thread through the `ticket_thread` template global. An operator's message is claimed by
the form's one-time key (models.inquiry_thread), so a double click sends once; it goes by the
requester's reply token while LINE still accepts it, else by push with a retry key.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import abort, g, redirect, render_template, request, url_for

from bot.admin import bp
from bot.admin import texts as t
from bot.admin.auth import login_required
from bot.admin.labels import format_jst
from bot.appstate import get_runtime
from models import audit
from models.inquiries import Inquiry, get_by_number
from models.inquiry_thread import (
    SENDER_REQUESTER,
    TEXT_MAX,
    ThreadError,
    operator_messages,
    post_from_operator,
    thread_of,
)


@bp.app_template_global("ticket_thread")
def ticket_thread(inquiry: Inquiry) -> dict[str, Any]:
    """What admin/thread.html shows: the entries (it lists the messages: the form's answers
    and the status messages are on the ticket's page already), a fresh one-time key."""
    return {
        "entries": thread_of(g.session, inquiry),
        "client_key": uuid.uuid4().hex,
        "text_max": TEXT_MAX,
        "fmt": format_jst,
        "requester": SENDER_REQUESTER,
    }


def _load(number: str) -> Inquiry:
    inquiry = get_by_number(g.session, number[:20])
    if inquiry is None:
        abort(404)
    return inquiry


@bp.post("/inquiries/<number>/messages")
@login_required
def thread_message(number: str) -> Any:
    inquiry = _load(number)
    body = request.form.get("message", "")
    now = get_runtime().clock.now()
    try:
        message = post_from_operator(
            g.session,
            get_runtime().clock,
            inquiry,
            operator_id=g.operator.id,
            text=body,
            client_key=request.form.get("client_key", ""),
            messages=operator_messages(inquiry.number, body.strip()),
        )
    except ThreadError as exc:
        status = 409 if exc.code in {"duplicate", "closed"} else 400
        page = render_template(
            "admin/thread_page.html",
            inquiry=inquiry,
            error=t.THREAD_ERRORS[exc.code],
            draft=body[: TEXT_MAX * 2] if exc.code != "duplicate" else "",
        )
        return page, status
    audit.record(
        g.session,
        g.actor,
        "inquiry_message_sent",
        f"inquiry:{inquiry.number}",
        {"via": message.via},
        at=now,
    )
    return redirect(url_for("admin.detail", number=inquiry.number, notice=1) + "#thread")
