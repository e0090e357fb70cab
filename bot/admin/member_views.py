"""Members in the console: search by member ID (or a company's code: its members), by a name
given in a ticket (退職者のお名前, お名前), and a member's page (status, LINE link, points
balance and history, tickets). One search box in the header (`/admin/search`) goes straight to
the member or company it names, or lists what matches."""

from __future__ import annotations

from typing import Any

from flask import g, redirect, render_template, request, url_for
from sqlalchemy import or_, select

from bot.admin import bp
from bot.admin.auth import login_required
from bot.admin.company_views import find_companies, ticket_labels
from bot.admin.inputs import term
from bot.admin.labels import (
    MEMBER_KIND_LABELS,
    MEMBER_STATUS_LABELS,
    points_kind_label,
)
from bot.appstate import get_runtime
from common.textnorm import normalize_code
from models import companies
from models.company import Company, Member
from models.console_facts import member_facts, member_status
from models.inquiries import Inquiry
from models.points import PointsLedger

LIST_LIMIT = 50
NAME_KEYS = ("retiree_name", "name")


def _members(query: str) -> list[Member]:
    code = normalize_code(query)
    if not code:
        return []
    stmt = (
        select(Member)
        .outerjoin(Company, Member.company_id == Company.id)
        .where(or_(Member.member_id.startswith(code, autoescape=True), Company.code == code))
        .order_by(Member.member_id)
        .limit(LIST_LIMIT)
    )
    return list(g.session.scalars(stmt))


def _named_in_tickets(query: str) -> list[Inquiry]:
    """Tickets whose form names a person matching `query` (e.g. the retiree's name)."""
    if len(query) < 2:
        return []
    conditions = [
        Inquiry.answers[key].as_string().contains(query, autoescape=True) for key in NAME_KEYS
    ]
    stmt = select(Inquiry).where(or_(*conditions)).order_by(Inquiry.id.desc()).limit(LIST_LIMIT)
    return list(g.session.scalars(stmt))


def _matches(query: str) -> dict[str, Any]:
    """The members (and ticket names) a search term matches, with what the list shows of them."""
    return {
        "q": query,
        "rows": _members(query) if query else [],
        "named": _named_in_tickets(query) if query else [],
        "limit": LIST_LIMIT,
        "statuses": MEMBER_STATUS_LABELS,
        "kinds": MEMBER_KIND_LABELS,
        "status_of": member_status,
    }


@bp.get("/members")
@login_required
def members_list() -> str:
    query = term(request.args.get("q"))
    return render_template("admin/members.html", **_matches(query))


@bp.get("/search")
@login_required
def search() -> Any:
    """Straight to the member or company named, else the lists that match."""
    query = term(request.args.get("q"))
    if query:
        member = companies.find_member(g.session, query)
        if member is not None:
            return redirect(url_for("admin.member_detail", member_id=member.member_id))
        company = companies.find_company(g.session, query)
        if company is not None:
            return redirect(url_for("admin.company_detail", code=company.code))
    return render_template(
        "admin/search.html", companies=find_companies(query) if query else [], **_matches(query)
    )


@bp.get("/members/<member_id>")
@login_required
def member_detail(member_id: str) -> Any:
    member = companies.find_member(g.session, term(member_id))
    if member is None:
        return render_template(
            "admin/message.html", title="会員", message="会員が見つかりません。"
        ), 404
    runtime = get_runtime()
    ledger = PointsLedger.configured(g.session, runtime.clock, runtime.settings)
    facts = member_facts(g.session, ledger, member, runtime.clock.now())
    return render_template(
        "admin/member.html",
        member=member,
        facts=facts,
        statuses=MEMBER_STATUS_LABELS,
        kinds=MEMBER_KIND_LABELS,
        kind_label=points_kind_label,
        **ticket_labels(),
    )
