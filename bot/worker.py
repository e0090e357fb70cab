"""The bounded pool of threads that processes recorded events and drains the outbox."""

from __future__ import annotations

import logging
import threading
import time

from bot.delivery import Deliverer
from bot.processing import EventProcessor
from common.logging_setup import log_fields
from richmenu.switching import sync_pending

logger = logging.getLogger("benesapo.worker")

# Even while events keep a thread busy, it sweeps the outbox this often: a reply a dead
# worker left unrecorded must be retried while its reply token is still good (REPLY_CLAIM_LEASE
# after its claim, well within the token's lifetime), not after the backlog.
BUSY_SWEEP_SECONDS = 2.0


class EventWorkerPool:
    def __init__(
        self,
        processor: EventProcessor,
        deliverer: Deliverer,
        threads: int,
        poll_interval: float = 1.0,
    ) -> None:
        self.processor = processor
        self.deliverer = deliverer
        self.size = threads
        self.poll_interval = poll_interval
        self._wake = threading.Condition()
        self._pending_signals = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for index in range(self.size):
            thread = threading.Thread(target=self._loop, name=f"event-worker-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def notify(self, count: int = 1) -> None:
        """New events may be due: wake up to `count` idle threads. At most one owed wake-up
        per thread is kept (a thread that finds work keeps claiming until there is none, so
        more would only make idle threads look again and again)."""
        with self._wake:
            self._pending_signals = min(self.size, self._pending_signals + count)
            self._wake.notify(count)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        with self._wake:
            self._wake.notify_all()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._threads.clear()

    def _loop(self) -> None:
        last_sweep = 0.0
        while not self._stop.is_set():
            try:
                worked = self.processor.run_once()
                if worked:  # a link change in that event: switch the user's rich menu now
                    sync_pending(self.processor.runtime, self.deliverer.line)
                # The outbox sweep (retries, rows a crash left behind) runs on a timer, not on
                # every wake-up, so a burst of webhooks is not slowed by it.
                since = time.monotonic() - last_sweep
                if since >= BUSY_SWEEP_SECONDS or (not worked and since >= self.poll_interval):
                    last_sweep = time.monotonic()
                    self.processor.release_stale_replies()
                    worked = self.deliverer.deliver_due() > 0 or worked
            except Exception:  # noqa: BLE001 - e.g. the database is briefly away
                log_fields(logger, logging.ERROR, {"event": "worker_loop_error"}, exc_info=True)
                worked = False
            if worked:
                continue
            with self._wake:
                if self._pending_signals == 0 and not self._stop.is_set():
                    self._wake.wait(self.poll_interval)
                self._pending_signals = max(0, self._pending_signals - 1)
