"""The other clearing mechanisms: golden examples and each one's documented properties."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridledger.market.clearing import Clearing, ClearingMechanism, Trade, clear_uniform, pair_price
from gridledger.market.mechanisms import (
    MECHANISMS,
    BidFreePrice,
    P2PMidPrice,
    PayAsBid,
    SupplyDemandRatio,
    TradeReduction,
    UniformPriceAuction,
    sdr_price_per_kwh,
)
from gridledger.market.orders import Order, PriceBand, RankedBook
from tests.market.strategies import B, S, banded_books, bands, books, order

ALL = [cls() for cls in MECHANISMS.values()]
OPEN_BAND = PriceBand(0, 200, 0)


def prices(c: Clearing) -> list[tuple[int, int, int, int, int]]:
    return [dataclasses.astuple(t) for t in c.trades]


def test_registry_names_every_mechanism() -> None:
    assert dict(MECHANISMS) == {
        "uniform": UniformPriceAuction,
        "pay-as-bid": PayAsBid,
        "trade-reduction": TradeReduction,
        "p2p-mid": P2PMidPrice,
        "sdr": SupplyDemandRatio,
        "bid-free": BidFreePrice,
    }
    assert all(issubclass(cls, ClearingMechanism) for cls in MECHANISMS.values())


# ---------------------------------------------------------------- properties of all


@pytest.mark.parametrize("mechanism", ALL, ids=lambda m: m.name)
@given(case=banded_books())
def test_prices_stay_in_the_band(
    mechanism: ClearingMechanism, case: tuple[list[Order], PriceBand]
) -> None:
    orders, band = case
    c = mechanism.clear(orders, band)
    for t in c.trades:
        assert band.floor_per_kwh <= t.sell_price_per_kwh <= t.buy_price_per_kwh
        assert t.buy_price_per_kwh <= band.ceiling_per_kwh
    if c.volume_wh:
        assert band.floor_per_kwh <= c.price_per_kwh <= band.ceiling_per_kwh


@pytest.mark.parametrize("mechanism", ALL, ids=lambda m: m.name)
@given(orders=books(), band=bands())
def test_trades_are_feasible_within_limits_and_no_larger_than_uniform(
    mechanism: ClearingMechanism, orders: list[Order], band: PriceBand
) -> None:
    c = mechanism.clear(orders, band)
    by_index = {o.index: o for o in orders}
    for t in c.trades:
        assert t.buy_price_per_kwh <= by_index[t.buy_index].limit_price_per_kwh
        assert t.sell_price_per_kwh >= by_index[t.sell_index].limit_price_per_kwh
    book = RankedBook.of(orders)
    for ranked in (book.buys, book.sells):
        fills = [c.fills[o.index] for o in ranked]
        assert sum(fills) == c.volume_wh
        # Fills are a prefix of the ranking: full, at most one partial, then nothing.
        partial_or_empty = [i for i, o in enumerate(ranked) if fills[i] < o.quantity_wh]
        if partial_or_empty:
            assert all(f == 0 for f in fills[partial_or_empty[0] + 1 :])
    assert c.volume_wh <= clear_uniform(orders, band).volume_wh


# ---------------------------------------------------------------- pay-as-bid


def test_pay_as_bid_golden() -> None:
    orders = [order(0, B, 1000, 120), order(1, B, 1000, 100), order(2, S, 1000, 60)]
    orders.append(order(3, S, 1000, 90))
    c = PayAsBid().clear(orders, OPEN_BAND)
    assert prices(c) == [(0, 2, 1000, 90, 90), (1, 3, 1000, 95, 95)]
    assert (c.volume_wh, c.price_per_kwh) == (2000, 92)  # volume-weighted mean, rounded down
    assert clear_uniform(orders, OPEN_BAND).price_per_kwh == 95


@given(orders=books(), band=bands())
def test_pay_as_bid_prices_each_pair_at_its_own_midpoint(
    orders: list[Order], band: PriceBand
) -> None:
    c = PayAsBid().clear(orders, band)
    uniform = clear_uniform(orders, band)
    assert dict(c.fills) == dict(uniform.fills)
    limit = {o.index: o.limit_price_per_kwh for o in orders}
    for t in c.trades:
        assert t.buy_price_per_kwh == t.sell_price_per_kwh
        assert t.buy_price_per_kwh == pair_price(limit[t.buy_index], limit[t.sell_index], band)


# ---------------------------------------------------------------- trade reduction


def test_trade_reduction_keeps_every_trade_at_the_next_pairs_price() -> None:
    # V = 10 Wh; marginal pair (100, 40); next pair (60, 90): p0 = 75 in [40, 100].
    orders = [order(0, B, 10, 100), order(1, B, 10, 60), order(2, S, 10, 40), order(3, S, 10, 90)]
    c = TradeReduction().clear(orders, OPEN_BAND)
    assert prices(c) == [(0, 2, 10, 75, 75)]
    assert clear_uniform(orders, OPEN_BAND).price_per_kwh == 70


def test_trade_reduction_excludes_the_marginal_pair() -> None:
    # V = 2000 Wh; marginal pair (95, 90); next pair (20, 150): p0 = 85 outside [90, 95].
    orders = [order(0, B, 1000, 100), order(1, B, 1000, 95), order(2, B, 1000, 20)]
    orders += [order(3, S, 1000, 10), order(4, S, 1000, 90), order(5, S, 1000, 150)]
    c = TradeReduction().clear(orders, OPEN_BAND)
    assert prices(c) == [(0, 3, 1000, 95, 90)]  # buyer pays b_m, seller gets s_m
    assert dict(c.fills) == {0: 1000, 1: 0, 2: 0, 3: 1000, 4: 0, 5: 0}
    assert c.volume_wh == 1000 < clear_uniform(orders, OPEN_BAND).volume_wh


@pytest.mark.parametrize(
    ("sell_limit", "band", "expected"),
    [
        (40, PriceBand(30, 150, 0), [(0, 1, 1000, 90, 90)]),  # grid pair (30, 150): p0 = 90
        (95, PriceBand(10, 150, 0), []),  # p0 = 80 < 95: reduced to nothing
    ],
)
def test_trade_reduction_puts_the_grid_where_the_next_order_is_missing(
    sell_limit: int, band: PriceBand, expected: list[tuple[int, ...]]
) -> None:
    c = TradeReduction().clear([order(0, B, 1000, 100), order(1, S, 1000, sell_limit)], band)
    assert prices(c) == expected


@given(case=banded_books())
def test_trade_reduction_excludes_only_the_marginal_pair(
    case: tuple[list[Order], PriceBand],
) -> None:
    orders, band = case
    c = TradeReduction().clear(orders, band)
    uniform = clear_uniform(orders, band)
    if c.volume_wh == uniform.volume_wh:
        assert len({(t.buy_price_per_kwh, t.sell_price_per_kwh) for t in c.trades}) <= 1
        assert all(t.buy_price_per_kwh == t.sell_price_per_kwh for t in c.trades)
    else:
        assert uniform.marginal_buy is not None and uniform.marginal_sell is not None
        assert c.fills[uniform.marginal_buy.index] == c.fills[uniform.marginal_sell.index] == 0
        for t in c.trades:
            assert t.buy_price_per_kwh == uniform.marginal_buy.limit_price_per_kwh
            assert t.sell_price_per_kwh == uniform.marginal_sell.limit_price_per_kwh


@given(case=banded_books())
def test_trade_reduction_an_order_filled_in_full_cannot_move_the_prices(
    case: tuple[list[Order], PriceBand],
) -> None:
    orders, band = case
    before = TradeReduction().clear(orders, band)
    for i, o in enumerate(orders):
        if before.fills[o.index] != o.quantity_wh:
            continue
        extreme = band.ceiling_per_kwh if o.side is B else band.floor_per_kwh
        bolder = [
            *orders[:i],
            dataclasses.replace(o, limit_price_per_kwh=extreme),
            *orders[i + 1 :],
        ]
        after = TradeReduction().clear(bolder, band)
        assert after.volume_wh == before.volume_wh
        assert {(t.buy_price_per_kwh, t.sell_price_per_kwh) for t in after.trades} == {
            (t.buy_price_per_kwh, t.sell_price_per_kwh) for t in before.trades
        }


# ---------------------------------------------------------------- universal prices


def test_p2p_mid_price_golden() -> None:
    # P_lem = (10 + 200) // 2 = 105: only the 200 bid is willing, so 1000 Wh trade (uniform: 2000).
    orders = [order(0, B, 1000, 200), order(1, B, 1000, 95), order(2, S, 1000, 10)]
    orders.append(order(3, S, 1000, 90))
    c = P2PMidPrice().clear(orders, OPEN_BAND)
    assert prices(c) == [(0, 2, 1000, 105, 105)]
    assert clear_uniform(orders, OPEN_BAND).volume_wh == 2000
    clamped = P2PMidPrice().clear(orders, PriceBand(0, 100, 0))
    assert prices(clamped) == [(0, 2, 1000, 100, 100)]


@given(orders=books(), band=bands())
def test_p2p_mid_price_is_the_clamped_mid_of_the_extremes(
    orders: list[Order], band: PriceBand
) -> None:
    c = P2PMidPrice().clear(orders, band)
    book = RankedBook.of(orders)
    if book.buys and book.sells:
        p = band.clamp((book.sells[0].limit_price_per_kwh + book.buys[0].limit_price_per_kwh) // 2)
        assert {t.buy_price_per_kwh for t in c.trades} <= {p}
        assert c.volume_wh == book.volume_at_wh(p)
    else:
        assert c.trades == ()


@pytest.mark.parametrize(
    ("supply_wh", "demand_wh", "price"),
    [(0, 100, 150), (100, 100, 50), (200, 100, 50), (1, 2, 75), (1, 3, 90), (0, 0, 50)],
)
def test_sdr_price_golden(supply_wh: int, demand_wh: int, price: int) -> None:
    # 50 * 150 / (100 * SDR + 50): SDR 1/2 -> 75, SDR 1/3 -> 90.
    assert sdr_price_per_kwh(supply_wh, demand_wh, PriceBand(50, 150, 0)) == price


def test_sdr_price_on_a_zero_band() -> None:
    assert sdr_price_per_kwh(1, 2, PriceBand(0, 0, 0)) == 0
    assert sdr_price_per_kwh(1, 2, PriceBand(0, 100, 0)) == 0


def test_sdr_clearing_golden() -> None:
    orders = [order(0, B, 2000, 150), order(1, S, 1000, 50)]
    c = SupplyDemandRatio().clear(orders, PriceBand(50, 150, 0))
    assert prices(c) == [(0, 1, 1000, 75, 75)]


@given(supply=st.integers(0, 10**6), extra=st.integers(1, 10**6), demand=st.integers(1, 10**6))
def test_sdr_price_falls_from_ceiling_to_floor_as_supply_grows(
    supply: int, extra: int, demand: int
) -> None:
    band = PriceBand(40, 310, 0)
    low, high = (
        sdr_price_per_kwh(supply + extra, demand, band),
        sdr_price_per_kwh(supply, demand, band),
    )
    assert 40 <= low <= high <= 310
    assert (high == 310) == (supply == 0)
    if supply + extra >= demand:
        assert low == 40


@given(orders=books(), band=bands())
def test_sdr_trades_at_the_ratio_price(orders: list[Order], band: PriceBand) -> None:
    c = SupplyDemandRatio().clear(orders, band)
    book = RankedBook.of(orders)
    p = sdr_price_per_kwh(book.supply_wh, book.demand_wh, band)
    assert all(t == Trade(t.buy_index, t.sell_index, t.volume_wh, p, p) for t in c.trades)
    if book.buys and book.sells:
        assert c.volume_wh == book.volume_at_wh(p)
