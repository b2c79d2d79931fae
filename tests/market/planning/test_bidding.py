"""The planned bidding strategy (market.planning.bidding)."""

from __future__ import annotations

import numpy as np

from gridledger.market.forecast.forest import ForecastConfig
from gridledger.market.orders import Side
from gridledger.market.planning.bidding import OrderIntent, PlannedBidder, order_of
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
