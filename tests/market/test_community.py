"""One community interval: local clearing by a mechanism, the grid taking the rest, fees and
the feeder limit in prices and volumes."""

from __future__ import annotations

import pytest

from gridledger.market.community import (
    Feeder,
    NoLocalMarket,
    Position,
    Tariffs,
    clear_community,
)
from gridledger.market.errors import MarketInputError
from gridledger.market.mechanisms import (
    BidFreePrice,
    P2PMidPrice,
    UniformPriceAuction,
    bid_free_price_per_kwh,
)
from gridledger.market.orders import PriceBand

TARIFFS = Tariffs(feed_in_per_kwh=80, retail_per_kwh=300, grid_fee_per_kwh=0)
BOOK = [Position("a", 2000), Position("b", 1000), Position("c", -1500)]


def test_bid_free_price_surface_spans_the_band() -> None:
    band = PriceBand(80, 300)
    assert bid_free_price_per_kwh(0, 1000, band) == 300  # no local supply: retail
    assert bid_free_price_per_kwh(1000, 0, band) == 80  # no local demand: feed-in
    assert bid_free_price_per_kwh(1000, 1000, band) == 190  # balanced: mid-band
    assert bid_free_price_per_kwh(1500, 3000, band) == 80 + 220 * 3000 // 4500
    with pytest.raises(MarketInputError, match="supply -1 Wh"):
        bid_free_price_per_kwh(-1, 0, band)


def test_bid_free_trades_the_short_side_and_the_grid_takes_the_rest() -> None:
    ci = clear_community(BOOK, BidFreePrice(), TARIFFS)
    assert ci.price_per_kwh == 80 + 220 * 3000 // 4500 == 226
    assert ci.local_wh == 1500 and ci.grid_import_wh == 1500 and ci.grid_export_wh == 0
    a, b, c = ci.households
    assert a.bought_local_wh + b.bought_local_wh == 1500 == c.sold_local_wh
    assert a.bought_local_wh == 1500 and a.bought_grid_wh == 500 and b.bought_grid_wh == 1000
    assert c.received_units == 1500 * 226 // 1000
    assert a.paid_units == 1500 * 226 // 1000 + 500 * 300 // 1000
    assert b.paid_units == 300


def test_no_local_market_is_the_grid_alone() -> None:
    ci = clear_community(BOOK, NoLocalMarket(), TARIFFS)
    assert ci.local_wh == 0 and ci.price_per_kwh == 0
    assert [h.cost_units for h in ci.households] == [600, 300, -120]


def test_a_local_market_lowers_the_community_cost() -> None:
    base = sum(h.cost_units for h in clear_community(BOOK, NoLocalMarket(), TARIFFS).households)
    for mechanism in (P2PMidPrice(), BidFreePrice(), UniformPriceAuction()):
        ci = clear_community(BOOK, mechanism, TARIFFS)
        total = sum(h.cost_units for h in ci.households) + ci.treasury_units
        assert total < base, mechanism.name


def test_grid_fee_raises_sellers_limits_and_reaches_the_treasury() -> None:
    fee = Tariffs(80, 300, grid_fee_per_kwh=20)
    # The buyer's limit 95 lies above feed-in but below feed-in + fee: selling to it pays
    # less than exporting, so the seller's order is raised to 100 and nothing trades.
    book = [Position("a", 1000, limit_per_kwh=95), Position("c", -1000, limit_per_kwh=80)]
    assert clear_community(book, UniformPriceAuction(), TARIFFS).local_wh == 1000
    assert clear_community(book, UniformPriceAuction(), fee).local_wh == 0
    ci = clear_community(BOOK, BidFreePrice(), fee)
    assert ci.treasury_units >= 1500 * 20 // 1000
    assert ci.households[2].received_units == 1500 * 226 // 1000 - 30


def test_feeder_limit_cuts_the_net_flow_before_the_market() -> None:
    # Needs 3000 Wh, surplus 1500 Wh: the feeder carries the net 1500 Wh, so a 1000 Wh
    # import limit leaves 500 Wh unserved, shared 2:1 by the needs, whatever the mechanism.
    for mechanism in (NoLocalMarket(), BidFreePrice()):
        ci = clear_community(BOOK, mechanism, TARIFFS, Feeder(import_limit_wh=1000))
        assert [h.unserved_wh for h in ci.households] == [333, 167, 0]
        assert ci.grid_import_wh - ci.grid_export_wh == 1000
    # No local market: the grid settles 2500 Wh bought and 1500 Wh sold (net 1000 Wh).
    none = clear_community(BOOK, NoLocalMarket(), TARIFFS, Feeder(import_limit_wh=1000))
    assert (none.grid_import_wh, none.grid_export_wh) == (2500, 1500)
    # Surplus 3000 Wh, need 500 Wh, export limit 1000 Wh: 1500 Wh curtailed 2:1 before the
    # market, so the bid-free price sees 1500 Wh of supply, not 3000, and rises.
    surplus = [Position("a", 500), Position("c", -2000), Position("d", -1000)]
    ci = clear_community(surplus, BidFreePrice(), TARIFFS, Feeder(export_limit_wh=1000))
    assert [h.curtailed_wh for h in ci.households] == [0, 1000, 500]
    assert ci.local_wh == 500 and ci.grid_export_wh == 1000
    assert ci.price_per_kwh == 80 + 220 * 500 // 2000
    assert clear_community(surplus, BidFreePrice(), TARIFFS).price_per_kwh == 80 + 220 * 500 // 3500


def test_a_household_twice_is_refused() -> None:
    with pytest.raises(MarketInputError, match="twice"):
        clear_community([Position("a", 1), Position("a", -1)], BidFreePrice(), TARIFFS)
