"""Planned orders from a meter's forecast (market.planning.meter_bidding)."""

from __future__ import annotations

import numpy as np
import pytest

from gridledger.contracts.enums import Side
from gridledger.market.forecast.forest import ForecastConfig
from gridledger.market.planning.bidding import OrderIntent
from gridledger.market.planning.meter_bidding import (
    NO_ORDER,
    MeterBidder,
    MeterForecast,
    capped_order,
)

# hourly intervals, a 3-day history, a 4-interval horizon, a small forest: fast
CONFIG = ForecastConfig(history_ticks=72, horizon_ticks=4, n_trees=5, min_samples_leaf=3)


def test_a_sale_is_cut_to_the_export_expected_for_sure() -> None:
    # expected net -900 Wh, but only 600 Wh of export at q05: sell 600
    assert capped_order(MeterForecast(100.0, 1_000.0, 600.7)) == OrderIntent(Side.SELL, 600)
    # q05 of the export below the smallest order: no sale
    assert capped_order(MeterForecast(0.0, 400.0, 30.0)) == NO_ORDER
    # buys are the expected net as is
    assert capped_order(MeterForecast(800.0, 100.0, 0.0)) == OrderIntent(Side.BUY, 700)
    assert MeterForecast(0.0, 0.0, -3.0).sell_cap_wh == 0


def _day_series(days: int) -> tuple[np.ndarray, np.ndarray]:
    """Hourly meter energies [Wh]: imports at night and in the evening, exports 10-15 h."""
    hours = np.arange(days * 24) % 24
    rng = np.random.default_rng(0)
    export = np.where((hours >= 10) & (hours < 15), 2_000.0, 0.0) + rng.normal(0, 100, hours.size)
    imports = np.where((hours >= 10) & (hours < 15), 0.0, 800.0) + rng.normal(0, 50, hours.size)
    return np.maximum(imports, 0.0), np.maximum(export, 0.0)


def test_orders_follow_the_meter_forecast_and_never_oversell() -> None:
    imports, exports = _day_series(4)
    bidder = MeterBidder(CONFIG)
    assert bidder.order(imports[:50], exports[:50], 52) == NO_ORDER  # history too short
    assert bidder.forecast_of(imports[:80], exports[:80], 80 + 4) is None  # past the horizon
    noon = bidder.order(imports[:82], exports[:82], 84)  # 12:00 on day 4, known at 10:00
    fc = bidder.forecast_of(imports[:82], exports[:82], 84)
    assert fc is not None
    assert noon.side is Side.SELL and 1_000 < noon.quantity_wh <= fc.sell_cap_wh
    night = bidder.order(imports[: 70 + 24], exports[: 70 + 24], 96)  # 00:00 of day 5
    assert night.side is Side.BUY and 500 < night.quantity_wh < 1_100


def test_series_of_different_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match=r"differ in length: \(3,\) vs \(2,\)"):
        MeterBidder(CONFIG).order([1.0, 2.0, 3.0], [0.0, 0.0], 3)
