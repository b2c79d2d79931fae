"""The rolling-horizon controller (market.planning.rolling): cadence, application, fallback."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from gridledger.market.errors import MarketPlanningError
from gridledger.market.forecast.forest import ForecastConfig
from gridledger.market.planning.lp import Plan, PlanInputs, PlannerCosts
from gridledger.market.planning.rolling import (
    PlannerKind,
    RollingConfig,
    RollingPlanner,
    applied_setpoint_w,
)
from gridledger.sim.battery import BatteryParams

FAST = ForecastConfig(n_trees=5, horizon_ticks=4, min_samples_leaf=5)


def _series(n: int = 200) -> tuple[np.ndarray, np.ndarray]:
    hours = np.arange(n) % 24
    load = 30_000.0 + 10_000.0 * np.cos(2 * np.pi * (hours - 14) / 24)
    pv = np.maximum(60_000.0 * np.sin(np.pi * (hours - 6) / 12), 0.0)
    return load, pv


def test_applied_setpoint_by_hand() -> None:
    assert applied_setpoint_w(5_000.0, 3_000.0) == 3_000.0  # discharge capped at the deficit
    assert applied_setpoint_w(5_000.0, -2_000.0) == -2_000.0  # a surplus is absorbed
    assert applied_setpoint_w(-1_000.0, -4_000.0) == -4_000.0  # ... all of it
    assert applied_setpoint_w(-1_000.0, 3_000.0) == -1_000.0  # grid charging as planned


def test_myopic_before_activation_then_replanning_every_two_ticks() -> None:
    load, pv = _series()
    planner = RollingPlanner(BatteryParams(), 3600, 100_000.0, forecast=FAST)
    assert planner.setpoint_w(100, 50_000.0, load, pv) == load[100] - pv[100]
    assert planner.decisions == []
    for tick in range(168, 176):
        planner.setpoint_w(tick, 50_000.0, load, pv)
    assert [d.tick for d in planner.decisions] == [168, 170, 172, 174]
    assert all(len(d.plan.e_wh) == 4 for d in planner.decisions)
    assert planner.fallback_count == 0


def test_robust_planner_keeps_a_reserve() -> None:
    load, pv = _series()
    load = load * (1 + np.random.default_rng(0).normal(0, 0.15, load.shape))
    cfg = RollingConfig(kind=PlannerKind.ROBUST)
    robust = RollingPlanner(BatteryParams(), 3600, 100_000.0, cfg, forecast=FAST)
    robust.setpoint_w(168, 50_000.0, load, pv)
    median = RollingPlanner(BatteryParams(), 3600, 100_000.0, forecast=FAST)
    median.setpoint_w(168, 50_000.0, load, pv)
    assert robust.decisions[0].plan.e_wh.min() >= median.decisions[0].plan.e_wh.min()


def test_a_solver_failure_falls_back_to_the_myopic_rule_and_is_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def failing(_b: BatteryParams, _i: PlanInputs, _c: PlannerCosts) -> Plan:
        raise MarketPlanningError("HiGHS status 4: numerical difficulties")

    load, pv = _series()
    planner = RollingPlanner(BatteryParams(), 3600, forecast=FAST, solver=failing)
    with caplog.at_level(logging.WARNING):
        got = [planner.setpoint_w(t, 50_000.0, load, pv) for t in (168, 169)]
    assert got == [load[168] - pv[168], load[169] - pv[169]]
    assert planner.fallbacks == {"MarketPlanningError: HiGHS status 4": 2}
    assert "tick 168: planning failed (HiGHS status 4: numerical difficulties)" in caplog.text


def test_replan_every_must_fit_the_horizon() -> None:
    with pytest.raises(MarketPlanningError, match=r"must be in \[1, horizon_ticks = 4\], got 5"):
        RollingConfig(replan_every_ticks=5)
