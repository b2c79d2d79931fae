"""A FIFO bounded by the bytes it holds, not only by its length.

The transport's handler queue and the consensus worker's queue hold messages of up to 16 MiB
(a block); bounded by count alone (10,000), a peer could park 160 GB in either. `ByteQueue`
refuses an item that would take it over `max_bytes` (or `max_items`), so the caller drops it
and says so; an item larger than `max_bytes` is taken only into an empty queue, so one
maximal message always gets through.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class ByteQueue(Generic[T]):
    """Thread-safe FIFO of at most `max_items` items and `max_bytes` bytes (as declared by
    `put_nowait`); `get` raises `queue.Empty` like `queue.Queue`."""

    def __init__(self, max_bytes: int, max_items: int) -> None:
        if max_bytes < 1 or max_items < 1:
            raise ValueError(f"max_bytes and max_items must be >= 1, got {max_bytes}, {max_items}")
        self.max_bytes = max_bytes
        self.max_items = max_items
        self._items: deque[tuple[T, int]] = deque()
        self._bytes = 0
        self._ready = threading.Condition(threading.Lock())

    def put_nowait(self, item: T, size_bytes: int, force: bool = False) -> bool:
        """Append `item` (`size_bytes` long); False if it does not fit (unless `force`)."""
        with self._ready:
            if not force and self._items:
                if len(self._items) >= self.max_items:
                    return False
                if self._bytes + size_bytes > self.max_bytes:
                    return False
            self._items.append((item, size_bytes))
            self._bytes += size_bytes
            self._ready.notify()
            return True

    def get(self, timeout_s: float | None = None) -> T:
        """The oldest item, waiting up to `timeout_s` [s] (None: forever); `queue.Empty`."""
        deadline_s = None if timeout_s is None else time.monotonic() + timeout_s
        with self._ready:
            while not self._items:
                remaining_s = None if deadline_s is None else deadline_s - time.monotonic()
                if remaining_s is not None and remaining_s <= 0:
                    raise queue.Empty
                self._ready.wait(remaining_s)
            item, size_bytes = self._items.popleft()
            self._bytes -= size_bytes
            return item

    def get_nowait(self) -> T:
        return self.get(0.0)

    @property
    def bytes_held(self) -> int:
        with self._ready:
            return self._bytes

    def __len__(self) -> int:
        with self._ready:
            return len(self._items)
