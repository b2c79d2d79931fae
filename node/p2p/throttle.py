"""Rate-limited warnings, so a misbehaving peer or a reconnecting stranger cannot flood the log."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

DEFAULT_INTERVAL_S = 10.0


class LogThrottle:
    """Logs at most one warning per key every `interval_s` [s], counting the ones held back."""

    def __init__(
        self,
        logger: logging.Logger,
        interval_s: float = DEFAULT_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._interval_s = interval_s
        self._clock = clock
        self._last_s: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def warning(self, key: str, msg: str, *args: object) -> bool:
        """Log `msg % args` unless `key` was logged less than `interval_s` ago; True if logged."""
        now_s = self._clock()
        last_s = self._last_s.get(key)
        if last_s is not None and now_s - last_s < self._interval_s:
            self._held[key] = self._held.get(key, 0) + 1
            return False
        held = self._held.pop(key, 0)
        if held and last_s is not None:
            msg += f" ({held} more like it in the last {now_s - last_s:.0f} s)"
        self._last_s[key] = now_s
        self._logger.warning(msg, *args)
        return True
