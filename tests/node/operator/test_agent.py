"""The operator agent's market duty, without a chain: an interval is cleared only once the
head is past its gate and before it starts, with the witness the market package computes
for its book, then every order is settled in batches; an empty interval is skipped for good."""

from __future__ import annotations

from typing import Any

from gridledger.contracts.enums import Side
from gridledger.market.orders import Order
from gridledger.market.settlement import RELEASE_GRACE_S
from gridledger.market.witness import witness_for
from gridledger.node.agents.market_clock import MarketClock
from gridledger.node.operator.agent import SETTLE_BATCH, OperatorAgent
from tests.node.agents.fakes import MARKET_GRID, FakeClient, FakeContract

OPERATOR = "0x" + "66" * 20
BOOK = [
    ("0x" + "a1" * 20, Side.BUY, 2_000, 250_000),
    ("0x" + "a2" * 20, Side.SELL, 1_500, 100_000),
    ("0x" + "a3" * 20, Side.BUY, 500, 120_000),
]


def _operator(
    books: dict[int, list[tuple[str, Side, int, int]]],
) -> tuple[OperatorAgent, FakeClient]:
    def order_of(order_id: int) -> tuple[Any, ...]:
        owner, side, quantity_wh, price = books[order_id >> 32][order_id & 0xFFFFFFFF]
        return (owner, int(side), quantity_wh, price)

    market = FakeContract(
        "Market",
        {
            **MARKET_GRID,
            "orderCount": lambda interval: len(books.get(interval, [])),
            "orderOf": order_of,
        },
    )
    contracts = {name: FakeContract(name) for name in ("Registry", "GridToken", "ImportCap")} | {
        "Market": market
    }
    client = FakeClient(OPERATOR, contracts)
    return OperatorAgent(client), client  # type: ignore[arg-type]


def test_an_interval_is_cleared_after_its_gate_with_the_books_witness() -> None:
    operator, client = _operator({3: BOOK})
    clock = MarketClock.of(FakeContract("Market", MARKET_GRID))
    gate = clock.gate_closure_ts(3)
    client.w3.eth.head_ts = gate
    operator.on_tick(gate - 1)  # interval 3's gate is still open
    assert client.sends == []
    operator.on_tick(gate)
    witness = witness_for(
        Order(i, owner, side, qty, price) for i, (owner, side, qty, price) in enumerate(BOOK)
    )
    assert client.named("clear") == [
        (
            (3, witness.volume_wh, list(witness.buy_ranking), list(witness.sell_ranking)),
            500_000 + 40_000 * len(BOOK),
        )
    ]
    ids = [(3 << 32) | i for i in range(len(BOOK))]
    assert client.named("settleOrders") == [((ids,), 200_000 + 80_000 * len(BOOK))]
    assert operator.cleared == {3}
    operator.on_tick(gate + 1)
    assert len(client.named("clear")) == 1


def test_the_head_must_be_past_the_gate_too() -> None:
    operator, client = _operator({3: BOOK})
    gate = MarketClock.of(FakeContract("Market", MARKET_GRID)).gate_closure_ts(3)
    client.w3.eth.head_ts = gate - 1  # the chain has not reached the gate: orders may still join
    assert operator.clear(3) is False
    assert client.sends == []


def test_settlement_goes_in_batches_and_an_empty_interval_is_skipped() -> None:
    big = [BOOK[k % len(BOOK)] for k in range(SETTLE_BATCH + 5)]
    operator, client = _operator({4: big})
    gate = MarketClock.of(FakeContract("Market", MARKET_GRID)).gate_closure_ts(4)
    client.w3.eth.head_ts = gate
    assert operator.clear(4) is True
    assert [len(args[0]) for args, _ in client.named("settleOrders")] == [SETTLE_BATCH, 5]
    empty, empty_client = _operator({})
    empty_client.w3.eth.head_ts = gate
    empty.on_tick(gate)
    empty.on_tick(gate + 1)
    assert empty_client.sends == []


def test_held_proceeds_are_released_once_the_sellers_readings_reach_the_interval_end() -> None:
    operator, client = _operator({3: BOOK})
    clock = MarketClock.of(FakeContract("Market", MARKET_GRID))
    market = client.contracts["Market"]
    seller_id = (3 << 32) | 1
    settled: set[int] = set()
    market.views |= {
        "isSettled": lambda order_id: order_id in settled,
        "fillOf": lambda order_id: 1_500,
        "heldOf": lambda order_id: 150_000,
        "isReleased": lambda order_id: False,
    }
    last_end = {"ts": 0}
    client.contracts["ImportCap"].views["lastReadingEndOf"] = lambda owner: last_end["ts"]
    client.w3.eth.head_ts = clock.gate_closure_ts(3)
    operator.clear(3)
    assert operator.unreleased == {3: [seller_id]}
    end = clock.start_ts(4)
    assert operator.release_due(end - 1) == 0  # the interval has not ended
    assert operator.release_due(end) == 0  # its settlement is not mined yet
    settled.add(seller_id)
    last_end["ts"] = end - 60
    assert operator.release_due(end + 60) == 0  # a minute of delivery not metered yet
    last_end["ts"] = end
    assert operator.release_due(end + 60) == 1
    assert client.named("release") == [(([seller_id],), 250_000)]
    assert operator.unreleased == {}
    assert operator.release_due(end + 120) == 0  # sent once


def test_unmetered_proceeds_are_released_after_the_grace_period() -> None:
    operator, client = _operator({3: BOOK})
    clock = MarketClock.of(FakeContract("Market", MARKET_GRID))
    client.contracts["Market"].views |= {
        "isSettled": lambda order_id: True,
        "fillOf": lambda order_id: 1_500,
        "heldOf": lambda order_id: 150_000,
        "isReleased": lambda order_id: False,
    }
    client.contracts["ImportCap"].views["lastReadingEndOf"] = lambda owner: 0
    client.w3.eth.head_ts = clock.gate_closure_ts(3)
    operator.clear(3)
    end = clock.start_ts(4)
    assert operator.release_due(end + RELEASE_GRACE_S - 1) == 0
    assert operator.release_due(end + RELEASE_GRACE_S) == 1
