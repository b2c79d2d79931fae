"""Forecast against actual: per past interval the node's prosumer ordered for, the net import
its bidding strategy forecast [Wh] and the net import its meter reported [Wh] (readings
accepted on chain whose start lies in the interval)."""

from __future__ import annotations

from collections.abc import Iterable

from gridledger.node.agents.auto_bid import OrderedForecast
from gridledger.node.dashboard.records import ForecastPointOut
from gridledger.node.views.chain import MarketGrid
from gridledger.node.views.records import ReadingOut


def forecast_points(
    forecasts: Iterable[OrderedForecast],
    readings: Iterable[ReadingOut],
    grid: MarketGrid,
    head_ts: int,
) -> list[ForecastPointOut]:
    """The forecasts of intervals that ended by `head_ts` [unix s], oldest first, each with
    the sum of `readings` (import - export) starting inside it."""
    past = sorted(
        (f for f in forecasts if grid.start_ts(f.interval + 1) <= head_ts),
        key=lambda f: f.interval,
    )
    metered: dict[int, list[int]] = {}
    wanted = {f.interval for f in past}
    for r in readings:
        interval = (r.interval_start_ts - grid.epoch_start_ts) // grid.interval_length_s
        if interval in wanted and r.interval_start_ts >= grid.epoch_start_ts:
            acc = metered.setdefault(interval, [0, 0])
            acc[0] += r.import_wh - r.export_wh
            acc[1] += 1
    return [
        ForecastPointOut(
            interval=f.interval,
            start_ts=grid.start_ts(f.interval),
            end_ts=grid.start_ts(f.interval + 1),
            forecast_net_wh=f.net_import_wh,
            side=f.side.label if f.side is not None else None,
            quantity_wh=f.quantity_wh,
            actual_net_wh=metered[f.interval][0] if f.interval in metered else None,
            readings=metered[f.interval][1] if f.interval in metered else 0,
        )
        for f in past
    ]
