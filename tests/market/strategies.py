"""Hypothesis strategies shared by the market tests: order books and price bands."""

from __future__ import annotations

from hypothesis import strategies as st

from gridledger.contracts.enums import Side
from gridledger.market.orders import Order, PriceBand

B, S = Side.BUY, Side.SELL


def order(index: int, side: Side, quantity_wh: int, limit_per_kwh: int) -> Order:
    """An order owned by participant `p<index>`."""
    return Order(index, f"p{index}", side, quantity_wh, limit_per_kwh)


@st.composite
def bands(draw: st.DrawFn, max_price: int = 30) -> PriceBand:
    """A valid band with prices in [0, max_price] units/kWh."""
    floor = draw(st.integers(0, max_price))
    ceiling = draw(st.integers(floor, max_price))
    return PriceBand(floor, ceiling, draw(st.integers(0, floor)))


@st.composite
def books(
    draw: st.DrawFn,
    prices: st.SearchStrategy[int] | None = None,
    max_orders: int = 12,
    max_quantity_wh: int = 40,
) -> list[Order]:
    """Orders with unique indices assigned in shuffled order (so index order and position in
    the list differ); few distinct prices by default, so ties are common."""
    limit = prices if prices is not None else st.integers(0, 30)
    specs = draw(
        st.lists(
            st.tuples(st.sampled_from(Side), st.integers(1, max_quantity_wh), limit),
            max_size=max_orders,
        )
    )
    indices = draw(st.permutations(range(len(specs))))
    return [order(i, side, q, p) for i, (side, q, p) in zip(indices, specs, strict=True)]


@st.composite
def banded_books(
    draw: st.DrawFn, max_price: int = 30, max_quantity_wh: int = 40
) -> tuple[list[Order], PriceBand]:
    """A band and a book whose limits all lie inside it, as Market.sol admits them."""
    band = draw(bands(max_price))
    prices = st.integers(band.floor_per_kwh, band.ceiling_per_kwh)
    return draw(books(prices, max_quantity_wh=max_quantity_wh)), band
