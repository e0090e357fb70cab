"""GET /healthz and GET /metrics (the latter only with METRICS_TOKEN)."""

from __future__ import annotations

import hmac

from flask import Blueprint, Response, current_app, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from bot.appstate import get_runtime
from common import metrics
from models.events import backlog_size

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    runtime = get_runtime()
    try:
        with runtime.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return jsonify({"status": "unavailable", "database": "down"}), 503
    return jsonify({"status": "ok", "database": "up"}), 200


class BacklogCollector:
    """Backlog size read from the database at scrape time (true across processes)."""

    def __init__(self, app) -> None:  # type: ignore[no-untyped-def]
        self.app = app

    def collect(self):  # type: ignore[no-untyped-def]
        gauge = GaugeMetricFamily(
            "benesapo_webhook_backlog", "Recorded webhook events not yet processed"
        )
        try:
            with get_runtime(self.app).session_factory() as session:
                gauge.add_metric([], backlog_size(session))
        except SQLAlchemyError:
            return
        yield gauge


def _metrics_allowed() -> bool:
    """Only with `Authorization: Bearer <METRICS_TOKEN>` (never without a token set)."""
    token = get_runtime().settings.metrics_token
    sent = request.headers.get("Authorization", "")
    return bool(token) and hmac.compare_digest(sent.encode(), f"Bearer {token}".encode())


@bp.get("/metrics")
def metrics_view():  # type: ignore[no-untyped-def]
    """The web process's metrics, for a scraper that holds METRICS_TOKEN; 404 for anyone else
    (the worker and clock serve theirs on METRICS_PORT)."""
    if not _metrics_allowed():
        return jsonify({"error": "not found"}), 404
    body = generate_latest(metrics.registry())
    extra = CollectorRegistry()
    extra.register(BacklogCollector(current_app._get_current_object()))  # type: ignore[attr-defined]
    body += generate_latest(extra)
    return Response(body, mimetype=CONTENT_TYPE_LATEST)
