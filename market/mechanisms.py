"""Clearing mechanisms behind one interface (ClearingMechanism, market/clearing.py).

UniformPriceAuction is the rule Market.sol enforces; the others are for simulation studies
and comparison. All of them rank orders the same way, price in integer units/kWh inside the
regulated band (unless an order's own limit, outside the band, forbids it) and never trade an
order past its limit or its quantity. Mechanisms with one universal price ration the willing
orders by ranking, so fills are always a prefix of each ranking.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from types import MappingProxyType

from typing_extensions import override

from gridledger.contracts.enums import Side
from gridledger.market.clearing import ClearingMechanism, Trade, UniformPriceAuction, pair_price
from gridledger.market.errors import MarketInputError, MarketInvariantError
from gridledger.market.orders import Match, Order, PriceBand, RankedBook

__all__ = [
    "MECHANISMS",
    "BidFreePrice",
    "ClearingMechanism",
    "P2PMidPrice",
    "PayAsBid",
    "SupplyDemandRatio",
    "TradeReduction",
    "UniformPriceAuction",
    "UniversalPriceMechanism",
]


class PayAsBid(UniformPriceAuction):
    """Discriminatory pricing on the uniform auction's matches ("pay-as-bid", k = 0.5 per pair).

    The traded volume and the fills are those of the uniform-price auction: both rankings are
    walked unit by unit up to V = max{v : b(v) >= s(v)}, which pairs the buy and sell orders
    into matches. Each match then trades at its own pair's midpoint (b + s) // 2, clamped to
    the band and then to [s, b], instead of at the marginal pair's price. Highly ranked orders
    therefore keep less of their surplus than in the uniform auction; the split is a fixed
    k = 0.5 per pair, so it is not truthful either.
    """

    name = "pay-as-bid"

    @override
    def _trade(self, match: Match, marginal: Match, band: PriceBand) -> Trade:
        price = pair_price(match.buy.limit_price_per_kwh, match.sell.limit_price_per_kwh, band)
        return Trade.of(match, price, price)


class TradeReduction(UniformPriceAuction):
    """McAfee's trade-reduction double auction (McAfee 1992, J. Econ. Theory 56:434-450).

    Let V be the uniform auction's volume and (b_m, s_m) the limits of the marginal buy and
    sell orders (holding the V-th Wh). The next pair (b_n, s_n) are the first buy and sell
    orders ranked after the marginal ones; a missing one is replaced by the grid: a buyer at
    the band floor (feed-in tariff) or a seller at the ceiling (retail tariff). McAfee's
    candidate price is p0 = (b_n + s_n) // 2.
    - If s_m <= p0 <= b_m, all V Wh trade at p0 (clamped to the band, then to [s_m, b_m]).
    - Otherwise the marginal pair is excluded: only the orders ranked ahead of the marginal
      ones trade, min(quantity ahead of the marginal buy, quantity ahead of the marginal sell)
      Wh, rationed by ranking; buyers pay b_m and sellers receive s_m (each clamped to the
      band, then to [s_m, b_m]). The difference goes to the treasury (weak budget balance).
    No order that trades sets its own price: p0 comes from orders ranked after the trade, b_m
    and s_m from orders excluded from it. With single-unit orders that is McAfee's dominant
    strategy truthfulness; with block orders, an order trading its whole quantity cannot move
    the prices by bidding more aggressively within the band (tested). The price of that is
    volume: it never exceeds the uniform auction's.
    """

    name = "trade-reduction"

    @override
    def _trades(self, book: RankedBook, band: PriceBand) -> tuple[Trade, ...]:
        volume = book.crossing_volume_wh()
        if volume == 0:
            return ()
        buy_pos = _position(book.buys, book.holder(Side.BUY, volume))
        sell_pos = _position(book.sells, book.holder(Side.SELL, volume))
        b_m = book.buys[buy_pos].limit_price_per_kwh
        s_m = book.sells[sell_pos].limit_price_per_kwh
        b_n = _limit_at(book.buys, buy_pos + 1, band.floor_per_kwh)
        s_n = _limit_at(book.sells, sell_pos + 1, band.ceiling_per_kwh)
        candidate = (b_n + s_n) // 2
        if s_m <= candidate <= b_m:
            price = _within(band.clamp(candidate), s_m, b_m)
            return tuple(Trade.of(m, price, price) for m in book.matches(volume))
        ahead_buy_wh = sum(o.quantity_wh for o in book.buys[:buy_pos])
        ahead_sell_wh = sum(o.quantity_wh for o in book.sells[:sell_pos])
        buy_price = _within(band.clamp(b_m), s_m, b_m)
        sell_price = _within(band.clamp(s_m), s_m, b_m)
        reduced = book.matches(min(ahead_buy_wh, ahead_sell_wh))
        return tuple(Trade.of(m, buy_price, sell_price) for m in reduced)


class UniversalPriceMechanism(ClearingMechanism):
    """One price p for every trade, computed from the book by universal_price_per_kwh().

    At p, buyers with limit >= p and sellers with limit <= p are willing; min(their demand,
    their supply) Wh trade, rationed by ranking (the long side's lowest-ranked willing orders
    fill partly or not at all). Every unit of that volume crosses, so the volume never exceeds
    the uniform auction's V. Nothing trades if a side is empty.
    """

    @override
    def _trades(self, book: RankedBook, band: PriceBand) -> tuple[Trade, ...]:
        if not book.buys or not book.sells:
            return ()
        price = self.universal_price_per_kwh(book, band)
        return tuple(Trade.of(m, price, price) for m in book.matches(book.volume_at_wh(price)))

    @abstractmethod
    def universal_price_per_kwh(self, book: RankedBook, band: PriceBand) -> int:
        """The price of every trade [units/kWh], inside the band; both sides are non-empty."""


class P2PMidPrice(UniversalPriceMechanism):
    """The P2P price of Andriopoulos et al. 2023 (LEM with consumer digital twins).

    P_lem = (P_prod_low + P_cons_high) / 2: the midpoint, rounded down, of the lowest sell
    limit and the highest buy limit, clamped to the band [feed-in, retail], universal to all
    trades. It is set by the book's extremes, not by the marginal pair, so it can leave
    crossing orders unwilling (less volume than the uniform auction) but never makes anyone
    trade past their limit.
    """

    name = "p2p-mid"

    @override
    def universal_price_per_kwh(self, book: RankedBook, band: PriceBand) -> int:
        lowest_sell = book.sells[0].limit_price_per_kwh
        highest_buy = book.buys[0].limit_price_per_kwh
        return band.clamp((lowest_sell + highest_buy) // 2)


class SupplyDemandRatio(UniversalPriceMechanism):
    """The supply-demand-ratio (SDR) price (Liu et al. 2017, "Energy-sharing model with
    price-based demand response for microgrids of peer-to-peer prosumers", IEEE Trans. Power
    Syst. 32(5):3569-3583; compared in Zhou et al. 2018, Applied Energy 222:993-1022).

    SDR = supply / demand, the total sell and buy quantities [Wh] of the book. With f the
    floor (feed-in tariff) and c the ceiling (retail tariff):
        price = f * c / ((c - f) * SDR + f)   if SDR < 1   (c at SDR = 0, falling towards f)
        price = f                             if SDR >= 1
    computed exactly in integers as f*c*D // ((c - f)*S + f*D) and clamped to the band. The
    price depends on quantities only; orders whose limits refuse it do not trade.
    """

    name = "sdr"

    @override
    def universal_price_per_kwh(self, book: RankedBook, band: PriceBand) -> int:
        return sdr_price_per_kwh(book.supply_wh, book.demand_wh, band)


class BidFreePrice(UniversalPriceMechanism):
    """The bid-free price of Andriopoulos et al. 2023 (their "proposed" mechanism, Figure 6).

    The price comes from the interval's local production S and consumption D [Wh] alone, not
    from the limits: with f the floor (feed-in tariff) and c the ceiling (retail tariff),
        price = f + (c - f) * D / (S + D)
    rounded down, a surface over (S, D) that is c with no local supply, f with no local
    demand and the middle of the band when the residual load D - S is zero; always inside the
    band. Households send quantities only (their orders carry the band's limits, so all of
    them are willing) and min(S, D) Wh trade.
    """

    name = "bid-free"

    @override
    def universal_price_per_kwh(self, book: RankedBook, band: PriceBand) -> int:
        return bid_free_price_per_kwh(book.supply_wh, book.demand_wh, band)


def bid_free_price_per_kwh(supply_wh: int, demand_wh: int, band: PriceBand) -> int:
    """The bid-free price [units/kWh] of `supply_wh` against `demand_wh` (see BidFreePrice)."""
    if supply_wh < 0 or demand_wh < 0:
        raise MarketInputError(f"supply {supply_wh} Wh and demand {demand_wh} Wh must both be >= 0")
    floor, ceiling = band.floor_per_kwh, band.ceiling_per_kwh
    total = supply_wh + demand_wh
    if total == 0:
        return (floor + ceiling) // 2
    return floor + (ceiling - floor) * demand_wh // total


def sdr_price_per_kwh(supply_wh: int, demand_wh: int, band: PriceBand) -> int:
    """The SDR price [units/kWh] of `supply_wh` against `demand_wh` (see SupplyDemandRatio)."""
    floor, ceiling = band.floor_per_kwh, band.ceiling_per_kwh
    if supply_wh >= demand_wh:
        return floor
    if supply_wh == 0:
        return ceiling
    # 0 < S < D: the denominator lies in (f*D, c*D], zero only for the band [0, 0].
    denominator = (ceiling - floor) * supply_wh + floor * demand_wh
    if denominator == 0:
        return floor
    return band.clamp(floor * ceiling * demand_wh // denominator)


def _position(ranked: tuple[Order, ...], order: Order | None) -> int:
    if order is None:
        raise MarketInvariantError("no order holds the V-th Wh although V > 0")
    return ranked.index(order)


def _limit_at(ranked: tuple[Order, ...], position: int, default_per_kwh: int) -> int:
    return ranked[position].limit_price_per_kwh if position < len(ranked) else default_per_kwh


def _within(price_per_kwh: int, low_per_kwh: int, high_per_kwh: int) -> int:
    return min(max(price_per_kwh, low_per_kwh), high_per_kwh)


MECHANISMS: Mapping[str, type[ClearingMechanism]] = MappingProxyType(
    {
        cls.name: cls
        for cls in (
            UniformPriceAuction,
            PayAsBid,
            TradeReduction,
            P2PMidPrice,
            SupplyDemandRatio,
            BidFreePrice,
        )
    }
)
"""Every concrete mechanism by its `name` (for a CLI or a scenario file)."""
