"""SQLite's one writer, shared fairly by the threads of one process, the webhook first.

SQLite's own busy handler sleeps and retries (it starves some threads for seconds), so the
threads of a process queue on this lock instead. A statement that a webhook acknowledgement
waits for (`urgent`) goes ahead of every waiting transaction: it still waits for the one that
holds the lock, never for the queue of event batches behind it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class WriteLock:
    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._held = False
        self._urgent_waiting = 0

    @contextmanager
    def hold(self, *, urgent: bool = False) -> Iterator[None]:
        with self._cond:
            if urgent:
                self._urgent_waiting += 1
                try:
                    while self._held:
                        self._cond.wait()
                finally:
                    self._urgent_waiting -= 1
            else:
                while self._held or self._urgent_waiting:
                    self._cond.wait()
            self._held = True
        try:
            yield
        finally:
            with self._cond:
                self._held = False
                self._cond.notify_all()
