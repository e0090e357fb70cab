"""Routes of the console: ticket list and detail, assign, status, actions, audit (login,
sessions and roles: bot.admin.auth)."""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import urlencode

from flask import (
    abort,
    g,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.admin import bp
from bot.admin import texts as t
from bot.admin.actions import ACTIONS, available_actions
from bot.admin.auth import admin_required, login_required
from bot.admin.inputs import term
from bot.admin.labels import (
    actor_label,
    details_text,
    format_jst,
    operation_label,
    preview,
    requester_text,
)
from bot.appstate import get_runtime
from models import audit
from models.companies import Credential, IssuedIds
from models.inquiries import (
    STATUS_LABELS,
    TYPE_LABELS,
    InquiryError,
    InquiryStatus,
    InquiryType,
    answer_items,
    assign,
    change_status,
    company_label,
    get_by_number,
    search,
)
from models.operators import Operator
from models.timeutil import jst_date

PER_PAGE = 20


def _runtime() -> Any:
    return get_runtime()


# -- tickets -----------------------------------------------------------------------------------


@bp.get("/")
@login_required
def index() -> Any:
    return redirect(url_for("admin.inquiries"))


MAX_PAGE = 500  # bounded paging: deeper pages are reached by narrowing the filters


@bp.get("/inquiries")
@login_required
def inquiries() -> str:
    status = request.args.get("status", "open")
    kind = request.args.get("type", "")
    company = term(request.args.get("company"))
    who = request.args.get("assignee", "")
    try:
        page_no = min(MAX_PAGE, max(1, int(request.args.get("page", "1")[:6])))
    except ValueError:
        page_no = 1
    if status not in {"", "open", *(s.value for s in InquiryStatus)}:
        status = "open"
    if kind not in {"", *(k.value for k in InquiryType)}:
        kind = ""
    operators = list(g.session.scalars(select(Operator).order_by(Operator.email)))
    if who not in {"", "me", "none", *(str(o.id) for o in operators)}:
        who = ""
    assignee: int | str | None = {"": None, "none": "none", "me": g.operator.id}.get(who)
    if assignee is None and who:
        assignee = int(who)
    page = search(
        g.session,
        status=status or None,
        type=kind or None,
        company=company or None,
        assignee=assignee,
        page=page_no,
        per_page=PER_PAGE,
    )
    filters = {"status": status, "type": kind, "company": company, "assignee": who}

    def page_url(number: int) -> str:
        return url_for("admin.inquiries") + "?" + urlencode({**filters, "page": number})

    return render_template(
        "admin/list.html",
        page=page,
        filters=filters,
        page_url=page_url,
        max_page=MAX_PAGE,
        statuses=STATUS_LABELS,
        types=TYPE_LABELS,
        operators=operators,
        company_label=company_label,
        format_jst=format_jst,
        preview=preview,
        requester=requester_text,
        assignee=lambda i: _assignee(g.session, i.assignee_id),
    )


def _assignee(session: Session, operator_id: int | None) -> str:
    if operator_id is None:
        return t.UNASSIGNED
    operator = session.get(Operator, operator_id)
    return operator.email if operator else "-"


def _load(number: str) -> Any:
    inquiry = get_by_number(g.session, number)
    if inquiry is None:
        abort(404)
    return inquiry


def _detail(inquiry: Any, notice: str | None = None, error: str | None = None) -> str:
    from models.line_user import LineUser

    user = g.session.get(LineUser, inquiry.line_user_id)
    return render_template(
        "admin/detail.html",
        inquiry=inquiry,
        answers=answer_items(inquiry.answers),
        company=company_label(inquiry),
        assignee=_assignee(g.session, inquiry.assignee_id),
        statuses=STATUS_LABELS,
        actions=available_actions(g.session, inquiry, admin=g.operator.role == "admin"),
        action_labels={k: a.label for k, a in ACTIONS.items()},
        blocked=user is None or user.blocked,
        format_jst=format_jst,
        operator_email=lambda oid: _assignee(g.session, oid),
        actor=lambda who: actor_label(g.session, who, _requester_id(inquiry)),
        requester=requester_text(inquiry),
        notice=notice,
        error=error,
        history=list(inquiry.events),
    )


def _requester_id(inquiry: Any) -> str | None:
    return inquiry.requester.member_id if inquiry.requester is not None else None


@bp.get("/inquiries/<number>")
@login_required
def detail(number: str) -> str:
    inquiry = _load(number)
    return _detail(inquiry, notice=request.args.get("notice") and t.SAVED)


@bp.post("/inquiries/<number>/assign")
@login_required
def assign_to_me(number: str) -> Any:
    inquiry = _load(number)
    assign(g.session, _runtime().clock, inquiry, g.operator.id, g.actor)
    return redirect(url_for("admin.detail", number=inquiry.number, notice=1))


@bp.post("/inquiries/<number>/status")
@login_required
def set_status(number: str) -> Any:
    inquiry = _load(number)
    status = request.form.get("status", "")
    message = request.form.get("message", "")
    if status not in {s.value for s in InquiryStatus}:
        return _detail(inquiry, error=t.BAD_STATUS), 400
    try:
        change_status(
            g.session,
            _runtime().clock,
            inquiry,
            status,
            actor=g.actor,
            message=message,
            service_name=_runtime().settings.service_name,
        )
    except InquiryError as exc:
        return _detail(inquiry, error=t.STATUS_ERRORS.get(exc.code, exc.message)), 400
    return redirect(url_for("admin.detail", number=inquiry.number, notice=1))


@bp.post("/idlist.xlsx")
@login_required
def id_list() -> Any:
    """The 初期ID・パスワード一覧 workbook of IDs just issued (from the result page's form: the
    passwords are never stored, so the page that shows them once also carries them here)."""
    from adapters.idlist import write_id_list

    code = request.form.get("company_code", "")
    name = request.form.get("company_name", "")
    ids = request.form.getlist("member_id")
    pws = request.form.getlist("password")
    if not code or not ids or len(ids) != len(pws):
        abort(400)
    issued = IssuedIds(code, name, [Credential(m, p) for m, p in zip(ids, pws, strict=True)], [])
    buffer = io.BytesIO()
    write_id_list(buffer, issued, jst_date(_runtime().clock.now()), note=t.IDLIST_NOTE)
    buffer.seek(0)
    audit.record(
        g.session,
        g.actor,
        "id_list_downloaded",
        f"company:{code}",
        {"member_ids": ids},
        at=_runtime().clock.now(),
    )
    return send_file(
        buffer,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        as_attachment=True,
        download_name=f"id_list_{code}_{jst_date(_runtime().clock.now()):%Y%m%d}.xlsx",
    )


# -- audit log ---------------------------------------------------------------------------------


@bp.get("/audit")
@admin_required
def audit_log() -> str:
    target = term(request.args.get("target"), 100)
    stmt = select(audit.AuditEntry).order_by(audit.AuditEntry.id.desc()).limit(200)
    if target:
        stmt = stmt.where(audit.AuditEntry.target == target)
    entries = list(g.session.scalars(stmt))
    return render_template(
        "admin/audit.html",
        entries=entries,
        target=target,
        fmt=format_jst,
        operation=operation_label,
        actor=lambda who: actor_label(g.session, who),
        details=details_text,
    )
