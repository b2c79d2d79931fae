"""The keeper's release round (node/operator/duties.py) against a fake Market and ImportCap
that count the calls made: what is due, what waits, what is dropped, the cost of a waiting
sell, and the batches."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest

from gridledger.market.settlement import RELEASE_GRACE_S
from gridledger.node.operator.duties import (
    RELEASE_BATCH,
    RELEASE_GAS,
    release_batches,
    release_call,
    take_due_releases,
)

END_TS = 10_000


@dataclass
class _Call:
    value: Any
    name: str
    calls: Counter[str]

    def call(self) -> Any:
        self.calls[self.name] += 1
        return self.value


@dataclass
class FakeChain:
    """Sells by id: their seller, settled or not, units held; sellers' last reading end."""

    owner: dict[int, str] = field(default_factory=dict)
    settled: set[int] = field(default_factory=set)
    held: dict[int, int] = field(default_factory=dict)
    last_end: dict[str, int] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)

    @property
    def functions(self) -> FakeChain:
        return self

    def orderOf(self, sell_id: int) -> _Call:  # noqa: N802 (the contract's name)
        return _Call((self.owner[sell_id], 1, 0, 0), "orderOf", self.calls)

    def isSettled(self, sell_id: int) -> _Call:  # noqa: N802
        return _Call(sell_id in self.settled, "isSettled", self.calls)

    def heldOf(self, sell_id: int) -> _Call:  # noqa: N802
        return _Call(self.held.get(sell_id, 0), "heldOf", self.calls)

    def lastReadingEndOf(self, owner: str) -> _Call:  # noqa: N802
        return _Call(self.last_end.get(owner, 0), "lastReadingEndOf", self.calls)

    def release(self, sell_ids: list[int]) -> tuple[str, list[int]]:
        return ("release", sell_ids)


def _round(
    chain: FakeChain, pending: dict[int, list[int]], now_ts: int, owners: dict[int, str]
) -> list[tuple[int, list[int]]]:
    return take_due_releases(pending, chain, chain, lambda interval: END_TS, now_ts, owners)


def test_a_metered_settled_sell_is_due_an_unmetered_one_waits_an_empty_one_is_dropped() -> None:
    chain = FakeChain(
        owner={1: "a", 2: "b", 3: "a", 4: "a"},
        settled={1, 2, 3},
        held={1: 5, 2: 7},  # 3 was not filled: nothing held; 4 is not settled yet
        last_end={"a": END_TS},
    )
    pending = {0: [1, 2, 3, 4]}
    owners: dict[int, str] = {}
    assert _round(chain, pending, END_TS - 1, owners) == []  # the interval has not ended
    assert pending == {0: [1, 2, 3, 4]}
    assert _round(chain, pending, END_TS, owners) == [(0, [1])]
    assert pending == {0: [2, 4]}  # b is not metered; 4 is not settled; 3 held nothing
    assert owners == {2: "b", 4: "a"}  # the cache keeps only what still waits


def test_after_the_grace_period_everything_held_is_due_metered_or_not() -> None:
    chain = FakeChain(owner={1: "a", 2: "b"}, settled={1, 2}, held={1: 5, 2: 7})
    pending = {0: [1, 2]}
    assert _round(chain, pending, END_TS + RELEASE_GRACE_S - 1, {}) == []
    assert _round(chain, pending, END_TS + RELEASE_GRACE_S, {}) == [(0, [1, 2])]
    assert pending == {}
    assert chain.calls["lastReadingEndOf"] == 2  # only before the grace ran out


def test_a_waiting_sell_costs_one_call_per_seller_per_round_after_the_first() -> None:
    sells = list(range(100))
    chain = FakeChain(owner={s: "ab"[s % 2] for s in sells}, settled=set(sells))
    chain.held = dict.fromkeys(sells, 1)
    pending = {0: sells[:]}
    owners: dict[int, str] = {}
    _round(chain, pending, END_TS, owners)
    assert chain.calls["orderOf"] == 100
    chain.calls.clear()
    for _ in range(5):
        assert _round(chain, pending, END_TS + 60, owners) == []
    # neither seller is metered: each round reads each seller's last reading end, nothing else
    assert chain.calls == Counter({"lastReadingEndOf": 10})
    chain.last_end["a"] = END_TS
    assert _round(chain, pending, END_TS + 120, owners) == [(0, sells[::2])]
    assert pending == {0: sells[1::2]}


def test_due_sells_go_out_in_batches_with_gas_per_sell() -> None:
    sells = list(range(2 * RELEASE_BATCH + 3))
    batches = release_batches(sells)
    assert [len(b) for b in batches] == [RELEASE_BATCH, RELEASE_BATCH, 3]
    assert [s for b in batches for s in b] == sells
    call, gas = release_call(FakeChain(), batches[2])
    assert call == ("release", batches[2])
    assert gas == 3 * RELEASE_GAS
    with pytest.raises(AssertionError):
        release_call(FakeChain(), sells)
