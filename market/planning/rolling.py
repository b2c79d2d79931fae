"""The rolling-horizon controller: forecast, plan, apply, replan; the myopic rule as fallback.

From ``activation_tick`` (EnergyTwin: 168, once the forecaster has its 7-day history) every
``replan_every_ticks`` (2) ticks the controller forecasts load and PV over the next
``horizon_ticks`` (4), solves the horizon's LP (``market.planning.lp``) and then applies the
plan's steps one tick at a time until the next replanning. Two planners share it
(``PlannerKind``): the paper's median planner plans on q50; the robust one also keeps a
reserve, the heavy branch's excess net load of the scenario tree (``market.forecast.tree``).

A planned battery power is applied against the measured net load of its tick: a planned
discharge never exceeds the actual deficit (it would be exported), and an actual PV surplus
is always absorbed (a planned charge smaller than the surplus is raised to it); a planned
charge from the grid is applied as planned. Before activation, and whenever planning fails
(``MarketPlanningError``: a solver failure, malformed forecasts), the battery runs the myopic
self-consumption rule; each failure is logged with its reason and counted in ``fallbacks``.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from gridledger.market.errors import MarketForecastError, MarketPlanningError
from gridledger.market.forecast.forest import ForecastConfig, QuantileForecast, QuantileForecaster
from gridledger.market.forecast.tree import scenario_tree
from gridledger.market.planning.lp import Plan, PlanInputs, PlannerCosts, solve_plan
from gridledger.market.planning.storage import StorageLimits

log = logging.getLogger(__name__)


class PlannerKind(StrEnum):
    """Which plan the controller follows."""

    MEDIAN = "median"
    ROBUST = "robust"


@dataclass(frozen=True, slots=True)
class RollingConfig:
    """The rolling horizon (EnergyTwin: activation 168, horizon 4, replanning every 2)."""

    activation_tick: int = 168
    horizon_ticks: int = 4
    replan_every_ticks: int = 2
    kind: PlannerKind = PlannerKind.MEDIAN

    def __post_init__(self) -> None:
        if not 1 <= self.replan_every_ticks <= self.horizon_ticks:
            raise MarketPlanningError(
                f"replan_every_ticks must be in [1, horizon_ticks = {self.horizon_ticks}], "
                f"got {self.replan_every_ticks}"
            )


@dataclass(frozen=True, slots=True)
class Decision:
    """One planning instant: its tick, the forecasts it used and the plan it made."""

    tick: int
    load: QuantileForecast
    pv: QuantileForecast
    plan: Plan
    forecast_s: float
    plan_s: float


Solver = Callable[[StorageLimits, PlanInputs, PlannerCosts], Plan]


def myopic_setpoint_w(p_net_w: float) -> float:
    """The myopic rule [W], > 0 discharge: cover the deficit, absorb the surplus."""
    return p_net_w


def applied_setpoint_w(planned_w: float, p_net_w: float) -> float:
    """A planned battery power [W] applied against the measured net load (module docstring)."""
    if p_net_w < 0.0 or planned_w > 0.0:
        return min(planned_w, p_net_w)
    return planned_w


@dataclass
class RollingPlanner:
    """Forecasts, plans and applies (module docstring) for one battery."""

    battery: StorageLimits
    dt_s: int
    grid_limit_w: float | None = None
    config: RollingConfig = RollingConfig()
    costs: PlannerCosts = field(default_factory=PlannerCosts)
    forecast: ForecastConfig = field(default_factory=ForecastConfig)
    solver: Solver = solve_plan
    decisions: list[Decision] = field(default_factory=list)
    fallbacks: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.load_forecaster = QuantileForecaster(self.forecast)
        self.pv_forecaster = QuantileForecaster(self.forecast)
        self._plan: Plan | None = None
        self._plan_tick = -1

    def setpoint_w(
        self, tick: int, e_wh: float, p_load_w: npt.ArrayLike, p_pv_w: npt.ArrayLike
    ) -> float:
        """The battery set-point [W] (> 0 discharge) for ``tick``, given the stored energy
        ``e_wh`` [Wh] at its start and the load and PV series [W]; only ticks up to
        ``tick`` are read, and tick ``tick`` only as the measured net load the plan is
        applied against."""
        load = np.asarray(p_load_w, dtype=np.float64)
        pv = np.asarray(p_pv_w, dtype=np.float64)
        p_net_w = float(load[tick] - pv[tick])
        if tick < self.config.activation_tick:
            return myopic_setpoint_w(p_net_w)
        step = tick - self._plan_tick
        if self._plan is None or step >= self.config.replan_every_ticks:
            try:
                self._plan = self._replan(tick, e_wh, load, pv)
            except (MarketPlanningError, MarketForecastError) as exc:
                reason = type(exc).__name__ + ": " + str(exc).split(":")[0]
                log.warning("tick %d: planning failed (%s); myopic rule applied", tick, exc)
                self.fallbacks[reason] += 1
                self._plan = None
                return myopic_setpoint_w(p_net_w)
            self._plan_tick, step = tick, 0
        return applied_setpoint_w(float(self._plan.p_battery_w[step]), p_net_w)

    def _replan(self, tick: int, e_wh: float, load: np.ndarray, pv: np.ndarray) -> Plan:
        h = self.config.horizon_ticks
        for forecaster, series in ((self.load_forecaster, load), (self.pv_forecaster, pv)):
            if forecaster.needs_training(tick):
                forecaster.train(series, tick)  # timed apart: ``train_s``
        started = time.perf_counter()
        load_fc = self.load_forecaster.forecast(load, tick, h)
        pv_fc = self.pv_forecaster.forecast(pv, tick, h)
        tree = scenario_tree(load_fc, pv_fc)
        mid = tree.branch("mid")
        forecast_s = time.perf_counter() - started
        inputs = PlanInputs(
            p_net_w=mid.p_net_w,
            p_pv_w=mid.p_pv_w,
            e_wh=min(max(e_wh, 0.0), self.battery.capacity_wh),
            dt_s=self.dt_s,
            grid_limit_w=self.grid_limit_w,
            reserve_w=tree.reserve_w if self.config.kind is PlannerKind.ROBUST else None,
        )
        started = time.perf_counter()
        plan = self.solver(self.battery, inputs, self.costs)
        self.decisions.append(
            Decision(tick, load_fc, pv_fc, plan, forecast_s, time.perf_counter() - started)
        )
        return plan

    @property
    def fallback_count(self) -> int:
        """Planning instants that fell back to the myopic rule."""
        return sum(self.fallbacks.values())
