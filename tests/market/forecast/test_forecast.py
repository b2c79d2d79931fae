"""Random-forest quantile forecasts, their metrics and the scenario tree (market.forecast)."""

from __future__ import annotations

import numpy as np
import pytest

from gridledger.market.errors import MarketForecastError
from gridledger.market.forecast.forest import (
    ForecastConfig,
    QuantileForecast,
    QuantileForecaster,
    weighted_quantiles,
)
from gridledger.market.forecast.metrics import coverage, instant_error, pinball_loss
from gridledger.market.forecast.tree import scenario_tree

SMALL = ForecastConfig(n_trees=10, horizon_ticks=12, min_samples_leaf=5)


def _daily(n: int, noise: float = 0.0, seed: int = 1) -> np.ndarray:
    hours = np.arange(n) % 24
    shape = 20_000.0 + 10_000.0 * np.sin(2 * np.pi * hours / 24)
    return shape * (1 + np.random.default_rng(seed).normal(0, noise, n))


def test_a_noiseless_daily_series_is_forecast_closely() -> None:
    y = _daily(240)
    f = QuantileForecaster(SMALL)
    f.train(y, 168)
    fc = f.forecast(y, 168, 12)
    assert fc.first_tick == 168 and fc.q50.shape == (12,)
    np.testing.assert_allclose(fc.q50, y[168:180], rtol=0.05)
    assert np.all(fc.q05 <= fc.q50) and np.all(fc.q50 <= fc.q95)


def test_noise_widens_the_band() -> None:
    quiet, noisy = QuantileForecaster(SMALL), QuantileForecaster(SMALL)
    y_quiet, y_noisy = _daily(240), _daily(240, noise=0.1)
    quiet.train(y_quiet, 168)
    noisy.train(y_noisy, 168)
    width_quiet = quiet.forecast(y_quiet, 168, 12)
    width_noisy = noisy.forecast(y_noisy, 168, 12)
    assert np.mean(width_noisy.q95 - width_noisy.q05) > 3 * np.mean(
        width_quiet.q95 - width_quiet.q05
    )


def test_forecasts_use_only_ticks_before_the_instant() -> None:
    y = _daily(240, noise=0.05)
    f = QuantileForecaster(SMALL)
    f.train(y, 168)
    changed = y.copy()
    changed[168:] = 0.0  # the future: must not matter
    a, b = f.forecast(y, 168, 12), f.forecast(changed, 168, 12)
    np.testing.assert_array_equal(a.q50, b.q50)


def test_retraining_schedule() -> None:
    f = QuantileForecaster(SMALL)
    assert f.needs_training(168)
    f.train(_daily(240), 168)
    assert not f.needs_training(191) and f.needs_training(192)
    assert len(f.train_s) == 1 and f.trained_at_tick == 168


def test_refusals_say_what_was_wrong() -> None:
    f = QuantileForecaster(SMALL)
    with pytest.raises(MarketForecastError, match="has not been trained"):
        f.forecast(_daily(240), 168)
    with pytest.raises(
        MarketForecastError,
        match="tick 100 has 100 observed ticks before it; the forecaster needs 168",
    ):
        f.train(_daily(240), 100)
    with pytest.raises(MarketForecastError, match="history_ticks must cover two days"):
        ForecastConfig(history_ticks=24)


def test_weighted_quantiles_by_hand() -> None:
    values = np.array([3.0, 1.0, 2.0, 10.0])
    weights = np.array([0.25, 0.25, 0.25, 0.25])
    np.testing.assert_array_equal(
        weighted_quantiles(values, weights, (0.05, 0.5, 0.95)), [1, 2, 10]
    )
    heavy = np.array([0.05, 0.05, 0.05, 0.85])
    assert weighted_quantiles(values, heavy, (0.5,))[0] == 10.0


def test_pinball_and_coverage_by_hand() -> None:
    actual = [10.0, 20.0]
    # e = actual - forecast = (-2, 4): tau 0.9 -> (0.2, 3.6); mean 1.9
    assert pinball_loss(actual, [12.0, 16.0], 0.9) == pytest.approx(1.9)
    assert coverage(actual, [9.0, 21.0], [11.0, 30.0]) == 0.5
    fc = QuantileForecast(5, np.array([9.0, 21.0]), np.array([12.0, 16.0]), np.array([11.0, 30.0]))
    err = instant_error(fc, actual)
    assert (err.tick, err.mae, err.coverage) == (5, 3.0, 0.5)
    with pytest.raises(MarketForecastError, match=r"one shape, got \(2,\), \(3,\)"):
        coverage(actual, [1.0, 2.0, 3.0], [1.0, 2.0])


def test_scenario_tree_branches_and_reserve() -> None:
    load = QuantileForecast(7, np.array([8.0, 8.0]), np.array([10.0, 10.0]), np.array([13.0, 12.0]))
    pv = QuantileForecast(7, np.array([1.0, 0.0]), np.array([3.0, 0.0]), np.array([4.0, 0.0]))
    tree = scenario_tree(load, pv)
    assert [b.name for b in tree.branches] == ["low", "mid", "high"]
    assert sum(b.probability for b in tree.branches) == pytest.approx(1.0)
    np.testing.assert_array_equal(tree.branch("low").p_net_w, [4.0, 8.0])
    np.testing.assert_array_equal(tree.branch("mid").p_net_w, [7.0, 10.0])
    np.testing.assert_array_equal(tree.reserve_w, [5.0, 2.0])  # (13-1) - 7, 12 - 10
    with pytest.raises(MarketForecastError, match="do not cover one horizon"):
        scenario_tree(load, pv.head(1))
