"""GET /v1/events: one Server-Sent Event `block` per block the node imports (its number,
hash, timestamp, transactions and the finalized height), whichever clock seals the blocks.

The node's chain has no import hook, so each subscriber watches the head's number, an
in-memory read, every POLL_S; a block imported between two looks is still announced, one
message per number. After a reorg (the head's number went down) the new head is announced.
Subscribers are bounded (MAX_SUBSCRIBERS); the route refuses one more with 503.
"""

from __future__ import annotations

import asyncio
import threading
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
        last = await run_in_threadpool(self.ledger.head)
        yield self._event(await run_in_threadpool(self.ledger.block_event, last))
        while not await disconnected():
            await asyncio.sleep(POLL_S)
            head = await run_in_threadpool(self.ledger.head)
            if head == last:
                continue
            numbers = range(max(last + 1, head - MAX_BURST_BLOCKS + 1), head + 1)
            for number in numbers if head > last else (head,):
                yield self._event(await run_in_threadpool(self.ledger.block_event, number))
            last = head

    @staticmethod
    def _event(block: BlockEvent) -> ServerSentEvent:
        return ServerSentEvent(data=block, event="block", id=str(block.number), retry=RETRY_MS)
