"""The planned bidding strategy (market.planning.bidding)."""

from __future__ import annotations

import numpy as np
import pytest

from gridledger.contracts.enums import Side
from gridledger.market.forecast.forest import ForecastConfig
from gridledger.market.planning.bidding import (
    OrderIntent,
    PlannedBidder,
    capped_sell,
    export_floor_wh,
    order_of,
    persistence_order,
)
from gridledger.sim.battery import BatteryParams

FAST = ForecastConfig(n_trees=5, horizon_ticks=4, min_samples_leaf=5)


def test_order_of_by_hand() -> None:
    assert order_of(1_234.4) == OrderIntent(Side.BUY, 1_234)
    assert order_of(-800.6) == OrderIntent(Side.SELL, 801)
    assert order_of(49.0) == OrderIntent(None, 0)
    assert OrderIntent(Side.SELL, 500).committed_pcc_w(900) == -2_000.0  # 500 Wh in 15 min
    assert OrderIntent(None, 0).committed_pcc_w(3600) is None


def test_the_battery_holds_the_meter_at_the_committed_power() -> None:
    bidder = PlannedBidder(BatteryParams(capacity_wh=10_000.0), 3600, forecast=FAST)
    sell = OrderIntent(Side.SELL, 2_000)
    # net load 500 W (PV short of the forecast): discharge 2.5 kW to export the 2 kW sold
    assert bidder.setpoint_w(sell, 500.0) == 2_500.0
    assert bidder.setpoint_w(OrderIntent(None, 0), 500.0) == 500.0  # no order: myopic


def test_orders_start_at_activation_from_the_plan() -> None:
    hours = np.arange(200) % 24
    load = 1_000.0 + 500.0 * np.cos(2 * np.pi * (hours - 19) / 24)
    pv = np.maximum(4_000.0 * np.sin(np.pi * (hours - 6) / 12), 0.0)
    bidder = PlannedBidder(BatteryParams(capacity_wh=10_000.0, max_charge_w=1_000.0,
                                         max_discharge_w=1_000.0), 3600, forecast=FAST)  # fmt: skip
    assert bidder.order(100, 5_000.0, load, pv) == OrderIntent(None, 0)
    noon = bidder.order(180, 9_500.0, load, pv)  # 12:00, battery nearly full: PV surplus sold
    assert noon.side is Side.SELL and noon.quantity_wh > 1_000
    night = bidder.order(190, 5_000.0, load, pv)  # 22:00: load, no PV, reserve kept: a buy
    assert night.side is Side.BUY


def test_persistence_orders_the_last_interval_again() -> None:
    assert persistence_order(730) == OrderIntent(Side.BUY, 730)
    assert persistence_order(-1_200) == OrderIntent(Side.SELL, 1_200)
    assert persistence_order(-49) == OrderIntent(None, 0)
    assert persistence_order(-60, min_order_wh=100) == OrderIntent(None, 0)


def test_a_sale_is_cut_to_the_expected_export() -> None:
    sell = OrderIntent(Side.SELL, 900)
    assert capped_sell(sell, 600.9) == OrderIntent(Side.SELL, 600)
    assert capped_sell(sell, 1_000.0) == sell
    assert capped_sell(sell, 49.9) == OrderIntent(None, 0)  # below the smallest order
    assert capped_sell(sell, 0.0, min_order_wh=0) == OrderIntent(None, 0)  # nothing expected
    assert capped_sell(sell, -30.0, min_order_wh=0) == OrderIntent(None, 0)
    assert capped_sell(OrderIntent(Side.BUY, 700), 0.0) == OrderIntent(Side.BUY, 700)
    assert capped_sell(OrderIntent(None, 0), 0.0) == OrderIntent(None, 0)


def test_the_export_floor_by_hand() -> None:
    assert export_floor_wh([(0, 50.0)], 1, 10_000) == 50.0  # one step: itself, no trend
    steady = [(60 * i, 40.0) for i in range(10)]
    assert export_floor_wh(steady, 5, 100_000) == 40.0  # steady: forever
    falling = [(60 * i, 100.0 - 2 * i) for i in range(10)]  # 2 Wh less each minute
    last_ts = 540
    assert export_floor_wh(falling, 5, last_ts) == pytest.approx(82.0)  # now: the last step
    assert export_floor_wh(falling, 5, last_ts + 600) == pytest.approx(62.0)  # 10 min on
    assert export_floor_wh(falling, 5, last_ts + 3_600) < 0  # an hour on: it imports
    rising = [(60 * i, 10.0 + 5 * i) for i in range(10)]
    assert export_floor_wh(rising, 3, last_ts + 3_600) == pytest.approx(45.0)  # not counted on
    # one dip 30 Wh below a steady 60 Wh, out of the last interval: about as deep ever after
    dipped = [(60 * i, 60.0 if i != 4 else 30.0) for i in range(10)]
    assert 30.0 <= export_floor_wh(dipped, 3, last_ts + 3_600) <= 31.0
    with pytest.raises(ValueError, match="at least one"):
        export_floor_wh([], 1, 0)


TICK_S = 3600
BATTERY = BatteryParams(
    capacity_wh=10_000.0, max_charge_w=2_000.0, max_discharge_w=2_000.0,
    soc_min_pct=10.0, soc_max_pct=90.0,
)  # fmt: skip


def _battery_power_needed_w(bidder: PlannedBidder, intent: OrderIntent) -> float:
    """The set-point [W] (> 0 discharge) that holds the meter at the order's committed power
    if load and PV come as forecast (the plan's q50 at its first tick)."""
    decision = bidder.planner.decisions[-1]
    net_fc_w = float(decision.load.q50[0] - decision.pv.q50[0])
    committed_w = intent.committed_pcc_w(TICK_S)
    assert committed_w is not None
    return net_fc_w - committed_w


def test_planned_bids_are_feasible_for_the_battery() -> None:
    hours = np.arange(230) % 24
    rng = np.random.default_rng(3)
    load = 1_000.0 + 500.0 * np.cos(2 * np.pi * (hours - 19) / 24) + rng.normal(0, 50, 230)
    pv = np.maximum(5_000.0 * np.sin(np.pi * (hours - 6) / 12), 0.0)
    bidder = PlannedBidder(BATTERY, TICK_S, forecast=FAST)
    sides = set()
    levels_wh = (0.0, 1_000.0, 5_000.0, 9_000.0, 10_000.0)  # empty .. full, in turn
    for tick in range(168, 230):
        e_wh = levels_wh[tick % len(levels_wh)]
        intent = bidder.order(tick, e_wh, load, pv)  # one order per interval
        if intent.side is None:
            continue
        sides.add(intent.side)
        p_w = _battery_power_needed_w(bidder, intent)
        what = f"tick {tick}, e {e_wh} Wh, {intent}: battery power {p_w:.1f} W"
        # within the battery's power, and its energy: rounding the order to whole Wh
        # moves the committed power by at most 1 W
        assert -BATTERY.max_charge_w - 1 <= p_w <= BATTERY.max_discharge_w + 1, what
        if p_w > 1:
            assert p_w * TICK_S / 3600 / BATTERY.eta_discharge <= e_wh + 1, what
        if p_w < -1:
            stored_wh = -p_w * TICK_S / 3600 * BATTERY.eta_charge
            assert stored_wh <= BATTERY.capacity_wh - e_wh + 1, what
    assert sides == {Side.BUY, Side.SELL}
