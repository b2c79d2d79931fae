"""Orders, the regulated price band and the ranked order book (the inputs of every mechanism).

Units: energy in Wh (`_wh`), prices in settlement-token base units per kWh (`_per_kwh`).
Integers only, with the bounds of the on-chain storage types (Market.sol `uint40`,
Regulation.sol `uint64`), so anything accepted here is representable on-chain.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field

from gridledger.contracts.enums import Side
from gridledger.contracts.units import UINT40_LIMIT, UINT64_LIMIT, WH_PER_KWH
from gridledger.market.errors import MarketInputError


@dataclass(frozen=True, slots=True)
class Order:
    """One limit order of a market interval.

    index: position of the order in its interval [-] (the low 32 bits of the on-chain id).
    owner: the participant's address. side: BUY or SELL.
    quantity_wh: energy offered or wanted [Wh], 1 <= q < 2**40.
    limit_price_per_kwh: the worst acceptable price [units/kWh], 0 <= p < 2**40; a buyer pays
    at most this, a seller receives at least this.
    """

    index: int
    owner: str
    side: Side
    quantity_wh: int
    limit_price_per_kwh: int

    def __post_init__(self) -> None:
        if self.index < 0:
            raise MarketInputError(f"order index {self.index} is negative")
        if not 1 <= self.quantity_wh < UINT40_LIMIT:
            raise MarketInputError(
                f"order {self.index}: quantity {self.quantity_wh} Wh outside [1, 2**40)"
            )
        if not 0 <= self.limit_price_per_kwh < UINT40_LIMIT:
            raise MarketInputError(
                f"order {self.index}: limit price {self.limit_price_per_kwh} units/kWh "
                "outside [0, 2**40)"
            )

    @property
    def escrow_units(self) -> int:
        """Collateral a buy order locks on-chain: ceil(q * limit / 1000) [units] (0 for sells)."""
        if self.side is Side.SELL:
            return 0
        return -(-self.quantity_wh * self.limit_price_per_kwh // WH_PER_KWH)


@dataclass(frozen=True, slots=True)
class PriceBand:
    """The regulated price band and network charge (Regulation.sol), all in [units/kWh].

    floor_per_kwh: the feed-in tariff, the lowest clearing price the band allows.
    ceiling_per_kwh: the retail tariff, the highest. network_charge_per_kwh: deducted from
    sellers' proceeds per kWh sold; never above the floor, as Regulation.sol enforces.
    """

    floor_per_kwh: int
    ceiling_per_kwh: int
    network_charge_per_kwh: int = 0

    def __post_init__(self) -> None:
        for name in ("floor_per_kwh", "ceiling_per_kwh", "network_charge_per_kwh"):
            value = getattr(self, name)
            if not 0 <= value < UINT64_LIMIT:
                raise MarketInputError(f"price band {name} {value} outside [0, 2**64)")
        if self.floor_per_kwh > self.ceiling_per_kwh:
            raise MarketInputError(
                f"price band floor {self.floor_per_kwh} units/kWh above ceiling "
                f"{self.ceiling_per_kwh} units/kWh"
            )
        if self.network_charge_per_kwh > self.floor_per_kwh:
            raise MarketInputError(
                f"network charge {self.network_charge_per_kwh} units/kWh above price floor "
                f"{self.floor_per_kwh} units/kWh"
            )

    def clamp(self, price_per_kwh: int) -> int:
        """`price_per_kwh` raised to the floor, then lowered to the ceiling [units/kWh]."""
        return min(max(price_per_kwh, self.floor_per_kwh), self.ceiling_per_kwh)


def rank_key(order: Order) -> tuple[int, int]:
    """Sort key of the ranking: buys by (price desc, index asc), sells by (price asc, index asc)."""
    if order.side is Side.BUY:
        return (-order.limit_price_per_kwh, order.index)
    return (order.limit_price_per_kwh, order.index)


@dataclass(frozen=True, slots=True)
class Match:
    """`volume_wh` [Wh] of buy order `buy` matched against sell order `sell` (before pricing)."""

    buy: Order
    sell: Order
    volume_wh: int


@dataclass(frozen=True, slots=True)
class RankedBook:
    """The orders of one interval, each side in ranking order (best first).

    Wh are numbered from 1 along each ranking; b(v) and s(v) are the limit prices of the buy
    and sell orders holding the v-th Wh.
    """

    buys: tuple[Order, ...]
    sells: tuple[Order, ...]
    _buy_ends_wh: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _sell_ends_wh: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for side, ranked in ((Side.BUY, self.buys), (Side.SELL, self.sells)):
            for order in ranked:
                if order.side is not side:
                    raise MarketInputError(f"order {order.index} is not a {side.name} order")
            keys = [rank_key(o) for o in ranked]
            if keys != sorted(keys):
                raise MarketInputError(f"{side.name} orders are not in ranking order")
        buy_ends = tuple(itertools.accumulate(o.quantity_wh for o in self.buys))
        sell_ends = tuple(itertools.accumulate(o.quantity_wh for o in self.sells))
        object.__setattr__(self, "_buy_ends_wh", buy_ends)
        object.__setattr__(self, "_sell_ends_wh", sell_ends)

    @classmethod
    def of(cls, orders: Iterable[Order]) -> RankedBook:
        """Rank `orders`; indices must be unique within the interval."""
        ordered = list(orders)
        seen: set[int] = set()
        for order in ordered:
            if order.index in seen:
                raise MarketInputError(f"order index {order.index} appears twice in the book")
            seen.add(order.index)
        buys = sorted((o for o in ordered if o.side is Side.BUY), key=rank_key)
        sells = sorted((o for o in ordered if o.side is Side.SELL), key=rank_key)
        return cls(tuple(buys), tuple(sells))

    @property
    def demand_wh(self) -> int:
        """Total quantity of the buy orders [Wh]."""
        return self._buy_ends_wh[-1] if self._buy_ends_wh else 0

    @property
    def supply_wh(self) -> int:
        """Total quantity of the sell orders [Wh]."""
        return self._sell_ends_wh[-1] if self._sell_ends_wh else 0

    def holder(self, side: Side, unit_wh: int) -> Order | None:
        """The `side` order holding the `unit_wh`-th Wh of its ranking (1-based), if any."""
        ranked, ends = (
            (self.buys, self._buy_ends_wh) if side is Side.BUY else (self.sells, self._sell_ends_wh)
        )
        if unit_wh < 1:
            return None
        position = bisect.bisect_left(ends, unit_wh)
        return ranked[position] if position < len(ranked) else None

    def crossing_volume_wh(self) -> int:
        """V = max{v : b(v) >= s(v)} [Wh], 0 if no unit crosses or a side is empty.

        b is non-increasing and s non-decreasing, so the crossing units form a prefix: walk
        both rankings order by order (O(n)) until the current pair no longer crosses.
        """
        volume = 0
        buy_pos = sell_pos = 0
        while buy_pos < len(self.buys) and sell_pos < len(self.sells):
            buy, sell = self.buys[buy_pos], self.sells[sell_pos]
            if buy.limit_price_per_kwh < sell.limit_price_per_kwh:
                break
            volume = min(self._buy_ends_wh[buy_pos], self._sell_ends_wh[sell_pos])
            buy_pos += self._buy_ends_wh[buy_pos] == volume
            sell_pos += self._sell_ends_wh[sell_pos] == volume
        return volume

    def volume_at_wh(self, price_per_kwh: int) -> int:
        """min(demand, supply) among orders willing to trade at `price_per_kwh` [Wh].

        Buyers with limit >= price and sellers with limit <= price are prefixes of their
        rankings. This never exceeds crossing_volume_wh(): every unit up to it crosses.
        """
        demand = sum(o.quantity_wh for o in self.buys if o.limit_price_per_kwh >= price_per_kwh)
        supply = sum(o.quantity_wh for o in self.sells if o.limit_price_per_kwh <= price_per_kwh)
        return min(demand, supply)

    def matches(self, volume_wh: int) -> tuple[Match, ...]:
        """Pair the first `volume_wh` Wh of both rankings into segments, best orders first.

        The last match holds the `volume_wh`-th Wh on both sides: its orders are the marginal
        pair. Requires volume_wh <= min(demand, supply).
        """
        if not 0 <= volume_wh <= min(self.demand_wh, self.supply_wh):
            raise MarketInputError(
                f"volume {volume_wh} Wh outside [0, min(demand {self.demand_wh} Wh, "
                f"supply {self.supply_wh} Wh)]"
            )
        found: list[Match] = []
        done = buy_pos = sell_pos = 0
        while done < volume_wh:
            step = min(self._buy_ends_wh[buy_pos], self._sell_ends_wh[sell_pos], volume_wh) - done
            found.append(Match(self.buys[buy_pos], self.sells[sell_pos], step))
            done += step
            buy_pos += self._buy_ends_wh[buy_pos] == done
            sell_pos += self._sell_ends_wh[sell_pos] == done
        return tuple(found)
