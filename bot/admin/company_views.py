"""Companies in the console: search (code or name), a company's page (code, plan seats, IDs
issued, linked members, HR contacts, tickets) and, for admins, suspend / resume / stop service.

A status change asks first (the confirmation page says what it does, in figures), then runs
under a row lock on the company (`SELECT … FOR UPDATE` on PostgreSQL; SQLite's write
transactions are serialized), so a double click runs it once: the second request finds the
status already changed and is answered 409.
"""

from __future__ import annotations

from typing import Any

from flask import abort, g, redirect, render_template, request, url_for
from sqlalchemy import func, or_, select

from bot.admin import action_texts as at
from bot.admin import bp
from bot.admin.action_views import sync_menus_after_commit
from bot.admin.auth import admin_required, login_required
from bot.admin.consequences import company_preview
from bot.admin.inputs import term
from bot.admin.labels import (
    COMPANY_STATUS_LABELS,
    MEMBER_KIND_LABELS,
    MEMBER_STATUS_LABELS,
    format_jst,
    iso_jst,
)
from bot.appstate import get_runtime
from common.textnorm import normalize_code
from models import companies
from models.company import Company, CompanyStatus
from models.console_facts import company_facts
from models.inquiries import OPEN_STATUSES, STATUS_LABELS, TYPE_LABELS, Inquiry, InquiryType

LIST_LIMIT = 50
# operation -> (the statuses it may start from, the status it sets)
OPERATIONS: dict[str, tuple[tuple[CompanyStatus, ...], CompanyStatus]] = {
    "suspend": ((CompanyStatus.ACTIVE,), CompanyStatus.SUSPENDED),
    "resume": ((CompanyStatus.SUSPENDED,), CompanyStatus.ACTIVE),
    "terminate": ((CompanyStatus.ACTIVE, CompanyStatus.SUSPENDED), CompanyStatus.TERMINATED),
}


def ticket_labels() -> dict[str, Any]:
    return {
        "ticket_types": {k.value: v for k, v in TYPE_LABELS.items()},
        "ticket_statuses": {k.value: v for k, v in STATUS_LABELS.items()},
        "iso": iso_jst,
    }


def find_companies(query: str, limit: int = LIST_LIMIT) -> list[Company]:
    stmt = select(Company).order_by(Company.name, Company.code).limit(limit)
    if query:
        code = normalize_code(query)
        conditions = [Company.name.contains(query, autoescape=True)]
        if code:
            conditions.append(Company.code.startswith(code, autoescape=True))
        stmt = stmt.where(or_(*conditions))
    return list(g.session.scalars(stmt))


@bp.get("/companies")
@login_required
def companies_list() -> str:
    query = term(request.args.get("q"))
    rows = find_companies(query)
    total = int(g.session.scalar(select(func.count(Company.id))) or 0)
    return render_template(
        "admin/companies.html",
        rows=rows,
        q=query,
        total=total,
        limit=LIST_LIMIT,
        statuses=COMPANY_STATUS_LABELS,
        used=lambda c: companies.seats_used(g.session, c),
        fmt=format_jst,
    )


def _company(code: str, *, lock: bool = False) -> Company:
    key = normalize_code(term(code))
    stmt = select(Company).where(Company.code == key)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    company = g.session.scalars(stmt).one_or_none()
    if company is None:
        abort(404)
    return company


@bp.get("/companies/<code>")
@login_required
def company_detail(code: str) -> str:
    company = _company(code)
    done = request.args.get("done", "")
    notice = at.COMPANY_OP_DONE[done].format(code=company.code) if done in OPERATIONS else None
    return render_template(
        "admin/company.html",
        company=company,
        facts=company_facts(g.session, company),
        notice=notice,
        statuses=COMPANY_STATUS_LABELS,
        member_statuses=MEMBER_STATUS_LABELS,
        kinds=MEMBER_KIND_LABELS,
        operations=[op for op, (start, _) in OPERATIONS.items() if company.status in start],
        op_labels=at.COMPANY_OP_LABELS,
        is_admin=g.operator.role == "admin",
        admin_only=at.COMPANY_ADMIN_ONLY,
        fmt=format_jst,
        open_stop_tickets=_open_stop_tickets(company),
        **ticket_labels(),
    )


def _open_stop_tickets(company: Company) -> list[str]:
    rows = g.session.scalars(
        select(Inquiry)
        .where(
            Inquiry.company_id == company.id,
            Inquiry.type == InquiryType.STOP_SERVICE,
            Inquiry.status.in_(OPEN_STATUSES),
        )
        .limit(10)
    )
    return [i.number for i in rows]


def _confirm(company: Company, operation: str, error: str | None = None) -> str:
    start, _ = OPERATIONS[operation]
    preview = company_preview(g.session, company, operation)
    refused = None if company.status in start else at.COMPANY_OP_REFUSED[operation]
    return render_template(
        "admin/confirm.html",
        inquiry=None,
        title=f"{company.name}（{company.code}）：{at.COMPANY_OP_LABELS[operation]}",
        preview=preview,
        error=error or refused,
        runnable=error is None and refused is None,
        action_url=url_for("admin.company_status", code=company.code, operation=operation),
        back_url=url_for("admin.company_detail", code=company.code),
    )


@bp.get("/companies/<code>/status/<operation>")
@admin_required
def company_status_confirm(code: str, operation: str) -> str:
    if operation not in OPERATIONS:
        abort(404)
    return _confirm(_company(code), operation)


@bp.post("/companies/<code>/status/<operation>")
@admin_required
def company_status(code: str, operation: str) -> Any:
    if operation not in OPERATIONS:
        abort(404)
    company = _company(code, lock=True)  # a concurrent click waits here, then sees the change
    start, target = OPERATIONS[operation]
    if company.status not in start:
        return _confirm(company, operation, error=at.COMPANY_OP_REFUSED[operation]), 409
    companies.set_company_status(
        g.session, get_runtime().clock, company.code, target, actor=g.actor
    )
    sync_menus_after_commit()
    return redirect(url_for("admin.company_detail", code=company.code, done=operation))
