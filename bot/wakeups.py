"""Wakes idle worker processes the moment the web process records events (PostgreSQL only).

A trigger on webhook_events (migration 0003) says NOTIFY when an INSERT adds events;
PostgreSQL delivers it on commit to every `benesapo worker` LISTENing, whose idle threads then
claim at once instead of at their next poll (up to a second later: the reply would wait that
long). The poll stays as the fallback: on SQLite, and while a listener reconnects. The web
process's own worker pool needs none of this: the webhook wakes it directly.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy import Engine

from common.logging_setup import log_fields
from models.db import is_postgres

logger = logging.getLogger("benesapo.worker")

CHANNEL = "benesapo_new_events"  # the trigger's, in migrations/versions/0003


class NewEventListener:
    """A thread holding one PostgreSQL connection that LISTENs; calls `wake` per notice."""

    def __init__(
        self,
        engine: Engine,
        wake: Callable[[], None],
        *,
        check_every: float = 0.5,
        reconnect_after: float = 1.0,
    ) -> None:
        self.engine = engine
        self.wake = wake
        self.check_every = check_every  # how soon stop() is noticed
        self.reconnect_after = reconnect_after
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.listening = threading.Event()  # set while LISTEN is in force

    def start(self) -> NewEventListener:
        if is_postgres(self.engine) and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="event-listener", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._listen()
            except Exception:  # noqa: BLE001 - the database went away: poll meanwhile, retry
                log_fields(logger, logging.WARNING, {"event": "event_listener_lost"}, exc_info=True)
            self.listening.clear()
            self._stop.wait(self.reconnect_after)

    def _listen(self) -> None:
        pooled = self.engine.raw_connection()
        connection = pooled.driver_connection
        pooled.detach()  # held for as long as we listen: not the pool's any more
        assert connection is not None
        try:
            connection.autocommit = True
            connection.execute(f"LISTEN {CHANNEL}")
            self.listening.set()
            self.wake()  # events recorded while nobody listened
            while not self._stop.is_set():
                for _notice in connection.notifies(timeout=self.check_every):
                    self.wake()
        finally:
            pooled.close()
