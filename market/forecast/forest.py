"""Random-forest quantile forecasts (q05 / q50 / q95) of one hourly series, EnergyTwin style.

EnergyTwin forecasts load and PV with a random forest trained on a 7-day history and
predicting 48 hours ahead (its Figure 4). This forecaster does the same for one series:

- training window: the last ``history_ticks`` (168) observed ticks; retrained every
  ``retrain_every_ticks`` (24) ticks, and whenever it has not been trained yet;
- direct multi-horizon model: one forest for all horizons ``h = 1 .. horizon_ticks``
  (48), with ``h`` itself a feature; every (origin, horizon) pair inside the window whose
  target is observed is a training row;
- features of a target at tick ``k = o + h`` seen from origin ``o`` (the last observed
  tick): hour of day of ``k`` as sine and cosine, ``h``, the last value ``y[o]``, the value
  at the same hour on the latest observed day ``y[k - d * ceil(h / d)]`` (``d`` ticks per
  day) and the mean of the last day ``mean(y[o - d + 1 .. o])``;
- quantiles as a quantile regression forest (Meinshausen, JMLR 7 (2006) 983-999): each
  tree's leaf holding the query contributes the training targets in that leaf, each weighted
  1 / (leaf size * trees), and q05 / q50 / q95 are the weighted quantiles of that pool,
  clipped at 0 (load and PV are never negative). The spread of the trees' mean predictions
  alone would leave out the noise inside each leaf: on the campus load it covered 30 % of
  outcomes with a nominal 90 % band, the leaf pools about 53 % (a 7-day window holds only
  seven outcomes per hour of day; docs/reproductions.md).

scikit-learn's ``RandomForestRegressor`` fits the trees; the seed makes a run reproducible.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from gridledger.market.errors import MarketForecastError

FloatArray = npt.NDArray[np.float64]
QUANTILES = (0.05, 0.50, 0.95)
"""The forecast quantiles: q05, q50, q95."""
N_FEATURES = 6


@dataclass(frozen=True, slots=True)
class ForecastConfig:
    """How a forecaster is trained and used.

    Attributes
    ----------
    history_ticks : training window [ticks] (EnergyTwin: 7 days = 168)
    horizon_ticks : forecast horizon [ticks] (EnergyTwin: 48)
    retrain_every_ticks : retraining period [ticks] (ours: daily, 24)
    dt_s : tick length [s]
    start_hour_h : hour of day of tick 0 [h since 00:00 UTC]
    n_trees, max_depth, min_samples_leaf : the forest (ours: 40, 12, 30)
    seed : random state of the forest
    """

    history_ticks: int = 168
    horizon_ticks: int = 48
    retrain_every_ticks: int = 24
    dt_s: int = 3600
    start_hour_h: float = 0.0
    n_trees: int = 40
    max_depth: int = 12
    min_samples_leaf: int = 30
    seed: int = 0

    def __post_init__(self) -> None:
        if self.dt_s <= 0 or 86_400 % self.dt_s != 0:
            raise MarketForecastError(f"dt_s must divide a day, got {self.dt_s}")
        if self.history_ticks < 2 * self.ticks_per_day:
            raise MarketForecastError(
                f"history_ticks must cover two days ({2 * self.ticks_per_day} ticks), "
                f"got {self.history_ticks}"
            )
        if not 1 <= self.horizon_ticks <= self.history_ticks - self.ticks_per_day:
            raise MarketForecastError(
                f"horizon_ticks must be in [1, {self.history_ticks - self.ticks_per_day}], "
                f"got {self.horizon_ticks}"
            )
        if self.retrain_every_ticks < 1 or self.n_trees < 1:
            raise MarketForecastError(
                f"retrain_every_ticks and n_trees must be >= 1, got "
                f"{self.retrain_every_ticks} and {self.n_trees}"
            )

    @property
    def ticks_per_day(self) -> int:
        """Ticks in a day."""
        return 86_400 // self.dt_s


@dataclass(frozen=True, slots=True)
class QuantileForecast:
    """Forecast of ticks ``first_tick .. first_tick + len - 1``, each array in the series'
    unit (W here): the 5 %, 50 % and 95 % quantiles, ``q05 <= q50 <= q95``."""

    first_tick: int
    q05: FloatArray
    q50: FloatArray
    q95: FloatArray

    def head(self, n: int) -> QuantileForecast:
        """The first ``n`` ticks of this forecast."""
        return QuantileForecast(self.first_tick, self.q05[:n], self.q50[:n], self.q95[:n])


def features(
    y: FloatArray,
    origins: npt.NDArray[np.integer],
    horizons: npt.NDArray[np.integer],
    cfg: ForecastConfig,
) -> npt.NDArray[np.float32]:
    """Feature rows for targets ``origins + horizons`` (module docstring); ``origins`` and
    ``horizons`` are integer-valued arrays of one length, ``y`` the observed series."""
    d = cfg.ticks_per_day
    o = origins.astype(np.int64)
    h = horizons.astype(np.int64)
    k = o + h
    hour = (cfg.start_hour_h + k * cfg.dt_s / 3600.0) % 24.0
    same_hour = k - d * np.ceil(h / d).astype(np.int64)
    csum = np.concatenate(([0.0], np.cumsum(y)))
    day_mean = (csum[o + 1] - csum[o + 1 - d]) / d
    out = np.empty((o.shape[0], N_FEATURES), dtype=np.float32)
    out[:, 0] = np.sin(2 * math.pi * hour / 24.0)
    out[:, 1] = np.cos(2 * math.pi * hour / 24.0)
    out[:, 2] = h
    out[:, 3] = y[o]
    out[:, 4] = y[same_hour]
    out[:, 5] = day_mean
    return out


def weighted_quantiles(
    values: FloatArray, weights: FloatArray, quantiles: tuple[float, ...]
) -> FloatArray:
    """The ``quantiles`` of ``values`` under ``weights`` (>= 0, not all 0): for each level
    ``tau`` the smallest value whose cumulative weight reaches ``tau`` of the total."""
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(weights[order])
    idx = np.searchsorted(cum, np.asarray(quantiles) * cum[-1], side="left")
    return np.asarray(values[order][np.minimum(idx, values.shape[0] - 1)], dtype=np.float64)


class QuantileForecaster:
    """Random-forest quantile forecaster of one series (module docstring)."""

    def __init__(self, config: ForecastConfig = ForecastConfig()) -> None:
        self.config = config
        self._trees: list[object] = []
        self._leaf_targets: list[dict[int, FloatArray]] = []
        self.trained_at_tick: int | None = None
        self.train_s: list[float] = []

    def needs_training(self, tick: int) -> bool:
        """Whether the schedule retrains at ``tick`` (never trained, or a period has passed)."""
        if self.trained_at_tick is None:
            return True
        return tick - self.trained_at_tick >= self.config.retrain_every_ticks

    def train(self, y: npt.ArrayLike, tick: int) -> float:
        """Fit on the ``history_ticks`` observed ticks before ``tick``; the seconds it took."""
        cfg = self.config
        series = self._observed(y, tick)
        lo = tick - cfg.history_ticks
        d = cfg.ticks_per_day
        origins, horizons = [], []
        for h in range(1, cfg.horizon_ticks + 1):
            o = np.arange(lo + d - 1, tick - h)
            origins.append(o)
            horizons.append(np.full(o.shape, h))
        o_all = np.concatenate(origins)
        h_all = np.concatenate(horizons)
        x = features(series, o_all, h_all, cfg)
        target = series[o_all + h_all]
        # scikit-learn is imported on first fit, not with the module: every node process
        # imports the strategies, and most never forecast.
        from sklearn.ensemble import RandomForestRegressor

        started = time.perf_counter()
        forest = RandomForestRegressor(
            n_estimators=cfg.n_trees,
            max_depth=cfg.max_depth,
            min_samples_leaf=cfg.min_samples_leaf,
            random_state=cfg.seed,
            n_jobs=1,
        )
        forest.fit(x, target)
        elapsed = time.perf_counter() - started
        self._trees = list(forest.estimators_)
        leaves = forest.apply(x)
        self._leaf_targets = []
        for j in range(leaves.shape[1]):
            order = np.argsort(leaves[:, j], kind="stable")
            ids, starts = np.unique(leaves[order, j], return_index=True)
            groups = np.split(target[order], starts[1:])
            self._leaf_targets.append(dict(zip(ids.tolist(), groups, strict=True)))
        self.trained_at_tick = tick
        self.train_s.append(elapsed)
        return elapsed

    def forecast(
        self, y: npt.ArrayLike, tick: int, horizon_ticks: int | None = None
    ) -> QuantileForecast:
        """Quantiles of ticks ``tick .. tick + horizon - 1`` from the ticks observed before
        ``tick`` (default horizon: the configured one)."""
        cfg = self.config
        if not self._trees:
            raise MarketForecastError("the forecaster has not been trained (call train first)")
        horizon = cfg.horizon_ticks if horizon_ticks is None else horizon_ticks
        if not 1 <= horizon <= cfg.horizon_ticks:
            raise MarketForecastError(f"horizon must be in [1, {cfg.horizon_ticks}], got {horizon}")
        series = self._observed(y, tick)
        h = np.arange(1, horizon + 1)
        x = features(series, np.full(h.shape, tick - 1), h, cfg)
        leaves = np.stack([t.apply(x, check_input=False) for t in self._trees])  # type: ignore[attr-defined]
        q = np.empty((len(QUANTILES), horizon))
        for i in range(horizon):
            pools = [
                table[int(leaf)]
                for table, leaf in zip(self._leaf_targets, leaves[:, i], strict=True)
            ]
            values = np.concatenate(pools)
            weights = np.concatenate([np.full(p.shape, 1.0 / p.shape[0]) for p in pools])
            q[:, i] = weighted_quantiles(values, weights, QUANTILES)
        q = np.maximum(q, 0.0)
        return QuantileForecast(tick, q[0], q[1], q[2])

    def _observed(self, y: npt.ArrayLike, tick: int) -> FloatArray:
        series = np.asarray(y, dtype=np.float64)
        if tick < self.config.history_ticks:
            raise MarketForecastError(
                f"tick {tick} has {tick} observed ticks before it; the forecaster needs "
                f"{self.config.history_ticks}"
            )
        if series.shape[0] < tick:
            raise MarketForecastError(
                f"the series has {series.shape[0]} ticks; tick {tick} needs {tick} observed"
            )
        return series[:tick]
