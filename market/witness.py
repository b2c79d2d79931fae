"""The clearing witness an operator submits to Market.sol, and a local mirror of its checks.

The contract never sorts: the clearer claims V, submits each side's ranking (in as many chunks
as it likes, `submitWitness`), and the contract checks in O(n) that the rankings are complete,
duplicate-free and sorted, and that V is exactly the crossing (`finalizeClearing`).
check_witness() runs the same checks in the same order and raises MarketWitnessError naming
the custom error the contract would revert with, so a witness can be tested before paying gas.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from gridledger.contracts.enums import Side
from gridledger.contracts.units import UINT64_LIMIT
from gridledger.market.clearing import MarginalOrder
from gridledger.market.errors import MarketInputError, MarketWitnessError
from gridledger.market.orders import Order, RankedBook, rank_key


@dataclass(frozen=True, slots=True)
class Witness:
    """Arguments of Market.clear: buy and sell order indices in ranking order, and V [Wh]."""

    buy_ranking: tuple[int, ...]
    sell_ranking: tuple[int, ...]
    volume_wh: int


@dataclass(frozen=True, slots=True)
class WitnessChunk:
    """Arguments of one Market.submitWitness call: the next `indices` of `side`'s ranking."""

    side: Side
    indices: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class WitnessOutcome:
    """What finalizeClearing derives from an accepted witness: V [Wh] and the marginal orders
    (None where the contract stores zeros, i.e. when V = 0)."""

    volume_wh: int
    marginal_buy: MarginalOrder | None
    marginal_sell: MarginalOrder | None


def witness_for(orders: Iterable[Order]) -> Witness:
    """The witness that clears `orders` by the on-chain rule (rankings and V)."""
    book = RankedBook.of(orders)
    return Witness(
        tuple(o.index for o in book.buys),
        tuple(o.index for o in book.sells),
        book.crossing_volume_wh(),
    )


def chunks(witness: Witness, max_orders: int) -> tuple[WitnessChunk, ...]:
    """Split `witness` into submitWitness calls of at most `max_orders` indices each: the buy
    chunks in ranking order, then the sell chunks. An empty side needs no call."""
    if max_orders < 1:
        raise MarketInputError(f"chunk size {max_orders} orders is not positive")
    return tuple(
        WitnessChunk(side, ranking[start : start + max_orders])
        for side, ranking in ((Side.BUY, witness.buy_ranking), (Side.SELL, witness.sell_ranking))
        for start in range(0, len(ranking), max_orders)
    )


@dataclass(slots=True)
class _Stream:
    """Market.sol's `Stream`: one side's witness state while it is being submitted."""

    side: Side
    claimed_wh: int
    seen: int = 0
    last: Order | None = None
    cum_wh: int = 0
    marginal: MarginalOrder | None = None
    next_price_per_kwh: int | None = None

    def advance(self, order: Order) -> None:
        if self.last is not None and rank_key(order) <= rank_key(self.last):
            raise MarketWitnessError(
                "MarketWitnessNotSorted",
                f"{self.side.name} order {order.index} cannot follow order {self.last.index}",
            )
        before, after = self.cum_wh, self.cum_wh + order.quantity_wh
        if before < self.claimed_wh <= after:
            self.marginal = MarginalOrder(
                order.index, order.limit_price_per_kwh, self.claimed_wh - before
            )
        if self.next_price_per_kwh is None and before <= self.claimed_wh < after:
            self.next_price_per_kwh = order.limit_price_per_kwh
        self.cum_wh, self.last = after, order
        self.seen += 1


def check_witness(
    orders: Iterable[Order], witness_chunks: Iterable[WitnessChunk], volume_wh: int
) -> WitnessOutcome:
    """Replay Market.sol's beginClearing(volume_wh), submitWitness(chunk) for each chunk and
    finalizeClearing on `orders`; raise MarketWitnessError where the contract would revert."""
    if not 0 <= volume_wh < UINT64_LIMIT:
        raise MarketInputError(f"claimed volume {volume_wh} Wh outside [0, 2**64)")
    by_index = {o.index: o for o in orders}
    streams = {side: _Stream(side, volume_wh) for side in Side}
    seen: set[int] = set()
    for chunk in witness_chunks:
        for index in chunk.indices:
            order = by_index.get(index)
            if order is None:
                raise MarketWitnessError(
                    "MarketWitnessIndexOutOfRange", f"no order {index} in the interval"
                )
            if order.side is not chunk.side:
                raise MarketWitnessError(
                    "MarketWitnessWrongSide", f"order {index} is not a {chunk.side.name} order"
                )
            if index in seen:
                raise MarketWitnessError("MarketWitnessDuplicate", f"order {index} given twice")
            seen.add(index)
            streams[chunk.side].advance(order)
    buys, sells = streams[Side.BUY], streams[Side.SELL]
    buy_count = sum(o.side is Side.BUY for o in by_index.values())
    if buys.seen != buy_count or sells.seen != len(by_index) - buy_count:
        raise MarketWitnessError(
            "MarketWitnessIncomplete",
            f"{buys.seen} of {buy_count} buys, {sells.seen} of {len(by_index) - buy_count} sells",
        )
    if volume_wh > buys.cum_wh or volume_wh > sells.cum_wh:
        raise MarketWitnessError(
            "MarketVolumeInfeasible",
            f"claimed {volume_wh} Wh, demand {buys.cum_wh} Wh, supply {sells.cum_wh} Wh",
        )
    if buys.marginal is not None and sells.marginal is not None:
        buy_price, sell_price = (
            buys.marginal.limit_price_per_kwh,
            sells.marginal.limit_price_per_kwh,
        )
        if buy_price < sell_price:
            raise MarketWitnessError(
                "MarketWitnessNotCrossing",
                f"claimed {volume_wh} Wh: buy {buy_price} < sell {sell_price} units/kWh",
            )
    if buys.next_price_per_kwh is not None and sells.next_price_per_kwh is not None:
        next_buy, next_sell = buys.next_price_per_kwh, sells.next_price_per_kwh
        if next_buy >= next_sell:
            raise MarketWitnessError(
                "MarketVolumeNotMaximal",
                f"claimed {volume_wh} Wh: next buy {next_buy} >= next sell {next_sell} units/kWh",
            )
    return WitnessOutcome(volume_wh, buys.marginal, sells.marginal)
