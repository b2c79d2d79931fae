"""The three-branch scenario tree of a planning horizon, built from load and PV quantiles.

Branches of net load (load - PV) [W] over the horizon:

- ``low``: load q05 with PV q95 (the lightest net load the band allows),
- ``mid``: load q50 with PV q50 (the median planner's input),
- ``high``: load q95 with PV q05 (the heaviest),

with probabilities 0.15 / 0.70 / 0.15 (ours: EnergyTwin builds the tree from its quantiles
but publishes no weights; each tail branch stands for the 10 % outside the band plus half
the mass between its quantile and the median, rounded). Planners read the branch they need
(the median planner ``mid``; the robust planner the reserve ``high - mid``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gridledger.market.errors import MarketForecastError
from gridledger.market.forecast.forest import FloatArray, QuantileForecast

BRANCH_PROBABILITIES = {"low": 0.15, "mid": 0.70, "high": 0.15}
"""Branch weights (ours; module docstring)."""


@dataclass(frozen=True, slots=True)
class Branch:
    """One branch: its name, probability [-], load and PV [W] per horizon tick."""

    name: str
    probability: float
    p_load_w: FloatArray
    p_pv_w: FloatArray

    @property
    def p_net_w(self) -> FloatArray:
        """Net load [W], load - PV."""
        return np.asarray(self.p_load_w - self.p_pv_w, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class ScenarioTree:
    """The three branches of one planning instant (``first_tick`` is the first horizon tick)."""

    first_tick: int
    branches: tuple[Branch, Branch, Branch]

    def branch(self, name: str) -> Branch:
        """The branch called ``name`` (low, mid, high)."""
        for b in self.branches:
            if b.name == name:
                return b
        raise MarketForecastError(f"no branch {name!r}; branches are low, mid, high")

    @property
    def reserve_w(self) -> FloatArray:
        """How far the heavy branch's net load exceeds the median's [W], >= 0 per tick."""
        return np.maximum(self.branch("high").p_net_w - self.branch("mid").p_net_w, 0.0)


def scenario_tree(load: QuantileForecast, pv: QuantileForecast) -> ScenarioTree:
    """The tree of the horizon both forecasts cover (they must start at one tick and have
    one length)."""
    if load.first_tick != pv.first_tick or load.q50.shape != pv.q50.shape:
        raise MarketForecastError(
            f"load forecast (tick {load.first_tick}, {load.q50.shape[0]} ticks) and PV forecast "
            f"(tick {pv.first_tick}, {pv.q50.shape[0]} ticks) do not cover one horizon"
        )
    p = BRANCH_PROBABILITIES
    return ScenarioTree(
        load.first_tick,
        (
            Branch("low", p["low"], load.q05, pv.q95),
            Branch("mid", p["mid"], load.q50, pv.q50),
            Branch("high", p["high"], load.q95, pv.q05),
        ),
    )
