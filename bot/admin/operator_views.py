"""Admins manage operators: the list, and (de)activation (which ends the sessions at once)."""

from __future__ import annotations

from typing import Any

from flask import g, redirect, render_template, request, url_for
from sqlalchemy import select

from bot.admin import bp
from bot.admin import texts as t
from bot.admin.auth import admin_required
from bot.admin.labels import format_jst
from bot.appstate import get_runtime
from models.operators import Operator, OperatorError, set_active


@bp.get("/operators")
@admin_required
def operators() -> str:
    rows = list(g.session.scalars(select(Operator).order_by(Operator.email)))
    return render_template(
        "admin/operators.html",
        operators=rows,
        roles=t.ROLE_LABELS,
        fmt=format_jst,
        notice=request.args.get("notice"),
        error=None,
    )


@bp.post("/operators/<int:operator_id>/active")
@admin_required
def set_operator_active(operator_id: int) -> Any:
    operator = g.session.get(Operator, operator_id)
    if operator is None:
        return render_template("admin/message.html", title=t.ERROR_TITLE, message="-"), 404
    active = request.form.get("active") == "1"
    if not active and operator.id == g.operator.id:
        rows = list(g.session.scalars(select(Operator).order_by(Operator.email)))
        page = render_template(
            "admin/operators.html",
            operators=rows,
            roles=t.ROLE_LABELS,
            fmt=format_jst,
            notice=None,
            error=t.OPERATOR_NOT_SELF,
        )
        return page, 409
    clock = get_runtime().clock
    try:
        set_active(g.session, clock, operator.email, active, actor=g.actor)
    except OperatorError:  # pragma: no cover - the row was just read
        return render_template("admin/message.html", title=t.ERROR_TITLE, message="-"), 404
    template = t.OPERATOR_ACTIVATED if active else t.OPERATOR_DEACTIVATED
    return redirect(url_for("admin.operators", notice=template.format(email=operator.email)))
