"""ByteQueue: bounded by bytes and by count; one oversize item still passes an empty queue."""

from __future__ import annotations

import queue
import threading

import pytest

from gridledger.node.p2p.bytequeue import ByteQueue


def test_bounded_by_bytes_then_by_count() -> None:
    q: ByteQueue[str] = ByteQueue(max_bytes=10, max_items=3)
    assert q.put_nowait("a", 6)
    assert not q.put_nowait("b", 5)  # 11 bytes
    assert q.put_nowait("c", 4)
    assert q.bytes_held == 10 and len(q) == 2
    assert q.get_nowait() == "a"
    assert q.put_nowait("d", 1) and q.put_nowait("e", 1)
    assert not q.put_nowait("f", 0)  # 3 items
    assert q.put_nowait("stop", 0, force=True)
    assert [q.get_nowait() for _ in range(4)] == ["c", "d", "e", "stop"]
    assert q.bytes_held == 0
    with pytest.raises(queue.Empty):
        q.get_nowait()


def test_an_oversize_item_passes_only_an_empty_queue() -> None:
    q: ByteQueue[str] = ByteQueue(max_bytes=10, max_items=5)
    assert q.put_nowait("big", 50)
    assert not q.put_nowait("small", 1)
    assert q.get(0.1) == "big"
    assert q.put_nowait("small", 1)


def test_get_waits_for_a_put_and_times_out() -> None:
    q: ByteQueue[int] = ByteQueue(max_bytes=10, max_items=5)
    with pytest.raises(queue.Empty):
        q.get(0.05)
    threading.Timer(0.05, q.put_nowait, (7, 1)).start()
    assert q.get(2.0) == 7
