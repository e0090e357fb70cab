"""SQLite's one writer: a webhook's write (urgent) goes ahead of queued event batches."""

from __future__ import annotations

import threading
import time

from models.sqlite_lock import WriteLock


def _waiter(lock: WriteLock, name: str, order: list[str], urgent: bool) -> threading.Thread:
    def run() -> None:
        with lock.hold(urgent=urgent):
            order.append(name)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _wait_until_blocked(thread: threading.Thread) -> None:
    time.sleep(0.05)  # long enough for the thread to reach the lock's wait
    assert thread.is_alive()


def test_an_urgent_write_overtakes_the_batches_already_waiting() -> None:
    lock, order = WriteLock(), []
    with lock.hold():
        batch = _waiter(lock, "batch", order, urgent=False)
        _wait_until_blocked(batch)
        webhook = _waiter(lock, "webhook", order, urgent=True)
        _wait_until_blocked(webhook)
    for thread in (batch, webhook):
        thread.join(timeout=5)
    assert order == ["webhook", "batch"]


def test_without_urgency_the_holder_finishes_first_and_no_one_is_lost() -> None:
    lock, order = WriteLock(), []
    with lock.hold():
        threads = [_waiter(lock, f"batch{i}", order, urgent=False) for i in range(3)]
        for thread in threads:
            _wait_until_blocked(thread)
        assert order == []  # nobody writes while the lock is held
    for thread in threads:
        thread.join(timeout=5)
    assert sorted(order) == ["batch0", "batch1", "batch2"]
