"""Placing, clearing and settling market intervals on chain from the tests."""

from __future__ import annotations

from dataclasses import dataclass

from gridledger.contracts.enums import Side
from gridledger.market.clearing import Clearing, clear_uniform
from gridledger.market.orders import Order, PriceBand
from gridledger.market.witness import Witness, chunks
from tests.contracts.harness import DAY0_TS, TOKEN_UNITS, Participant, Stack

INTERVAL_S = 900
GATE_LEAD_S = 300


@dataclass(frozen=True, slots=True)
class Placed:
    order_id: int
    order: Order
    participant: Participant


def open_interval(stack: Stack) -> int:
    """The first interval whose gate is still open at the current block time."""
    now = stack.engine.now()
    return (now - DAY0_TS + GATE_LEAD_S) // INTERVAL_S + 1


def fund_all(stack: Stack, units: int = 1_000_000 * TOKEN_UNITS) -> None:
    for p in stack.participants:
        stack.fund_tokens(p.address, units)


def place(
    stack: Stack, p: Participant, interval: int, side: Side, quantity_wh: int, price: int
) -> Placed:
    receipt = stack.transact(
        stack.market.functions.placeOrder(interval, int(side), quantity_wh, price), p.address
    )
    (event,) = stack.events(stack.market, "OrderPlaced", receipt)
    order_id = int(event["args"]["orderId"])
    index = order_id & 0xFFFFFFFF
    return Placed(order_id, Order(index, p.address, side, quantity_wh, price), p)


def band(stack: Stack) -> PriceBand:
    r = stack.regulation.functions
    return PriceBand(
        r.priceFloorPerKwh().call(), r.priceCeilingPerKwh().call(), r.networkChargePerKwh().call()
    )


def close_gate(stack: Stack, interval: int) -> None:
    stack.at_time(DAY0_TS + interval * INTERVAL_S - GATE_LEAD_S)


def clear_on_chain(
    stack: Stack, interval: int, witness: Witness, chunk_size: int | None = None
) -> dict[str, object]:
    """Clear with the given witness, in one call or in chunks of `chunk_size` orders."""
    m = stack.market.functions
    clearer = stack.roles.operator
    if chunk_size is None:
        return stack.transact(
            m.clear(
                interval, witness.volume_wh, list(witness.buy_ranking), list(witness.sell_ranking)
            ),
            clearer,
        )
    stack.transact(m.beginClearing(interval, witness.volume_wh), clearer)
    for chunk in chunks(witness, chunk_size):
        stack.transact(m.submitWitness(interval, int(chunk.side), list(chunk.indices)), clearer)
    return stack.transact(m.finalizeClearing(interval), clearer)


def reference(stack: Stack, placed: list[Placed]) -> Clearing:
    return clear_uniform([p.order for p in placed], band(stack))


def order_id(interval: int, index: int) -> int:
    return (interval << 32) | index
