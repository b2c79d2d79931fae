"""Forecast error as EnergyTwin reports it (MAE at each planning instant), plus the pinball
loss of each quantile and the coverage of the q05-q95 band (docs/nomenclature.md)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from gridledger.market.errors import MarketForecastError
from gridledger.market.forecast.forest import QuantileForecast


def pinball_loss(actual: npt.ArrayLike, forecast: npt.ArrayLike, tau: float) -> float:
    """Mean quantile (pinball) loss of ``forecast`` as the ``tau`` quantile of ``actual``
    (same unit as the series): ``mean(max(tau * e, (tau - 1) * e))``, ``e = actual -
    forecast``."""
    a, f = _pair(actual, forecast)
    if not 0.0 < tau < 1.0:
        raise MarketForecastError(f"tau must be in (0, 1), got {tau}")
    e = a - f
    return float(np.mean(np.maximum(tau * e, (tau - 1.0) * e)))


def coverage(actual: npt.ArrayLike, lower: npt.ArrayLike, upper: npt.ArrayLike) -> float:
    """Share of ``actual`` inside ``[lower, upper]`` [-], in [0, 1]."""
    a, lo = _pair(actual, lower)
    _, hi = _pair(actual, upper)
    return float(np.mean((a >= lo) & (a <= hi)))


def _pair(a: npt.ArrayLike, b: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if x.shape != y.shape or x.size == 0:
        raise MarketForecastError(
            f"need two non-empty series of one shape, got {x.shape}, {y.shape}"
        )
    return x, y


@dataclass(frozen=True, slots=True)
class InstantError:
    """The error of one forecast made at planning instant ``tick`` over its horizon, in
    the series' unit (W): MAE of q50, pinball loss of each quantile, and q05-q95 coverage."""

    tick: int
    mae: float
    pinball_q05: float
    pinball_q50: float
    pinball_q95: float
    coverage: float


def instant_error(forecast: QuantileForecast, actual: npt.ArrayLike) -> InstantError:
    """Score ``forecast`` against the ``actual`` values of its ticks."""
    a = np.asarray(actual, dtype=np.float64)
    return InstantError(
        tick=forecast.first_tick,
        mae=float(np.mean(np.abs(a - _pair(a, forecast.q50)[1]))),
        pinball_q05=pinball_loss(a, forecast.q05, 0.05),
        pinball_q50=pinball_loss(a, forecast.q50, 0.50),
        pinball_q95=pinball_loss(a, forecast.q95, 0.95),
        coverage=coverage(a, forecast.q05, forecast.q95),
    )
