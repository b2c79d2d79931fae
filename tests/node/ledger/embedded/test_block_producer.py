"""BlockProducer (node/ledger/embedded/provider.py) spaces block starts by its period: a block
that takes longer than the period to build is followed at once, not after a further period."""

from __future__ import annotations

import threading
import time

from gridledger.node.ledger.embedded.provider import BlockProducer

BUILD_S = 0.5
PERIOD_S = 0.4


class _SlowChain:
    """What BlockProducer uses of EmbeddedChain: always a transaction ready, slow blocks."""

    def __init__(self) -> None:
        self.new_block = threading.Condition()
        self.starts: list[float] = []

    def has_ready_transactions(self) -> bool:
        return True

    def produce_block(self, build_budget_s: float | None = None) -> None:
        self.starts.append(time.monotonic())
        time.sleep(BUILD_S)


def test_a_slow_block_is_followed_at_once() -> None:
    chain = _SlowChain()
    producer = BlockProducer(chain, min_period_s=PERIOD_S)  # type: ignore[arg-type]
    producer.start()
    deadline = time.monotonic() + 10
    while len(chain.starts) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    producer.stop()
    gaps = [b - a for a, b in zip(chain.starts, chain.starts[1:], strict=False)]
    assert len(gaps) >= 2
    # Idling a period after each block would put starts BUILD_S + PERIOD_S = 0.9 s apart.
    assert all(BUILD_S <= gap < BUILD_S + PERIOD_S * 0.6 for gap in gaps), gaps
