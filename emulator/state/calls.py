"""The Messaging API calls as the emulator answered them, and the faults queued for them."""

from __future__ import annotations

import threading
from dataclasses import replace

from emulator.state.records import FAULT_BEFORE, FAULT_WHEN, Fault, RecordedCall

MAX_RECORDED_CALLS = 10_000


class CallLog:
    """The recording and fault part of `EmulatorState` (its one lock)."""

    lock: threading.Lock

    def _init_calls(self) -> None:
        self.calls: list[RecordedCall] = []
        self.faults: list[Fault] = []

    def _reset_calls_locked(self) -> None:
        self.calls.clear()
        self.faults.clear()

    def record(self, call: RecordedCall) -> None:
        with self.lock:
            self.calls.append(call)
            if len(self.calls) > MAX_RECORDED_CALLS:
                del self.calls[: len(self.calls) - MAX_RECORDED_CALLS]

    def recorded_calls(self, path_prefix: str | None = None, after: int = 0) -> list[RecordedCall]:
        """The calls whose path starts with `path_prefix`, skipping the first `after` of them
        (calls are only ever appended: a poller asks for what it has not seen yet)."""
        with self.lock:
            found = [c for c in self.calls if path_prefix is None or c.path.startswith(path_prefix)]
        return found[max(0, after) :]

    # -- faults ------------------------------------------------------------------------------

    def add_fault(
        self,
        path: str,
        status: int | None,
        delay: float = 0.0,
        count: int = 1,
        when: str = FAULT_BEFORE,
    ) -> Fault:
        """Queue a fault (see `Fault`); ValueError for a `when` other than before/after."""
        if not isinstance(when, str) or when not in FAULT_WHEN:
            raise ValueError(f"when must be one of {', '.join(FAULT_WHEN)}, not {when!r}")
        fault = Fault(
            path=path, status=status or None, delay=max(0.0, delay), remaining=count, when=when
        )
        with self.lock:
            self.faults.append(fault)
        return fault

    def take_fault(self, path: str) -> Fault | None:
        """The first pending fault for `path` (its count is used up by one), or None."""
        with self.lock:
            for fault in self.faults:
                if fault.path == path and fault.remaining > 0:
                    fault.remaining -= 1
                    taken = replace(fault)  # a copy: the queued one may be used up meanwhile
                    self.faults = [f for f in self.faults if f.remaining > 0]
                    return taken
            return None
