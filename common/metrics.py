"""Prometheus metrics (the prometheus-client library): GET /metrics on the web process; on
the worker and clock processes, a metrics server of their own when asked (METRICS_PORT)."""

from __future__ import annotations

import os
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    multiprocess,
    start_http_server,
)

EVENTS_RECEIVED = Counter(
    "benesapo_webhook_events_received_total", "Webhook events recorded", ["type"]
)
EVENTS_DUPLICATE = Counter(
    "benesapo_webhook_events_duplicate_total", "Webhook events already recorded (redelivery)"
)
WEBHOOK_REFUSED = Counter(
    "benesapo_webhook_refused_total",
    "Webhook requests answered 5xx with their events unrecorded (lost unless LINE redelivers)",
    ["reason"],
)
EVENTS_REFUSED = Counter(
    "benesapo_webhook_events_refused_total", "Events in webhook requests answered 5xx"
)
EVENTS_PROCESSED = Counter(
    "benesapo_webhook_events_processed_total", "Webhook events processed", ["type", "outcome"]
)
EVENTS_FAILED = Counter(
    "benesapo_webhook_events_failed_total", "Webhook events given up after retries", ["type"]
)
PROCESSING_LATENCY = Histogram(
    "benesapo_event_processing_seconds",
    "From receipt to processed",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
LINE_CALLS = Counter("benesapo_line_api_calls_total", "Messaging API calls", ["endpoint", "status"])


def registry() -> CollectorRegistry:
    """This process's metrics; every process's when PROMETHEUS_MULTIPROC_DIR is set."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(merged)
        return merged
    return REGISTRY


def start_metrics_server(port: int, addr: str = "0.0.0.0") -> WSGIServer:
    """prometheus-client's own HTTP server on a daemon thread (for processes that serve no
    HTTP: worker, clock); port 0 takes a free one (`server.server_port`). Stop it with
    `shutdown()` then `server_close()`. OSError when the port is taken."""
    server, _thread = start_http_server(port, addr, registry=registry())
    return server


BATCH_ROWS_FAILED = Counter(
    "benesapo_batch_rows_failed_total",
    "Rows a batch job skipped because processing them raised (logged as batch_row_failed)",
    ["job"],
)

POINTS_CHECK_BREAKS = Counter(
    "benesapo_points_check_breaks_total",
    "Members found breaking a points ledger invariant by `benesapo points check` or the nightly "
    "points_check job (totals_match: the totals over all members disagree)",
    ["invariant"],
)
