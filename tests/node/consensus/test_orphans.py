"""A block on an unknown parent: checked before any ancestor is fetched, each fetched
ancestor checked, and the fetches a peer causes rate-limited (node/consensus/orphans.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_keys.datatypes import PrivateKey

from gridledger.node.consensus.engine import Consensus, encode_block
from gridledger.node.consensus.orphans import FetchBudget
from gridledger.node.ledger.embedded.aura import seal
from gridledger.node.p2p.wire import Block, Blocks, GetBlockByHash, Message
from tests.node.consensus.memnet import MemNet

STRANGER = PrivateKey(b"\x99" * 32)


class CountingLink:
    """n0's network: counts ancestor fetches and answers them from `ancestors` (by hash)."""

    def __init__(self) -> None:
        self.fetches = 0
        self.ancestors: dict[bytes, bytes] = {}

    def broadcast(self, message: Message) -> None:
        pass

    def request(self, peer: str, message: Message, timeout_s: float) -> Message | None:
        assert isinstance(message, GetBlockByHash)
        self.fetches += 1
        found = self.ancestors.get(message.hash)
        return Blocks((found,) if found is not None else ())

    def peers_alive(self) -> list[str]:
        return ["n1"]


@pytest.fixture
def net(tmp_path: Path) -> Iterator[MemNet]:
    net = MemNet(tmp_path, 3)
    net.run_steps(1, 3)
    net.clock.advance_to(net.aura.slot_ts(9))  # steps 4..9 pass unsealed
    yield net
    net.close()


def made(net: MemNet, node: Consensus, parent: Any, number: int, step: int, key: Any) -> Any:
    """A block `number` at `step` on `parent` (a hash or a header), sealed with `key`."""
    head_block = node.chain.block_by_number(int(node.chain.head_header().block_number))
    parent_hash = parent if isinstance(parent, bytes) else parent.hash
    header = head_block.header.copy(
        parent_hash=parent_hash,
        block_number=number,
        timestamp=net.aura.slot_ts(step),
        extra_data=step.to_bytes(8, "big"),
    )
    return head_block.copy(header=header.copy(extra_data=seal(header, key, net.aura)))


def proposer_key(net: MemNet, step: int) -> PrivateKey:
    return net.keys[step % len(net.keys)]


def n0_with_counter(net: MemNet) -> tuple[Consensus, CountingLink]:
    n0 = net.nodes["n0"]
    link = CountingLink()
    n0.attach(link)
    return n0, link


def test_junk_on_an_unknown_parent_costs_no_fetch(
    net: MemNet, caplog: pytest.LogCaptureFixture
) -> None:
    n0, link = n0_with_counter(net)
    unknown = b"\x77" * 32
    junk = {
        "sealed by another authority": made(net, n0, unknown, 5, 7, proposer_key(net, 8)),
        "sealed by a stranger": made(net, n0, unknown, 5, 7, STRANGER),
        "more blocks than steps": made(net, n0, unknown, 12, 7, proposer_key(net, 7)),
        "from the future": made(net, n0, unknown, 5, 40, proposer_key(net, 40)),
    }
    for block in junk.values():
        n0.handle("n1", Block(encode_block(block)))
        n0.drain()
    assert link.fetches == 0
    assert n0.rejected == {"n1": len(junk)}
    assert "not step 7's proposer" in caplog.text
    assert "block 12 at step 7: 9 blocks above our final block 3 in 4 steps" in caplog.text
    assert "step 40 starts at" in caplog.text


def test_each_fetched_ancestor_is_checked(net: MemNet, caplog: pytest.LogCaptureFixture) -> None:
    n0, link = n0_with_counter(net)
    head = n0.chain.head_header()
    forged_parent = made(net, n0, head, 4, 5, STRANGER)  # not an authority
    child = made(net, n0, forged_parent.header, 5, 6, proposer_key(net, 6))
    link.ancestors[bytes(forged_parent.hash)] = encode_block(forged_parent)
    n0.handle("n1", Block(encode_block(child)))
    n0.drain()
    assert link.fetches == 1
    assert n0.rejected == {"n1": 1}
    assert f"block 4: sealed by 0x{STRANGER.public_key.to_canonical_address().hex()}" in (
        caplog.text
    )
    assert n0.chain.head_header() == head


def test_ancestor_fetches_are_rate_limited_per_peer(
    net: MemNet, caplog: pytest.LogCaptureFixture
) -> None:
    n0, link = n0_with_counter(net)
    n0._fetch_budget = FetchBudget(burst=3, rate_per_s=0.0)
    for i in range(5):  # well sealed, on parents nobody has
        block = made(net, n0, bytes([i + 1]) * 32, 5, 7, proposer_key(net, 7))
        n0.handle("n1", Block(encode_block(block)))
        n0.drain()
    assert link.fetches == 3
    assert n0.rejected == {}
    assert "peer n1: ancestor fetches over 0 a second; branch dropped" in caplog.text


def test_a_branch_forking_below_finality_is_not_fetched(net: MemNet) -> None:
    n0, link = n0_with_counter(net)
    assert n0.chain.finalized_number() == 3  # voted final in its own slot
    # Block 5 on another block 4, whose parent is not our block 3, which is final.
    other_4 = made(net, n0, b"\x55" * 32, 4, 5, proposer_key(net, 5))
    block_5 = made(net, n0, other_4.header, 5, 6, proposer_key(net, 6))
    link.ancestors[bytes(other_4.hash)] = encode_block(other_4)
    n0.handle("n1", Block(encode_block(block_5)))
    n0.drain()
    assert link.fetches == 1  # block 4; its parent would fork below block 3
