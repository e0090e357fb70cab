"""What processes events: the router, the LINE client, the deliverer, the worker pool.

One `Services` per app (or per worker / clock process); the app factory and the CLI build it,
blueprints reach it through `bot.appstate`."""

from __future__ import annotations

import atexit

from adapters.line_client import LineClient
from adapters.runtime import Runtime
from bot.delivery import Deliverer
from bot.handlers_registry import build_router
from bot.processing import EventProcessor
from bot.wakeups import NewEventListener
from bot.worker import EventWorkerPool
from chat.understanding.data import default_understanding


class Services:
    """What processes events: the router, the LINE client, the workers."""

    def __init__(self, runtime: Runtime, line: LineClient | None = None) -> None:
        self.runtime = runtime
        self.router = build_router()
        self.line = line or LineClient(runtime.settings)
        self.deliverer = Deliverer(runtime, self.line)
        self.processor = EventProcessor(
            runtime, self.router, self.deliverer, runtime.settings.event_batch_size
        )
        self.pool: EventWorkerPool | None = None
        self.listener: NewEventListener | None = None
        self._atexit_registered = False

    def start_workers(self, threads: int, *, listen: bool = False) -> None:
        """`listen`: a worker process of its own, woken by the webhook's NOTIFY (PostgreSQL)."""
        if threads > 0 and self.pool is None:
            # Load the understanding layer (its model ~1-2 s) before the first event, not on it.
            default_understanding()
            self.pool = EventWorkerPool(self.processor, self.deliverer, threads)
            self.pool.start()
            if listen:
                self.listener = NewEventListener(self.runtime.engine, self.pool.notify).start()
            if not self._atexit_registered:
                atexit.register(self.stop_workers)
                self._atexit_registered = True

    def stop_workers(self) -> None:
        if self.listener is not None:
            self.listener.stop()
            self.listener = None
        if self.pool is not None:
            self.pool.stop()
            self.pool = None
