"""The clearing interface and the uniform-price double auction that Market.sol runs on-chain.

Every mechanism turns the orders of one interval and the regulated PriceBand into a Clearing:
a list of trades (buy order, sell order, volume [Wh], the buyer's and the seller's price
[units/kWh]) and the per-order fills derived from it. Settlement (market/settlement.py) reads
only the Clearing, so every mechanism is paid out by the same integer rules.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import ClassVar

from typing_extensions import override

from gridledger.market.errors import MarketInputError, MarketInvariantError
from gridledger.market.orders import Match, Order, PriceBand, RankedBook


@dataclass(frozen=True, slots=True)
class Trade:
    """`volume_wh` [Wh] from sell order `sell_index` to buy order `buy_index`.

    The buyer pays `buy_price_per_kwh` and the seller receives `sell_price_per_kwh`
    [units/kWh]; they differ only in mechanisms that keep a budget surplus (trade reduction),
    which goes to the treasury.
    """

    buy_index: int
    sell_index: int
    volume_wh: int
    buy_price_per_kwh: int
    sell_price_per_kwh: int

    def __post_init__(self) -> None:
        if self.volume_wh < 1:
            raise MarketInvariantError(f"trade volume {self.volume_wh} Wh is not positive")
        if not 0 <= self.sell_price_per_kwh <= self.buy_price_per_kwh:
            raise MarketInvariantError(
                f"trade {self.buy_index}<-{self.sell_index}: seller price "
                f"{self.sell_price_per_kwh} outside [0, buyer price {self.buy_price_per_kwh}]"
            )

    @classmethod
    def of(cls, match: Match, buy_price_per_kwh: int, sell_price_per_kwh: int) -> Trade:
        """Price `match`: the buyer pays `buy_price_per_kwh`, the seller gets the other."""
        return cls(
            match.buy.index,
            match.sell.index,
            match.volume_wh,
            buy_price_per_kwh,
            sell_price_per_kwh,
        )


@dataclass(frozen=True, slots=True)
class MarginalOrder:
    """The lowest-ranked order of one side that trades: its index, limit [units/kWh], fill [Wh].

    For the uniform-price auction it holds the V-th Wh (Market.sol's `marginal*` fields).
    """

    index: int
    limit_price_per_kwh: int
    fill_wh: int


@dataclass(frozen=True, slots=True)
class Clearing:
    """The outcome of clearing one interval.

    price_per_kwh: the interval's price [units/kWh] (the uniform price; for mechanisms with
    several prices the buyers' volume-weighted mean, rounded down); 0 when nothing trades.
    volume_wh: energy traded [Wh] (the sum of buy fills, equal to the sum of sell fills).
    network_charge_per_kwh: the charge sellers pay [units/kWh]: the band's charge, lowered to
    the lowest seller price so no seller owes more than it earns (0 when nothing trades).
    fills: every order's index -> fill [Wh], 0 included. trades: the priced matches, best
    ranked first. marginal_buy / marginal_sell: None when nothing trades.
    """

    mechanism: str
    price_per_kwh: int
    volume_wh: int
    network_charge_per_kwh: int
    fills: Mapping[int, int]
    trades: tuple[Trade, ...]
    marginal_buy: MarginalOrder | None
    marginal_sell: MarginalOrder | None

    @classmethod
    def of(
        cls, mechanism: str, book: RankedBook, trades: Iterable[Trade], band: PriceBand
    ) -> Clearing:
        """Derive fills, marginals, price and charge from `trades` on `book`, checking that no
        order trades past its quantity or its limit."""
        priced = tuple(trades)
        fills = {o.index: 0 for o in (*book.buys, *book.sells)}
        limits = {o.index: o.limit_price_per_kwh for o in (*book.buys, *book.sells)}
        for t in priced:
            if t.buy_price_per_kwh > limits[t.buy_index]:
                raise MarketInvariantError(
                    f"buy {t.buy_index} pays {t.buy_price_per_kwh} above its limit "
                    f"{limits[t.buy_index]} units/kWh"
                )
            if t.sell_price_per_kwh < limits[t.sell_index]:
                raise MarketInvariantError(
                    f"sell {t.sell_index} receives {t.sell_price_per_kwh} below its limit "
                    f"{limits[t.sell_index]} units/kWh"
                )
            fills[t.buy_index] += t.volume_wh
            fills[t.sell_index] += t.volume_wh
        for order in (*book.buys, *book.sells):
            if fills[order.index] > order.quantity_wh:
                raise MarketInvariantError(
                    f"order {order.index} fills {fills[order.index]} Wh of {order.quantity_wh}"
                )
        volume = sum(t.volume_wh for t in priced)
        value = sum(t.volume_wh * t.buy_price_per_kwh for t in priced)
        lowest_sell_price = min((t.sell_price_per_kwh for t in priced), default=0)
        return cls(
            mechanism=mechanism,
            price_per_kwh=value // volume if volume else 0,
            volume_wh=volume,
            network_charge_per_kwh=min(band.network_charge_per_kwh, lowest_sell_price),
            fills=MappingProxyType(fills),
            trades=priced,
            marginal_buy=_marginal(book.buys, fills),
            marginal_sell=_marginal(book.sells, fills),
        )

    def as_onchain_result(self) -> tuple[bool, int, int, int, int, int, int, int, int, int]:
        """Market.sol's `Result` struct of a cleared interval, field for field (zeros for
        absent marginals, as the contract stores them)."""
        buy = self.marginal_buy or MarginalOrder(0, 0, 0)
        sell = self.marginal_sell or MarginalOrder(0, 0, 0)
        return (
            True,
            self.price_per_kwh,
            self.volume_wh,
            self.network_charge_per_kwh,
            buy.index,
            buy.limit_price_per_kwh,
            buy.fill_wh,
            sell.index,
            sell.limit_price_per_kwh,
            sell.fill_wh,
        )


def _marginal(ranked: tuple[Order, ...], fills: Mapping[int, int]) -> MarginalOrder | None:
    for order in reversed(ranked):
        if fills[order.index]:
            return MarginalOrder(order.index, order.limit_price_per_kwh, fills[order.index])
    return None


def pair_price(buy_limit_per_kwh: int, sell_limit_per_kwh: int, band: PriceBand) -> int:
    """Market.sol's price for a crossing pair [units/kWh]: the midpoint rounded down (k = 0.5),
    clamped to [floor, ceiling], then to [sell limit, buy limit] so neither trades past its
    limit. The limit clamp wins over the band only for limits outside the band, which the
    contract never admits."""
    if buy_limit_per_kwh < sell_limit_per_kwh:
        raise MarketInputError(
            f"buy limit {buy_limit_per_kwh} below sell limit {sell_limit_per_kwh} units/kWh: "
            "the pair does not cross"
        )
    price = band.clamp((buy_limit_per_kwh + sell_limit_per_kwh) // 2)
    return min(max(price, sell_limit_per_kwh), buy_limit_per_kwh)


class ClearingMechanism(ABC):
    """Turns an interval's orders into a Clearing; subclasses say which matches trade at what
    prices. Ranking is shared: buys by (limit desc, index asc), sells by (limit asc, index
    asc). Every mechanism keeps its prices inside the band except where a limit forbids it,
    and never trades an order past its limit or quantity (Clearing.of checks)."""

    name: ClassVar[str]

    def clear(self, orders: Iterable[Order], band: PriceBand) -> Clearing:
        """Clear one interval's `orders` (unique indices) under `band`."""
        book = RankedBook.of(orders)
        return Clearing.of(self.name, book, self._trades(book, band), band)

    @abstractmethod
    def _trades(self, book: RankedBook, band: PriceBand) -> tuple[Trade, ...]:
        """The priced trades of `book`, best-ranked matches first."""


class UniformPriceAuction(ClearingMechanism):
    """Uniform-price double auction, the rule Market.sol verifies on-chain (k = 0.5).

    Walking both rankings unit by unit, b(v) and s(v) are the limits of the buy and sell
    orders holding the v-th Wh. The cleared volume is V = max{v : b(v) >= s(v)} (0 if no unit
    crosses or a side is empty). Orders ahead of the marginal ones (those holding the V-th Wh)
    fill fully, the marginal buy and sell fill up to V, the rest not at all. Every unit trades
    at one price: (b(V) + s(V)) // 2, clamped to the band, then to [s(V), b(V)]; 0 if V = 0.
    """

    name = "uniform"

    @override
    def _trades(self, book: RankedBook, band: PriceBand) -> tuple[Trade, ...]:
        matches = book.matches(book.crossing_volume_wh())
        return tuple(self._trade(m, matches[-1], band) for m in matches)

    def _trade(self, match: Match, marginal: Match, band: PriceBand) -> Trade:
        """Price one match of the crossing; `marginal` is the match holding the V-th Wh."""
        price = pair_price(
            marginal.buy.limit_price_per_kwh, marginal.sell.limit_price_per_kwh, band
        )
        return Trade.of(match, price, price)


def clear_uniform(orders: Iterable[Order], band: PriceBand) -> Clearing:
    """Clear `orders` by the on-chain rule (UniformPriceAuction)."""
    return UniformPriceAuction().clear(orders, band)
