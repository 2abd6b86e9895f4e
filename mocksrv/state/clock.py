"""The clock every time-dependent behaviour reads (rate-limit windows, message lives, webhook deliveries).

Real time by default; it can start at another instant, be frozen and be moved, so a test
can advance time instead of sleeping. Thread-safe; whoever waits for an instant on it (the
webhook courier) hears of every move through `on_change`.
"""

from __future__ import annotations

import threading
import time
import typing as t
from datetime import UTC
from datetime import datetime


class Clock:
    def __init__(self, start: datetime | None = None, *, frozen: bool = False) -> None:
        self._lock = threading.Lock()
        self._start = start
        self._offset = 0.0 if start is None else start.timestamp() - time.time()
        self._frozen_at: float | None = None
        self._listeners: list[t.Callable[[], None]] = []
        if frozen:
            self.freeze()

    def snapshot(self) -> dict[str, float | None]:
        """Where this clock stands, to be put in the same place elsewhere (`restore`): its offset from
        real time, and the instant it is frozen at (None: running)."""
        with self._lock:
            return {"offset": self._offset, "frozen_at": self._frozen_at}

    def restore(self, snapshot: dict[str, t.Any]) -> None:
        """Stand where `snapshot` says (another process moved the shared clock)."""
        with self._lock:
            self._offset = float(snapshot["offset"])
            frozen = snapshot.get("frozen_at")
            self._frozen_at = None if frozen is None else float(frozen)
        self._moved()

    def on_change(self, listener: t.Callable[[], None]) -> None:
        """Call ``listener`` after every move, freeze or thaw (never under the clock's lock)."""
        self._listeners.append(listener)

    def _moved(self) -> None:
        for listener in list(self._listeners):
            listener()

    def reset(self) -> None:
        """Back to how it started: real time, or running from the configured start instant."""
        with self._lock:
            self._offset = 0.0 if self._start is None else self._start.timestamp() - time.time()
            self._frozen_at = None
        self._moved()

    def now(self) -> float:
        """Seconds since the epoch, on this clock."""
        with self._lock:
            return self._frozen_at if self._frozen_at is not None else time.time() + self._offset

    def now_datetime(self) -> datetime:
        return datetime.fromtimestamp(self.now(), UTC)

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None

    def freeze(self) -> None:
        with self._lock:
            if self._frozen_at is None:
                self._frozen_at = time.time() + self._offset
        self._moved()

    def unfreeze(self) -> None:
        with self._lock:
            if self._frozen_at is not None:
                self._offset = self._frozen_at - time.time()
                self._frozen_at = None
        self._moved()

    def advance(self, seconds: float) -> None:
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at += seconds
            else:
                self._offset += seconds
        self._moved()

    def set(self, instant: datetime) -> None:
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at = instant.timestamp()
            else:
                self._offset = instant.timestamp() - time.time()
        self._moved()
