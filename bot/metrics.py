"""Prometheus metrics (the prometheus-client library), exposed at GET /metrics."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

EVENTS_RECEIVED = Counter(
    "benesapo_webhook_events_received_total", "Webhook events recorded", ["type"]
)
EVENTS_DUPLICATE = Counter(
    "benesapo_webhook_events_duplicate_total", "Webhook events already recorded (redelivery)"
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
