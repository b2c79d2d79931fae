"""The clocks that drive Aura steps: wall time, or the simulation's time (sealing at ticks)."""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    def now_ts(self) -> float:
        """Current time [unix s]."""
        ...

    def wait_until(self, ts: float, stop: threading.Event) -> bool:
        """Block until the clock reaches `ts` [unix s]; False if `stop` was set first."""
        ...


class WallClock:
    """The machine's clock."""

    def now_ts(self) -> float:
        return time.time()

    def wait_until(self, ts: float, stop: threading.Event) -> bool:
        while not stop.is_set():
            left_s = ts - time.time()
            if left_s <= 0:
                return True
            stop.wait(min(left_s, 0.5))
        return False


class SimClock:
    """Time moves only when the simulation says so (`advance_to`): blocks are sealed at
    simulation ticks with the same Aura rules."""

    def __init__(self, start_ts: float) -> None:
        self._now_ts = start_ts
        self._moved = threading.Condition()

    def now_ts(self) -> float:
        with self._moved:
            return self._now_ts

    def advance_to(self, ts: float) -> None:
        """Move the clock forward to `ts` [unix s] (never backwards)."""
        with self._moved:
            if ts > self._now_ts:
                self._now_ts = ts
                self._moved.notify_all()

    def wait_until(self, ts: float, stop: threading.Event) -> bool:
        with self._moved:
            while self._now_ts < ts:
                if stop.is_set():
                    return False
                self._moved.wait(0.2)
        return not stop.is_set()
