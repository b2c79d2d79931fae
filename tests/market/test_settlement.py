"""Payments: golden settlements, the on-chain rounding by property, and a state machine that
checks energy and money are conserved across random order flows."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from gridledger.contracts.enums import Side
from gridledger.market.clearing import ClearingMechanism, clear_uniform
from gridledger.market.errors import MarketInputError, MarketInvariantError
from gridledger.market.mechanisms import MECHANISMS, TradeReduction
from gridledger.market.orders import Order, PriceBand
from gridledger.market.settlement import (
    RELEASE_GRACE_S,
    OrderSettlement,
    Release,
    release,
    settle,
)
from tests.market.strategies import B, S, bands, books, order

ALL = [cls() for cls in MECHANISMS.values()]

# V = 400 Wh at 93 units/kWh, charge 7 (see the rounding worked out in the test).
GOLDEN_BOOK = [order(0, B, 333, 101), order(1, B, 500, 97), order(2, S, 400, 90)]
GOLDEN_BOOK.append(order(3, S, 600, 99))
GOLDEN_BAND = PriceBand(80, 120, 7)


def test_golden_settlement_rounds_buyers_up_and_sellers_down() -> None:
    c = clear_uniform(GOLDEN_BOOK, GOLDEN_BAND)
    assert (c.volume_wh, c.price_per_kwh, dict(c.fills)) == (400, 93, {0: 333, 1: 67, 2: 400, 3: 0})
    s = settle(GOLDEN_BOOK, c)
    assert s.orders == (
        # escrow ceil(33.633) = 34, cost ceil(333 * 93 / 1000 = 30.969) = 31, refund 3
        OrderSettlement(0, B, 333, 34, 31, 0, 0, 3, 0),
        # escrow ceil(48.5) = 49, cost ceil(67 * 93 / 1000 = 6.231) = 7, refund 42
        OrderSettlement(1, B, 67, 49, 7, 0, 0, 42, 0),
        # gross floor(37.2) = 37, charge floor(400 * 7 / 1000 = 2.8) = 2, held 35
        OrderSettlement(2, S, 400, 0, 0, 37, 2, 0, 35),
        OrderSettlement(3, S, 0, 0, 0, 0, 0, 0, 0),
    )
    assert (s.charges_units, s.dust_units, s.treasury_units) == (2, 1, 3)  # dust 31 + 7 - 37
    assert dict(s.credits_units) == {0: 3, 1: 42, 2: 0, 3: 0}
    assert s.held_total_units == 35
    assert dict(s.costs_units) == {0: 31, 1: 7}
    assert s.escrow_total_units == 83
    s.check_conservation()


def test_golden_trade_reduction_surplus_goes_to_the_treasury() -> None:
    orders = [order(0, B, 1000, 100), order(1, B, 1000, 95), order(2, B, 1000, 20)]
    orders += [order(3, S, 1000, 10), order(4, S, 1000, 90), order(5, S, 1000, 150)]
    s = settle(orders, TradeReduction().clear(orders, PriceBand(0, 200, 0)))
    assert dict(s.credits_units) == {0: 5, 1: 95, 2: 20, 3: 0, 4: 0, 5: 0}
    assert {o.index: o.held_units for o in s.orders if o.side is S} == {3: 90, 4: 0, 5: 0}
    assert (s.dust_units, s.treasury_units) == (5, 5)
    s.check_conservation()


@pytest.mark.parametrize(
    ("dust_units", "treasury_units", "message"),
    [
        (1, 4, "treasury 4 units != charges 2 \\+ dust 1 units"),
        (2, 4, "escrows 83 units != credits, held and treasury 84"),
        (-1, 1, "negative amount"),
    ],
)
def test_check_conservation_catches_a_broken_settlement(
    dust_units: int, treasury_units: int, message: str
) -> None:
    s = settle(GOLDEN_BOOK, clear_uniform(GOLDEN_BOOK, GOLDEN_BAND))
    broken = dataclasses.replace(s, dust_units=dust_units, treasury_units=treasury_units)
    with pytest.raises(MarketInvariantError, match=message):
        broken.check_conservation()


def test_check_conservation_catches_a_negative_credit() -> None:
    s = settle(GOLDEN_BOOK, clear_uniform(GOLDEN_BOOK, GOLDEN_BAND))
    broken = dataclasses.replace(s.orders[0], credit_units=-1)
    with pytest.raises(MarketInvariantError, match=r"negative amount: orders \[0\]"):
        dataclasses.replace(s, orders=(broken, *s.orders[1:])).check_conservation()


def test_settle_needs_exactly_the_cleared_orders() -> None:
    c = clear_uniform(GOLDEN_BOOK, GOLDEN_BAND)
    with pytest.raises(MarketInputError, match=r"orders \[3\] are not in both"):
        settle(GOLDEN_BOOK[:3], c)


@given(orders=books(prices=st.integers(0, 10**6), max_quantity_wh=10**5), band=bands(10**6))
def test_uniform_settlement_uses_the_onchain_formulas(orders: list[Order], band: PriceBand) -> None:
    c = clear_uniform(orders, band)
    s = settle(orders, c)
    price, charge = c.price_per_kwh, c.network_charge_per_kwh
    for o, paid in zip(sorted(orders, key=lambda o: o.index), s.orders, strict=True):
        fill = c.fills[o.index]
        if o.side is B:
            escrow = -(-o.quantity_wh * o.limit_price_per_kwh // 1000)
            cost = -(-fill * price // 1000)
            assert (paid.escrow_units, paid.cost_units, paid.credit_units) == (
                escrow,
                cost,
                escrow - cost,
            )
        else:
            gross, fee = fill * price // 1000, fill * charge // 1000
            assert (paid.gross_units, paid.charge_units, paid.credit_units, paid.held_units) == (
                gross,
                fee,
                0,
                gross - fee,
            )


@pytest.mark.parametrize("mechanism", ALL, ids=lambda m: m.name)
@given(orders=books(prices=st.integers(0, 10**6), max_quantity_wh=10**5), band=bands(10**6))
def test_every_mechanism_conserves_money(
    mechanism: ClearingMechanism, orders: list[Order], band: PriceBand
) -> None:
    s = settle(orders, mechanism.clear(orders, band))
    s.check_conservation()
    assert s.dust_units >= 0
    assert all(0 <= o.cost_units <= o.escrow_units for o in s.orders)
    assert all(o.credit_units >= 0 and o.charge_units <= o.gross_units for o in s.orders)
    assert all(o.held_units >= 0 for o in s.orders)


PARTICIPANTS = [f"0x{n:040x}" for n in range(1, 5)]


END_TS = 10_000  # every interval of the flow below ends here [unix s]


def test_release_waits_for_the_readings_or_the_grace_period() -> None:
    # Readings short of the interval's end, grace not run out: refused with the numbers.
    with pytest.raises(MarketInputError, match="readings end at 9940, the interval at 10000"):
        release(100, 0, last_reading_end_ts=9_940, interval_end_ts=END_TS, now_ts=END_TS + 60)
    metered = release(100, 30, last_reading_end_ts=END_TS, interval_end_ts=END_TS, now_ts=END_TS)
    assert metered == Release(70, 30, True)  # the penalty first, the rest to the seller
    assert release(
        100, 130, last_reading_end_ts=END_TS, interval_end_ts=END_TS, now_ts=0
    ) == Release(0, 100, True)
    late = END_TS + RELEASE_GRACE_S
    assert release(100, 0, last_reading_end_ts=0, interval_end_ts=END_TS, now_ts=late) == Release(
        0, 100, False
    )
    with pytest.raises(MarketInputError, match="must be >= 0"):
        release(-1, 0, last_reading_end_ts=END_TS, interval_end_ts=END_TS, now_ts=END_TS)


class MarketFlow(RuleBasedStateMachine):
    """Random intervals: orders arrive, escrow leaves buyers' wallets, a random mechanism
    clears, settlement pays buyers and holds sellers' proceeds, meters report or not, time
    passes, release pays the held proceeds out. Wallets are net positions starting at 0
    [units]."""

    def __init__(self) -> None:
        super().__init__()
        self.band = PriceBand(0, 0, 0)
        self.book: list[Order] = []
        self.wallets = dict.fromkeys(PARTICIPANTS, 0)
        self.escrow_held_units = 0
        self.treasury_units = 0
        self.bought_wh = self.sold_wh = 0
        self.intervals = 0
        # Held proceeds per (interval, order index): (owner, units, penalty due [units]).
        self.held: dict[tuple[int, int], tuple[str, int, int]] = {}
        self.released: set[tuple[int, int]] = set()
        self.metered_to_ts = dict.fromkeys(PARTICIPANTS, 0)
        self.now_ts = 0

    @initialize(band=bands(10**6))
    def regulate(self, band: PriceBand) -> None:
        self.band = band

    @rule(
        owner=st.sampled_from(PARTICIPANTS),
        side=st.sampled_from(Side),
        quantity_wh=st.integers(1, 10**5),
        position_permille=st.integers(0, 1000),
    )
    def place(self, owner: str, side: Side, quantity_wh: int, position_permille: int) -> None:
        width = self.band.ceiling_per_kwh - self.band.floor_per_kwh
        limit = self.band.floor_per_kwh + width * position_permille // 1000
        placed = Order(len(self.book), owner, side, quantity_wh, limit)
        self.book.append(placed)
        self.wallets[owner] -= placed.escrow_units
        self.escrow_held_units += placed.escrow_units

    @rule(mechanism=st.sampled_from(ALL))
    def clear_and_settle(self, mechanism: ClearingMechanism) -> None:
        clearing = mechanism.clear(self.book, self.band)
        settlement = settle(self.book, clearing)
        settlement.check_conservation()
        for placed, paid in zip(self.book, settlement.orders, strict=True):
            assert (placed.index, placed.side) == (paid.index, paid.side)
            self.wallets[placed.owner] += paid.credit_units
            self.escrow_held_units -= paid.escrow_units
            if placed.side is S and paid.fill_wh:
                penalty = paid.held_units * (self.intervals % 3) // 2  # 0, 1/2, 1 of held
                self.held[(self.intervals, placed.index)] = (placed.owner, paid.held_units, penalty)
            if placed.side is B:
                self.bought_wh += paid.fill_wh
            else:
                self.sold_wh += paid.fill_wh
        self.treasury_units += settlement.treasury_units
        self.book = []
        self.intervals += 1

    @rule(owner=st.sampled_from(PARTICIPANTS), intervals=st.integers(0, 3))
    def meter_reports(self, owner: str, intervals: int) -> None:
        # Interval n ends at END_TS * (n + 1); readings only move forward.
        self.metered_to_ts[owner] = max(self.metered_to_ts[owner], END_TS * intervals)

    @rule(seconds=st.sampled_from([60, RELEASE_GRACE_S // 2, RELEASE_GRACE_S]))
    def time_passes(self, seconds: int) -> None:
        self.now_ts += seconds

    @rule(data=st.data())
    def release_one(self, data: st.DataObject) -> None:
        if not self.held:
            return
        key = data.draw(st.sampled_from(sorted(self.held)))
        owner, held_units, penalty = self.held[key]
        end_ts = END_TS * (key[0] + 1)
        last_end = self.metered_to_ts[owner]
        if key in self.released:
            return  # Market.sol: MarketProceedsAlreadyReleased (tests/contracts/test_market.py)
        allowed = last_end >= end_ts or self.now_ts >= end_ts + RELEASE_GRACE_S
        if not allowed:
            with pytest.raises(MarketInputError, match="delivery not metered"):
                release(
                    held_units,
                    penalty,
                    last_reading_end_ts=last_end,
                    interval_end_ts=end_ts,
                    now_ts=self.now_ts,
                )
            return
        out = release(
            held_units,
            penalty,
            last_reading_end_ts=last_end,
            interval_end_ts=end_ts,
            now_ts=self.now_ts,
        )
        assert out.seller_units + out.treasury_units == held_units
        assert out.metered == (last_end >= end_ts)
        assert out.treasury_units == (min(penalty, held_units) if out.metered else held_units)
        self.wallets[owner] += out.seller_units
        self.treasury_units += out.treasury_units
        self.released.add(key)

    def _held_units(self) -> int:
        return sum(h[1] for k, h in self.held.items() if k not in self.released)

    @invariant()
    def money_is_conserved(self) -> None:
        total = sum(self.wallets.values()) + self.escrow_held_units + self.treasury_units
        assert total + self._held_units() == 0
        assert self.escrow_held_units == sum(o.escrow_units for o in self.book)
        assert self.treasury_units >= 0

    @invariant()
    def energy_is_conserved(self) -> None:
        assert self.bought_wh == self.sold_wh


MarketFlow.TestCase.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)
test_market_flow = MarketFlow.TestCase
