"""`finalized_number` is cached per chain head: the same answers as walking the chain, without
a signature recovery per block back to the last final one on every query."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridledger.node.ledger.embedded import aura as aura_module
from gridledger.node.ledger.embedded.aura import Aura, FinalityCache

ADDRESSES = tuple(bytes([i]) * 20 for i in range(1, 6))


@dataclass(frozen=True)
class FakeHeader:
    hash: bytes
    block_number: int
    sealer: bytes
    parent: FakeHeader | None


def chain_of(
    sealers: list[int], base: FakeHeader | None = None, tag: bytes = b""
) -> list[FakeHeader]:
    """`base` (default a genesis) and blocks on top of it sealed by ADDRESSES[sealers[i]]."""
    headers = [base or FakeHeader(b"genesis", 0, b"", None)]
    for who in sealers:
        parent = headers[-1]
        block_hash = parent.hash + tag + bytes([who])
        headers.append(FakeHeader(block_hash, parent.block_number + 1, ADDRESSES[who], parent))
    return headers


def down(head: FakeHeader) -> Iterator[FakeHeader]:
    header: FakeHeader | None = head
    while header is not None:
        yield header
        header = header.parent


def walked(head: FakeHeader, quorum: int) -> int:
    """The rule, by walking (the implementation before the cache)."""
    sealers: set[bytes] = set()
    for header in down(head):
        if header.block_number == 0:
            return 0
        sealers.add(header.sealer)
        if len(sealers) >= quorum:
            return header.block_number
    return 0


@pytest.fixture
def recoveries(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []

    def sealer_of(header: FakeHeader) -> bytes:
        calls.append(header.block_number)
        return header.sealer

    monkeypatch.setattr(aura_module, "sealer_of", sealer_of)
    return calls


def aura_of(n: int) -> Aura:
    return Aura(ADDRESSES[:n], 5, 0)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    sealers=st.lists(st.integers(0, 4), max_size=40),
    fork_at=st.integers(0, 40),
    fork=st.lists(st.integers(0, 4), max_size=10),
    sizes=st.lists(st.integers(1, 5), min_size=1, max_size=3),
)
def test_the_cache_answers_what_the_walk_answers(
    recoveries: list[int], sealers: list[int], fork_at: int, fork: list[int], sizes: list[int]
) -> None:
    cache = FinalityCache(size=8)
    main = chain_of(sealers)
    side = chain_of(fork, base=main[min(fork_at, len(sealers))], tag=b"side")
    for n in sizes:  # the authority set changes size now and then
        for head in [*main, *side, *reversed(main)]:
            assert cache.finalized(down(head), aura_of(n)) == walked(head, n // 2 + 1)


def test_a_stalled_chain_costs_one_recovery_per_new_block(recoveries: list[int]) -> None:
    aura = aura_of(3)
    # Block 2 final, then only one authority seals (the chain's `finalized_number` path).
    headers = chain_of([0, 1, 2] + [1] * 500, tag=b"stalled")
    for head in headers[1:]:
        for _ in range(10):  # Status messages and `finalized` queries between blocks
            assert aura_module.finalized_number(down(head), aura) == walked(head, 2)
    # Walking would recover ~500 seals per query (5,000 queries): here one per block.
    assert len(recoveries) == len(headers) - 1
