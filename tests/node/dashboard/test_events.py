"""GET /v1/events on an in-process node: a `block` message per imported block, in order and
none skipped; the subscriber limit of the feed."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest
import requests

from gridledger.node.dashboard import live
from tests.node.rest.inprocess import InProcessNode


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessNode]:
    node = InProcessNode(tmp_path_factory.mktemp("events") / "data")
    yield node
    node.stop()


def _blocks(lines: Iterator[str], count: int) -> list[dict[str, int]]:
    """The next `count` block messages from the stream's `lines` (one iterator per stream:
    a second `iter_lines` would lose what the first one buffered)."""
    out: list[dict[str, int]] = []
    event = None
    for line in lines:
        if line.startswith("event:"):
            event = line.split(":", 1)[1].strip()
        elif line.startswith("data:") and event == "block":
            out.append(json.loads(line.split(":", 1)[1]))
            if len(out) == count:
                return out
    raise AssertionError(f"the stream ended after {len(out)} block messages")


def test_every_imported_block_is_one_message_in_order(node: InProcessNode) -> None:
    with requests.get(node.url + "/v1/events", stream=True, timeout=30) as reply:
        assert reply.status_code == 200
        assert reply.headers["content-type"].startswith("text/event-stream")
        # The stream's first message is the head when the server subscribed, which may come
        # after the answer's headers: wait for it before adding blocks.
        lines = reply.iter_lines(decode_unicode=True)
        got = _blocks(lines, 1)
        head = got[0]["number"]
        assert head == int(node.w3.eth.block_number)
        for _ in range(3):  # three blocks in quick succession
            node.jump_to(node.head_ts() + 1)
        got += _blocks(lines, 3)
    assert [b["number"] for b in got] == [head, head + 1, head + 2, head + 3]
    block = node.w3.eth.get_block(head + 3)
    assert got[-1]["hash"] == "0x" + bytes(block["hash"]).hex()
    assert got[-1]["timestamp_ts"] == block["timestamp"]
    assert got[-1]["finalized"] == head + 3  # a lone node's head is final


def test_the_feed_holds_at_most_max_subscribers_and_frees_released_slots() -> None:
    feed = live.BlockFeed(ledger=None)  # type: ignore[arg-type]
    assert all(feed.subscribe() for _ in range(live.MAX_SUBSCRIBERS))
    assert not feed.subscribe()
    feed.release()
    assert feed.subscribe()
    assert not feed.subscribe()


T = TypeVar("T")


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    """asyncio.run on a thread of its own: a Playwright test earlier in the same worker leaves
    an event loop running on this one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


class _CountingLedger:
    def __init__(self) -> None:
        self.reads = 0

    def head(self) -> int:
        self.reads += 1
        return 100 + self.reads


def test_the_streams_share_one_head_read_per_poll_period() -> None:
    ledger = _CountingLedger()
    feed = live.BlockFeed(ledger=ledger)  # type: ignore[arg-type]

    async def looks() -> list[int]:
        return list(await asyncio.gather(*(feed._head(fresh=False) for _ in range(20))))

    assert _run(looks()) == [101] * 20
    assert ledger.reads == 1
    assert _run(feed._head(fresh=True)) == 102  # a new stream reads the head itself
    time.sleep(live.POLL_S)
    assert _run(feed._head(fresh=False)) == 103  # the shared read is POLL_S old
    assert ledger.reads == 3
