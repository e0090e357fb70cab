"""Webhook redelivery, as LINE does it when the channel turns it on (off by default).

A webhook request the bot did not answer with 2xx (an error status, a timeout, no connection)
is sent again later with every event marked `deliveryContext.isRedelivery: true`, same
`webhookEventId` and `timestamp`, signed anew, a few times at growing intervals. LINE does not
publish its intervals; these are the emulator's (`RedeliveryQueue.delays`, settable through
`POST /_emulator/webhook/redelivery`).
"""

from __future__ import annotations

import heapq
import itertools
import json
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from emulator.webhook import deliver_raw

if TYPE_CHECKING:
    from emulator.state import EmulatorState

DEFAULT_DELAYS = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0)


def failed(status: int | None) -> bool:
    return status is None or not 200 <= status < 300


def as_redelivery(raw: bytes) -> bytes | None:
    """The body with each event marked a redelivery, or None if it is not a webhook body."""
    from emulator.webhook import encode

    try:
        body = json.loads(raw)
    except ValueError:
        return None
    events = body.get("events") if isinstance(body, dict) else None
    if not isinstance(events, list) or not events:
        return None
    for event in events:
        if isinstance(event, dict):
            event["deliveryContext"] = {"isRedelivery": True}
    return encode(body)


class RedeliveryQueue:
    """Failed webhook bodies waiting for their next attempt, sent by one daemon thread."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self.enabled = False
        self.delays: tuple[float, ...] = DEFAULT_DELAYS
        self._heap: list[tuple[float, int, bytes, int]] = []  # (due, seq, raw, attempt)
        self._seq = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self.sent = 0

    def configure(self, enabled: bool, delays: Sequence[float] | None = None) -> None:
        with self._wake:
            self.enabled = enabled
            if delays is not None:
                self.delays = tuple(float(d) for d in delays)
            if not enabled:
                self._heap.clear()

    def pending(self) -> int:
        with self._wake:
            return len(self._heap)

    def clear(self) -> None:
        with self._wake:
            self._heap.clear()
            self.sent = 0

    def after_delivery(self, raw: bytes, status: int | None, attempt: int = 0) -> None:
        """Called with each webhook request's outcome (`attempt`: 0 for the first)."""
        if not failed(status):
            return
        with self._wake:
            if not self.enabled or attempt >= len(self.delays):
                return
            body = raw if attempt else as_redelivery(raw)
            if body is None:
                return
            due = time.monotonic() + self.delays[attempt]
            heapq.heappush(self._heap, (due, next(self._seq), body, attempt + 1))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="webhook-redelivery", daemon=True
                )
                self._thread.start()
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    timeout = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._wake.wait(timeout)
                _due, _seq, raw, attempt = heapq.heappop(self._heap)
            deliver_raw(self.state, raw, attempt=attempt)
            with self._wake:
                self.sent += 1
