"""The stepped microgrid model: observe tick t, take battery set-points for t, advance.

The model knows nothing of buses or processes (the mosaik split of model and adapter): a
standalone run calls ``step`` with its built-in rules, the federation adapter with the
set-points federates sent. Exogenous inputs are computed for the whole horizon up front
(``sim.exogenous``); only the batteries are stepped tick by tick, and the PCC balance, grid
limit and metering are applied to all completed ticks at once in ``result``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from gridledger.sim.battery import BatteryParams, battery_step
from gridledger.sim.controllers import (
    MicrogridState,
    Observation,
    OperatorRule,
    builtin_rules,
    self_consumption_request_w,
)
from gridledger.sim.errors import SimError
from gridledger.sim.exogenous import Exogenous, compute_exogenous
from gridledger.sim.profiles import FloatArray
from gridledger.sim.scenario import Scenario

LIMIT_CODES = {"none": 0, "power": 1, "energy": 2}
"""Integer codes of ``sim.battery.BatteryLimit`` in the per-tick arrays."""


@dataclass(slots=True)
class BatteryTrace:
    """Per-tick arrays of one battery (filled as the model steps).

    ``p_request_w``, ``p_w`` (delivered), ``p_clipped_w`` [W] (> 0 discharge),
    ``e_wh`` [Wh] at the end of each tick, ``limit`` (``LIMIT_CODES``).
    """

    params: BatteryParams
    e_wh_now: float
    p_request_w: FloatArray
    p_w: FloatArray
    p_clipped_w: FloatArray
    e_wh: FloatArray
    limit: np.ndarray


class GridModel:
    """All microgrids of one scenario run, advanced one tick per ``step``."""

    def __init__(self, scenario: Scenario, exogenous: Exogenous | None = None) -> None:
        self.scenario = scenario
        self.exo = exogenous if exogenous is not None else compute_exogenous(scenario)
        self.tick = 0
        n = scenario.n_steps
        self.batteries: dict[str, BatteryTrace] = {}
        for mg in scenario.microgrids:
            if mg.battery is not None:
                self.batteries[mg.name] = BatteryTrace(
                    params=mg.battery.params(scenario.dt_s),
                    e_wh_now=mg.battery.initial_e_wh,
                    p_request_w=np.zeros(n),
                    p_w=np.zeros(n),
                    p_clipped_w=np.zeros(n),
                    e_wh=np.zeros(n),
                    limit=np.zeros(n, dtype=np.int8),
                )
        self.operator_rule: OperatorRule
        self.operator_rule, self.local_batteries = builtin_rules(
            scenario.microgrids, scenario.contracts, scenario.dt_s
        )
        # Plain lists index faster than numpy arrays in the per-tick loop.
        self._load = {k: v.tolist() for k, v in self.exo.p_load_w.items()}
        self._pv = {k: v.tolist() for k, v in self.exo.p_pv_w.items()}
        self._t_day = self.exo.t_day_s.tolist()
        self._time_ts = self.exo.time_ts.tolist()

    @property
    def done(self) -> bool:
        """Whether every tick has been simulated."""
        return self.tick >= self.scenario.n_steps

    def observe(self) -> Observation:
        """The measurements at the start of the current tick."""
        k = self.tick
        if self.done:
            raise SimError(f"the run is complete ({k} ticks); nothing to observe")
        states = {}
        for name, load in self._load.items():
            trace = self.batteries.get(name)
            if trace is None:
                states[name] = MicrogridState(load[k], self._pv[name][k])
            else:
                e_wh = trace.e_wh_now
                soc = 100.0 * e_wh / trace.params.capacity_wh
                states[name] = MicrogridState(load[k], self._pv[name][k], e_wh, soc)
        return Observation(k, self._time_ts[k], self._t_day[k], states)

    def builtin_setpoints_w(self, obs: Observation) -> dict[str, float]:
        """Set-points [W] of the built-in rules: the operator's and self-consumption."""
        out = self.operator_rule.setpoints_w(obs)
        for name in self.local_batteries:
            out[name] = self_consumption_request_w(obs.microgrids[name].p_net_w)
        return out

    def step(self, setpoints_w: Mapping[str, float]) -> None:
        """Advance the current tick under battery set-points [W] (> 0 discharge) by
        microgrid name; a battery without a set-point rests (0 W)."""
        k = self.tick
        if self.done:
            raise SimError(f"the run is complete ({k} ticks); cannot step")
        unknown = set(setpoints_w) - set(self.batteries)
        if unknown:
            raise SimError(f"set-points for microgrids without a battery: {sorted(unknown)}")
        dt_s = self.scenario.dt_s
        for name, trace in self.batteries.items():
            request_w = float(setpoints_w.get(name, 0.0))
            outcome = battery_step(trace.params, trace.e_wh_now, request_w, dt_s)
            trace.e_wh_now = outcome.e_wh
            trace.p_request_w[k] = request_w
            trace.p_w[k] = outcome.p_delivered_w
            trace.p_clipped_w[k] = outcome.p_clipped_w
            trace.e_wh[k] = outcome.e_wh
            trace.limit[k] = LIMIT_CODES[outcome.limit.value]
        self.tick = k + 1

    def run_builtin(self) -> None:
        """Run every remaining tick under the built-in rules."""
        while not self.done:
            self.step(self.builtin_setpoints_w(self.observe()))
