"""A ticket's one-click actions: GET asks first (the confirmation page says what will happen, in
the ticket's real figures), POST runs the action once (`bot.admin.actions.run_action`: a double
click or two operators run it once, the others get 409) and shows what happened.

Running an action takes the ticket up: it is assigned to the operator and set to 対応中
(without a push: the requester is told when the ticket is done, one click later on the result
page). A retirement or a stopped service switches the users' rich menus right after commit.
"""

from __future__ import annotations

from typing import Any

from flask import abort, after_this_request, g, render_template, url_for

from bot.admin import action_texts as at
from bot.admin import bp
from bot.admin import texts as t
from bot.admin.actions import ACTIONS, ActionError, available_actions, run_action
from bot.admin.auth import login_required
from bot.admin.consequences import ticket_preview
from bot.admin.labels import format_jst
from bot.appstate import get_runtime, get_services
from models.inquiries import Inquiry, InquiryStatus, assign, change_status, get_by_number
from models.inquiry_actions import actions_done
from models.operators import ROLE_ADMIN
from models.timeutil import jst_date
from richmenu.switching import sync_pending


def sync_menus_after_commit() -> None:
    """Switch the rich menus of the users whose link this request changed, once it commits
    (as the event workers do after an unlink by chat), not at the next periodic sync."""

    @after_this_request
    def sync(response: Any) -> Any:
        sync_pending(get_runtime(), get_services().line)
        return response


def _load(number: str, name: str) -> Inquiry:
    inquiry = get_by_number(g.session, number)
    if inquiry is None or name not in ACTIONS:
        abort(404)
    return inquiry


def _forbidden(name: str) -> tuple[str, int] | None:
    """The page for an operator who may not run an admin-only action (rendered while the
    request's session is open: the operator's row is read by the page's header)."""
    if ACTIONS[name].admin_only and g.operator.role != ROLE_ADMIN:
        page = render_template("admin/message.html", title=t.ERROR_TITLE, message=t.FORBIDDEN)
        return page, 403
    return None


def _confirm(inquiry: Inquiry, name: str, error: str | None = None) -> str:
    preview = ticket_preview(g.session, get_runtime().clock, inquiry, name)
    offered = name in available_actions(g.session, inquiry)
    return render_template(
        "admin/confirm.html",
        inquiry=inquiry,
        title=ACTIONS[name].label,
        preview=preview,
        error=error or (_why_not(inquiry, name) if not offered else preview.refused),
        runnable=offered and preview.refused is None and error is None,
        action_url=url_for("admin.action", number=inquiry.number, name=name),
        back_url=url_for("admin.detail", number=inquiry.number),
    )


def _why_not(inquiry: Inquiry, name: str) -> str:
    """Why a ticket does not offer the action: it ran already, or it does not apply."""
    if name in actions_done(g.session, inquiry):
        return t.ERR_ALREADY_DONE
    return at.CANNOT_RUN


@bp.get("/inquiries/<number>/actions/<name>")
@login_required
def action_confirm(number: str, name: str) -> Any:
    inquiry = _load(number, name)
    return _forbidden(name) or _confirm(inquiry, name)


def take_up(inquiry: Inquiry) -> bool:
    """Assign the ticket to the operator and set it to 対応中 (no push); True if it changed."""
    runtime = get_runtime()
    changed = False
    if inquiry.assignee_id != g.operator.id:
        assign(g.session, runtime.clock, inquiry, g.operator.id, g.actor)
        changed = True
    if inquiry.status in (InquiryStatus.NEW, InquiryStatus.WAITING):
        change_status(
            g.session,
            runtime.clock,
            inquiry,
            InquiryStatus.IN_PROGRESS,
            actor=g.actor,
            notify=False,
        )
        changed = True
    return changed


@bp.post("/inquiries/<number>/actions/<name>")
@login_required
def action(number: str, name: str) -> Any:
    inquiry = _load(number, name)
    refused = _forbidden(name)
    if refused is not None:
        return refused
    runtime = get_runtime()
    try:
        result = run_action(g.session, runtime.clock, inquiry, name, actor=g.actor)
    except ActionError as exc:
        return _confirm(inquiry, name, error=exc.message), 409
    take_up(inquiry)
    sync_menus_after_commit()
    return render_template(
        "admin/result.html",
        inquiry=inquiry,
        name=name,
        title=ACTIONS[name].label,
        result=result,
        done_message=at.DONE_MESSAGES.get(name, ""),
        operator_email=g.operator.email,
        issued_on=jst_date(runtime.clock.now()).isoformat(),
        fmt=format_jst,
    )
