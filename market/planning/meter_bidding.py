"""Planned orders of a prosumer that does not dispatch its own battery: from its meter's forecast.

``PlannedBidder`` (``market.planning.bidding``) plans the prosumer's battery and holds the
meter at the committed power. A prosumer whose battery someone else dispatches (the demo's
MG1 copies: the operator, for their import caps) or that has none (MG2, MG3) cannot; what it
can plan is its meter. ``MeterBidder`` forecasts the energy the meter will import and export
in each market interval (two ``QuantileForecaster`` series at the interval's resolution,
trained on the meter's own history, so whatever rule runs the battery is in it) and orders
the expected exchange of the target interval, ``q50(import) - q50(export)`` [Wh], with
``order_of``. A sale is cut to the q05 forecast of the export (``sell_cap_wh``): a prosumer
never offers energy it does not expect to have (``min_order_wh`` still applies).

Before the forecaster has its history (``ForecastConfig.history_ticks`` intervals) or for a
target beyond its horizon, the prosumer places no order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from gridledger.market.forecast.forest import ForecastConfig, QuantileForecaster
from gridledger.market.planning.bidding import (
    MIN_ORDER_WH,
    OrderIntent,
    capped_sell,
    order_of,
)

NO_ORDER = OrderIntent(None, 0)


@dataclass(frozen=True, slots=True)
class MeterForecast:
    """The forecast of one target interval [Wh]: q50 of import and export, q05 of export."""

    import_q50_wh: float
    export_q50_wh: float
    export_q05_wh: float

    @property
    def expected_net_wh(self) -> float:
        """Expected net import [Wh] (> 0 import)."""
        return self.import_q50_wh - self.export_q50_wh

    @property
    def sell_cap_wh(self) -> int:
        """The most a sale may offer [Wh]: the export the prosumer expects to have."""
        return max(0, math.floor(self.export_q05_wh))


def capped_order(fc: MeterForecast, min_order_wh: int = MIN_ORDER_WH) -> OrderIntent:
    """The order for the forecast ``fc``: ``order_of`` its expected net, a sale cut to
    ``fc.sell_cap_wh`` (``capped_sell``: none left below ``min_order_wh``)."""
    return capped_sell(order_of(fc.expected_net_wh, min_order_wh), fc.sell_cap_wh, min_order_wh)


@dataclass
class MeterBidder:
    """Planned orders from the meter's interval energies (module docstring)."""

    forecast: ForecastConfig
    min_order_wh: int = MIN_ORDER_WH
    imports: QuantileForecaster = field(init=False)
    exports: QuantileForecaster = field(init=False)

    def __post_init__(self) -> None:
        self.imports = QuantileForecaster(self.forecast)
        self.exports = QuantileForecaster(self.forecast)

    def forecast_of(
        self, import_wh: npt.ArrayLike, export_wh: npt.ArrayLike, target: int
    ) -> MeterForecast | None:
        """The forecast of interval ``target`` (an index into the series) from the observed
        intervals ``0 .. len - 1`` of the meter's ``import_wh`` and ``export_wh`` [Wh];
        None without the history or beyond the horizon."""
        imports = np.asarray(import_wh, dtype=np.float64)
        exports = np.asarray(export_wh, dtype=np.float64)
        if imports.shape != exports.shape:
            raise ValueError(
                f"import and export series differ in length: {imports.shape} vs {exports.shape}"
            )
        n = imports.shape[0]
        horizon = target - n + 1
        if n < self.forecast.history_ticks or not 1 <= horizon <= self.forecast.horizon_ticks:
            return None
        for forecaster, series in ((self.imports, imports), (self.exports, exports)):
            if forecaster.needs_training(n):
                forecaster.train(series, n)
        imp = self.imports.forecast(imports, n, horizon)
        exp = self.exports.forecast(exports, n, horizon)
        return MeterForecast(float(imp.q50[-1]), float(exp.q50[-1]), float(exp.q05[-1]))

    def order(self, import_wh: npt.ArrayLike, export_wh: npt.ArrayLike, target: int) -> OrderIntent:
        """The order for interval ``target`` (``forecast_of``, ``capped_order``)."""
        fc = self.forecast_of(import_wh, export_wh, target)
        return NO_ORDER if fc is None else capped_order(fc, self.min_order_wh)
