"""GET /v1/events: one Server-Sent Event `block` per block the node imports (its number,
hash, timestamp, transactions and the finalized height), whichever clock seals the blocks.

The node's chain has no import hook, so each subscriber looks at the head's number every
POLL_S; the streams share one read of it per POLL_S (on a JSON-RPC ledger a read is a
request, so N streams would otherwise cost N requests per look). A block imported between
two looks is still announced, one message per number. After a reorg (the head's number went
down) the new head is announced.
Subscribers are bounded (MAX_SUBSCRIBERS); the route refuses one more with 503.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from fastapi.concurrency import run_in_threadpool
from fastapi.sse import ServerSentEvent

from gridledger.node.dashboard.ledger import LedgerStatus
from gridledger.node.dashboard.records import BlockEvent

POLL_S = 0.05
MAX_SUBSCRIBERS = 32
MAX_BURST_BLOCKS = 64
"""A subscriber that fell further behind gets the latest this many blocks, not every one."""
RETRY_MS = 1000


class BlockFeed:
    """Counts the open streams and makes each one's events."""

    def __init__(self, ledger: LedgerStatus) -> None:
        self.ledger = ledger
        self._lock = threading.Lock()
        self._open = 0
        self._head_lock = threading.Lock()
        self._head_read: tuple[float, int] | None = None
        """(monotonic time of the read [s], head number): the streams' shared look."""

    def subscribe(self) -> bool:
        """Reserve a stream; False when MAX_SUBSCRIBERS are open already."""
        with self._lock:
            if self._open >= MAX_SUBSCRIBERS:
                return False
            self._open += 1
            return True

    def release(self) -> None:
        with self._lock:
            self._open -= 1

    async def stream(
        self, disconnected: Callable[[], Awaitable[bool]]
    ) -> AsyncIterator[ServerSentEvent]:
        """The events of one subscriber (reserved by `subscribe`, released by the caller)
        until it disconnects: the current head first, then every block imported after it."""
        last = await self._head(fresh=True)
        yield self._event(await run_in_threadpool(self.ledger.block_event, last))
        while not await disconnected():
            await asyncio.sleep(POLL_S)
            head = await self._head(fresh=False)
            if head == last:
                continue
            numbers = range(max(last + 1, head - MAX_BURST_BLOCKS + 1), head + 1)
            for number in numbers if head > last else (head,):
                yield self._event(await run_in_threadpool(self.ledger.block_event, number))
            last = head

    async def _head(self, *, fresh: bool) -> int:
        """The head's number; unless `fresh`, the one another stream read within POLL_S."""
        cached = self._head_read
        if fresh or cached is None or time.monotonic() - cached[0] >= POLL_S:
            cached = await run_in_threadpool(self._read_head, fresh)
        return cached[1]

    def _read_head(self, fresh: bool) -> tuple[float, int]:
        # One read at a time, stored in the order made: the shared value never goes back
        # (a stream would take that for a reorg), and streams that waited here share it.
        with self._head_lock:
            cached = self._head_read
            if not fresh and cached is not None and time.monotonic() - cached[0] < POLL_S:
                return cached
            cached = (time.monotonic(), self.ledger.head())
            self._head_read = cached
            return cached

    @staticmethod
    def _event(block: BlockEvent) -> ServerSentEvent:
        return ServerSentEvent(data=block, event="block", id=str(block.number), retry=RETRY_MS)
