"""The uniform-price double auction: inputs, golden clearings, the on-chain rule by property,
and the witness the operator submits to Market.sol."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridledger.contracts.enums import Side
from gridledger.market.clearing import Clearing, MarginalOrder, clear_uniform, pair_price
from gridledger.market.errors import MarketInputError, MarketWitnessError
from gridledger.market.orders import Order, PriceBand, RankedBook
from gridledger.market.witness import Witness, WitnessChunk, check_witness, chunks, witness_for
from tests.market.strategies import B, S, bands, books, order

OPEN_BAND = PriceBand(0, 1000, 0)


def naive_uniform(orders: list[Order], band: PriceBand) -> tuple[int, dict[int, int], int]:
    """Obviously-correct O(V) reference, straight from the rule's wording: expand each ranking
    into one entry per Wh, V = max{v : b(v) >= s(v)}, fill the first V Wh of each ranking,
    price = mid of b(V), s(V), clamped to the band then to [s(V), b(V)]."""
    buys = sorted(
        (o for o in orders if o.side is B), key=lambda o: (-o.limit_price_per_kwh, o.index)
    )
    sells = sorted(
        (o for o in orders if o.side is S), key=lambda o: (o.limit_price_per_kwh, o.index)
    )
    buy_units = [o for o in buys for _ in range(o.quantity_wh)]
    sell_units = [o for o in sells for _ in range(o.quantity_wh)]
    crossing = [
        v
        for v in range(1, min(len(buy_units), len(sell_units)) + 1)
        if buy_units[v - 1].limit_price_per_kwh >= sell_units[v - 1].limit_price_per_kwh
    ]
    volume = max(crossing, default=0)
    fills = {o.index: 0 for o in orders}
    for unit in (*buy_units[:volume], *sell_units[:volume]):
        fills[unit.index] += 1
    if volume == 0:
        return 0, fills, 0
    b_v = buy_units[volume - 1].limit_price_per_kwh
    s_v = sell_units[volume - 1].limit_price_per_kwh
    price = (b_v + s_v) // 2
    price = min(max(price, band.floor_per_kwh), band.ceiling_per_kwh)
    return volume, fills, min(max(price, s_v), b_v)


def onchain_fill(clearing: Clearing, o: Order) -> int:
    """Market.sol `_fillOf`: an order's fill from the stored marginal orders alone."""
    marginal = clearing.marginal_buy if o.side is B else clearing.marginal_sell
    if clearing.volume_wh == 0 or marginal is None:
        return 0
    if o.index == marginal.index:
        return marginal.fill_wh
    better = (
        o.limit_price_per_kwh > marginal.limit_price_per_kwh
        if o.side is B
        else o.limit_price_per_kwh < marginal.limit_price_per_kwh
    )
    same = o.limit_price_per_kwh == marginal.limit_price_per_kwh
    return o.quantity_wh if better or (same and o.index < marginal.index) else 0


# ---------------------------------------------------------------- inputs


def test_side_has_the_solidity_enum_order() -> None:
    assert (int(Side.BUY), int(Side.SELL)) == (0, 1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"index": -1}, "order index -1 is negative"),
        ({"quantity_wh": 0}, "quantity 0 Wh outside [1, 2**40)"),
        ({"quantity_wh": 2**40}, f"quantity {2**40} Wh outside"),
        ({"limit_price_per_kwh": -1}, "limit price -1 units/kWh outside [0, 2**40)"),
        ({"limit_price_per_kwh": 2**40}, f"limit price {2**40} units/kWh"),
    ],
)
def test_order_rejects_values_outside_the_onchain_types(
    kwargs: dict[str, int], message: str
) -> None:
    fields: dict[str, int] = {"index": 3, "quantity_wh": 1, "limit_price_per_kwh": 0, **kwargs}
    with pytest.raises(MarketInputError, match=re.escape(message)):
        Order(fields["index"], "p", B, fields["quantity_wh"], fields["limit_price_per_kwh"])


def test_order_accepts_the_extremes_of_the_onchain_types() -> None:
    assert Order(0, "p", S, 2**40 - 1, 2**40 - 1).quantity_wh == 2**40 - 1
    assert Order(0, "p", B, 1, 0).escrow_units == 0


@pytest.mark.parametrize(
    ("band", "message"),
    [
        ((10, 9, 0), "floor 10 units/kWh above ceiling 9 units/kWh"),
        ((10, 20, 11), "network charge 11 units/kWh above price floor 10 units/kWh"),
        ((-1, 20, 0), "floor_per_kwh -1 outside"),
        ((0, 2**64, 0), "ceiling_per_kwh 18446744073709551616 outside"),
    ],
)
def test_price_band_validation_quotes_the_numbers(band: tuple[int, int, int], message: str) -> None:
    with pytest.raises(MarketInputError, match=message):
        PriceBand(*band)


def test_duplicate_indices_are_rejected() -> None:
    with pytest.raises(MarketInputError, match="order index 4 appears twice"):
        clear_uniform([order(4, B, 10, 5), order(4, S, 10, 5)], OPEN_BAND)


def test_buy_escrow_rounds_up_and_sells_escrow_nothing() -> None:
    assert order(0, B, 333, 101).escrow_units == 34  # 33.633 -> 34
    assert order(0, B, 1000, 101).escrow_units == 101
    assert order(0, S, 333, 101).escrow_units == 0


# ---------------------------------------------------------------- golden clearings


def test_golden_three_by_three_stops_at_the_crossing() -> None:
    # b(v): 120 for v<=1000, 100 to 2000, 80 to 3000; s(v): 70 to 1500, 90 to 2500, 110.
    # Wh 2000 still crosses (100 >= 90), Wh 2001 does not (80 < 90): V = 2000.
    orders = [
        order(0, B, 1000, 120),
        order(1, B, 1000, 100),
        order(2, B, 1000, 80),
        order(3, S, 1500, 70),
        order(4, S, 1000, 90),
        order(5, S, 1000, 110),
    ]
    c = clear_uniform(orders, PriceBand(50, 150, 10))
    assert (c.volume_wh, c.price_per_kwh, c.network_charge_per_kwh) == (2000, 95, 10)
    assert dict(c.fills) == {0: 1000, 1: 1000, 2: 0, 3: 1500, 4: 500, 5: 0}
    assert c.marginal_buy == MarginalOrder(1, 100, 1000)
    assert c.marginal_sell == MarginalOrder(4, 90, 500)
    assert c.as_onchain_result() == (True, 95, 2000, 10, 1, 100, 1000, 4, 90, 500)


def test_golden_ties_are_broken_by_index_not_by_arrival() -> None:
    # Orders 7 and 2 bid the same price; 2 ranks first although it is listed second.
    orders = [order(7, B, 1000, 100), order(2, B, 1000, 100), order(5, S, 1500, 60)]
    c = clear_uniform(orders, OPEN_BAND)
    assert dict(c.fills) == {2: 1000, 7: 500, 5: 1500}
    assert c.marginal_buy == MarginalOrder(7, 100, 500)  # partial fill of the marginal buy
    assert c.price_per_kwh == 80


def test_golden_partial_fill_of_the_marginal_sell() -> None:
    orders = [order(0, B, 1000, 100), order(1, S, 600, 50), order(2, S, 800, 70)]
    c = clear_uniform(orders, OPEN_BAND)
    assert (c.volume_wh, c.price_per_kwh) == (1000, 85)
    assert dict(c.fills) == {0: 1000, 1: 600, 2: 400}
    assert c.marginal_sell == MarginalOrder(2, 70, 400)


def test_golden_midpoint_rounds_down() -> None:
    c = clear_uniform([order(0, B, 10, 101), order(1, S, 10, 90)], OPEN_BAND)
    assert c.price_per_kwh == 95


def test_golden_no_crossing_clears_nothing_at_price_zero() -> None:
    c = clear_uniform([order(0, B, 1000, 50), order(1, S, 1000, 60)], PriceBand(40, 90, 5))
    assert (c.volume_wh, c.price_per_kwh, c.network_charge_per_kwh) == (0, 0, 0)
    assert dict(c.fills) == {0: 0, 1: 0}
    assert (c.marginal_buy, c.marginal_sell, c.trades) == (None, None, ())
    assert c.as_onchain_result() == (True, 0, 0, 0, 0, 0, 0, 0, 0, 0)


@pytest.mark.parametrize("side", [B, S])
def test_golden_one_empty_side_clears_nothing(side: Side) -> None:
    c = clear_uniform([order(0, side, 1000, 50), order(1, side, 500, 70)], OPEN_BAND)
    assert (c.volume_wh, c.price_per_kwh) == (0, 0)
    assert dict(c.fills) == {0: 0, 1: 0}


def test_golden_empty_book() -> None:
    assert clear_uniform([], OPEN_BAND).volume_wh == 0


@pytest.mark.parametrize(
    ("buy", "sell", "band", "price"),
    [
        (100, 90, PriceBand(96, 200, 0), 96),  # mid 95 raised to the floor
        (200, 150, PriceBand(0, 160, 0), 160),  # mid 175 lowered to the ceiling
        (100, 90, PriceBand(120, 200, 0), 100),  # floor 120 above the buy limit: limit wins
        (300, 250, PriceBand(0, 200, 0), 250),  # ceiling 200 below the sell limit: limit wins
    ],
)
def test_golden_band_clamp_then_limit_clamp(
    buy: int, sell: int, band: PriceBand, price: int
) -> None:
    c = clear_uniform([order(0, B, 1000, buy), order(1, S, 1000, sell)], band)
    assert c.price_per_kwh == price
    assert pair_price(buy, sell, band) == price


def test_network_charge_is_capped_by_the_price() -> None:
    # Price 30 (the buy limit under a floor of 40); the band's charge of 40 is capped to 30.
    c = clear_uniform([order(0, B, 1000, 30), order(1, S, 1000, 20)], PriceBand(40, 90, 40))
    assert (c.price_per_kwh, c.network_charge_per_kwh) == (30, 30)


def test_pair_price_rejects_a_pair_that_does_not_cross() -> None:
    with pytest.raises(MarketInputError, match="buy limit 5 below sell limit 6"):
        pair_price(5, 6, OPEN_BAND)


def test_ranked_book_holders_and_volume_at_price() -> None:
    book = RankedBook.of([order(0, B, 3, 10), order(1, B, 2, 12), order(2, S, 4, 9)])
    assert [book.holder(B, v) for v in (0, 1, 2, 3, 5, 6)] == [
        None,
        book.buys[0],
        book.buys[0],
        book.buys[1],
        book.buys[1],
        None,
    ]
    assert book.buys[0].index == 1
    assert (book.volume_at_wh(11), book.volume_at_wh(10), book.volume_at_wh(8)) == (2, 4, 0)
    with pytest.raises(MarketInputError, match="volume 5 Wh outside"):
        book.matches(5)


# ---------------------------------------------------------------- the rule, by property


@given(books(), bands())
def test_matches_the_naive_unit_by_unit_reference(orders: list[Order], band: PriceBand) -> None:
    c = clear_uniform(orders, band)
    assert (c.volume_wh, dict(c.fills), c.price_per_kwh) == naive_uniform(orders, band)


@given(books(), bands())
def test_fills_are_feasible_balanced_and_within_limits(
    orders: list[Order], band: PriceBand
) -> None:
    c = clear_uniform(orders, band)
    assert set(c.fills) == {o.index for o in orders}
    assert all(0 <= c.fills[o.index] <= o.quantity_wh for o in orders)
    assert sum(c.fills[o.index] for o in orders if o.side is B) == c.volume_wh
    assert sum(c.fills[o.index] for o in orders if o.side is S) == c.volume_wh
    for o in orders:
        if c.fills[o.index] and o.side is B:
            assert o.limit_price_per_kwh >= c.price_per_kwh
        if c.fills[o.index] and o.side is S:
            assert o.limit_price_per_kwh <= c.price_per_kwh
    assert c.network_charge_per_kwh == min(band.network_charge_per_kwh, c.price_per_kwh)


@given(books(), bands())
def test_fills_follow_from_the_marginal_orders_as_onchain(
    orders: list[Order], band: PriceBand
) -> None:
    c = clear_uniform(orders, band)
    assert {o.index: onchain_fill(c, o) for o in orders} == dict(c.fills)


@given(books(prices=st.integers(0, 2**40 - 1), max_quantity_wh=2**40 - 1), bands(2**40))
def test_large_values_match_the_witness_check(orders: list[Order], band: PriceBand) -> None:
    c = clear_uniform(orders, band)
    w = witness_for(orders)
    outcome = check_witness(orders, chunks(w, 3), w.volume_wh)
    assert (outcome.volume_wh, outcome.marginal_buy, outcome.marginal_sell) == (
        c.volume_wh,
        c.marginal_buy,
        c.marginal_sell,
    )


# ---------------------------------------------------------------- the witness


@given(books())
def test_witness_rankings_are_permutations_in_ranking_order(orders: list[Order]) -> None:
    w = witness_for(orders)
    by_index = {o.index: o for o in orders}
    assert sorted(w.buy_ranking) == sorted(o.index for o in orders if o.side is B)
    assert sorted(w.sell_ranking) == sorted(o.index for o in orders if o.side is S)
    for first, second in zip(w.buy_ranking, w.buy_ranking[1:], strict=False):
        a, b = by_index[first], by_index[second]
        assert (a.limit_price_per_kwh, -a.index) > (b.limit_price_per_kwh, -b.index)
    for first, second in zip(w.sell_ranking, w.sell_ranking[1:], strict=False):
        a, b = by_index[first], by_index[second]
        assert (a.limit_price_per_kwh, a.index) < (b.limit_price_per_kwh, b.index)
    assert w.volume_wh == clear_uniform(orders, OPEN_BAND).volume_wh


@given(books(), st.integers(1, 5))
def test_chunks_are_bounded_and_reassemble_the_witness(orders: list[Order], size: int) -> None:
    w = witness_for(orders)
    pieces = chunks(w, size)
    assert all(1 <= len(p.indices) <= size for p in pieces)
    buy = tuple(i for p in pieces if p.side is B for i in p.indices)
    sell = tuple(i for p in pieces if p.side is S for i in p.indices)
    assert Witness(buy, sell, w.volume_wh) == w
    assert len(pieces) == -(-len(w.buy_ranking) // size) + -(-len(w.sell_ranking) // size)


def test_chunks_rejects_a_non_positive_size() -> None:
    with pytest.raises(MarketInputError, match="chunk size 0 orders"):
        chunks(Witness((), (), 0), 0)


@given(books(), bands())
def test_the_contract_accepts_exactly_the_true_volume(orders: list[Order], band: PriceBand) -> None:
    w = witness_for(orders)
    c = clear_uniform(orders, band)
    outcome = check_witness(orders, chunks(w, 2), w.volume_wh)
    assert (outcome.marginal_buy, outcome.marginal_sell) == (c.marginal_buy, c.marginal_sell)
    book = RankedBook.of(orders)
    too_big = w.volume_wh + 1
    expected = (
        "MarketVolumeInfeasible"
        if too_big > min(book.demand_wh, book.supply_wh)
        else "MarketWitnessNotCrossing"
    )
    with pytest.raises(MarketWitnessError) as raised:
        check_witness(orders, chunks(w, 2), too_big)
    assert raised.value.solidity_error == expected
    if w.volume_wh > 0:
        with pytest.raises(MarketWitnessError) as raised:
            check_witness(orders, chunks(w, 2), w.volume_wh - 1)
        assert raised.value.solidity_error == "MarketVolumeNotMaximal"


WITNESS_BOOK = [order(0, B, 10, 50), order(1, B, 10, 40), order(2, S, 10, 30), order(3, S, 5, 45)]


@pytest.mark.parametrize(
    ("pieces", "error"),
    [
        ([WitnessChunk(B, (1, 0))], "MarketWitnessNotSorted"),
        ([WitnessChunk(B, (0, 9))], "MarketWitnessIndexOutOfRange"),
        ([WitnessChunk(B, (0, 2))], "MarketWitnessWrongSide"),
        ([WitnessChunk(B, (0,)), WitnessChunk(B, (0,))], "MarketWitnessDuplicate"),
        ([WitnessChunk(B, (0, 1)), WitnessChunk(S, (2,))], "MarketWitnessIncomplete"),
    ],
)
def test_malformed_witnesses_fail_with_the_contract_error(
    pieces: list[WitnessChunk], error: str
) -> None:
    with pytest.raises(MarketWitnessError, match=error) as raised:
        check_witness(WITNESS_BOOK, pieces, 10)
    assert raised.value.solidity_error == error


def test_the_golden_witness_is_accepted_in_any_chunking() -> None:
    w = witness_for(WITNESS_BOOK)
    assert w == Witness((0, 1), (2, 3), 10)
    for size in (1, 2, 4):
        assert check_witness(WITNESS_BOOK, chunks(w, size), 10).marginal_sell == MarginalOrder(
            2, 30, 10
        )
    with pytest.raises(MarketInputError, match="claimed volume -1 Wh"):
        check_witness(WITNESS_BOOK, chunks(w, 2), -1)
