"""The battery plan of one horizon: a linear program solved by HiGHS (SciPy's ``linprog``).

For ticks ``t = 0 .. H-1`` of length ``dt`` [h] and a forecast net load ``n_t = load - PV``
[W], the variables are charge ``c_t``, discharge ``d_t`` (battery terminal power, >= 0),
grid import ``g_t`` and export ``x_t`` [W], stored energy ``e_t`` at the end of tick t [Wh],
and the slacks of the soft constraints below. The LP minimises

    sum_t g_t dt                                 grid import [Wh]
  + cycle_cost   * sum_t (c_t + d_t) dt          battery cycling (small)
  + soc_penalty  * sum_t (below_t + above_t)     SoC outside [soc_min, soc_max]
  + unserved_penalty * sum_t u_t dt              load beyond the grid limit
  + curtail_cost * sum_t w_t dt                  PV curtailed beyond the export limit
  + reserve_penalty * sum_t r_t                  reserve shortfall (robust variant)
  + target_penalty * z                           end-of-horizon SoC below its target

subject to, for every t (hard constraints, ``check_plan`` verifies them):

- power balance ``g_t - x_t + d_t - c_t + u_t - w_t = n_t``;
- SoC dynamics (``sim.battery``) ``e_t = (1 - s) e_{t-1} + eta_c c_t dt - d_t dt / eta_d``
  with ``e_{-1}`` the measured energy and ``s`` the self-discharge per tick;
- ``0 <= c_t <= P_ch``, ``0 <= d_t <= P_dis``, ``0 <= e_t <= capacity``;
  ``0 <= g_t, x_t <= grid limit``; ``0 <= w_t <= PV_t``; ``u_t >= 0``.

Soft: ``soc_min - below_t <= e_t <= soc_max + above_t``; ``e_t + r_t >= soc_min +
reserve_t`` (robust variant); ``e_{H-1} + z >= target``. A start already below ``soc_min``
or a forecast beyond the grid limit therefore still has a plan, paid for in penalties,
instead of an infeasible LP. Costs are per Wh of import (``import_cost = 1``); with
``target_penalty`` above ``1 / (eta_c eta_d)`` the planner holds its reserve at the horizon's
end rather than spend it, and refills it from the grid when nothing else will (ours:
EnergyTwin publishes its objective, not its weights).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import linprog
from scipy.sparse import coo_matrix

from gridledger.market.errors import MarketPlanningError
from gridledger.market.planning.storage import StorageLimits

FloatArray = npt.NDArray[np.float64]
N_VARS_PER_TICK = 10
C, D, G, X, E, U, W, BELOW, ABOVE, RES = range(N_VARS_PER_TICK)
TOLERANCE = 1e-6
"""Relative slack allowed when checking hard constraints (HiGHS's feasibility tolerance)."""


@dataclass(frozen=True, slots=True)
class PlannerCosts:
    """Objective weights per Wh (module docstring). Defaults are ours."""

    cycle_cost: float = 0.01
    soc_penalty: float = 1000.0
    unserved_penalty: float = 1000.0
    curtail_cost: float = 0.1
    reserve_penalty: float = 2.0
    target_penalty: float = 1.5
    soc_target_pct: float = 50.0


@dataclass(frozen=True, slots=True)
class PlanInputs:
    """What one horizon's LP needs.

    ``p_net_w`` [W] forecast net load per tick, ``p_pv_w`` [W] forecast PV per tick (bounds
    curtailment), ``e_wh`` [Wh] measured stored energy now, ``dt_s`` [s], ``grid_limit_w``
    [W] (None: unbounded), ``reserve_w`` [W] per tick (robust variant; None for the median
    planner): energy worth ``reserve_w * dt / eta_d`` is held above ``soc_min``.
    """

    p_net_w: FloatArray
    p_pv_w: FloatArray
    e_wh: float
    dt_s: float
    grid_limit_w: float | None = None
    reserve_w: FloatArray | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    """An optimal plan: per tick charge, discharge, import, export, unserved, curtailed [W],
    the energy at each tick's end [Wh]; the objective and the solver's status."""

    p_charge_w: FloatArray
    p_discharge_w: FloatArray
    p_import_w: FloatArray
    p_export_w: FloatArray
    p_unserved_w: FloatArray
    p_curtailed_w: FloatArray
    e_wh: FloatArray
    objective: float

    @property
    def p_battery_w(self) -> FloatArray:
        """Battery power per tick [W], > 0 discharge."""
        return np.asarray(self.p_discharge_w - self.p_charge_w, dtype=np.float64)


def solve_plan(
    battery: StorageLimits, inputs: PlanInputs, costs: PlannerCosts = PlannerCosts()
) -> Plan:
    """The optimal plan of one horizon (module docstring); ``MarketPlanningError`` if the
    inputs are malformed or HiGHS reports anything but an optimum."""
    net = np.asarray(inputs.p_net_w, dtype=np.float64)
    pv = np.asarray(inputs.p_pv_w, dtype=np.float64)
    h = net.shape[0]
    if h == 0 or pv.shape != net.shape or not (np.all(np.isfinite(net)) and np.all(pv >= 0)):
        raise MarketPlanningError(
            f"need finite net load and PV >= 0 of one length >= 1, got {net.shape} and {pv.shape}"
        )
    if not (np.isfinite(inputs.e_wh) and 0.0 <= inputs.e_wh <= battery.capacity_wh):
        raise MarketPlanningError(
            f"e_wh must be within [0, {battery.capacity_wh}] Wh, got {inputs.e_wh}"
        )
    dt_h = inputs.dt_s / 3600.0
    n = N_VARS_PER_TICK * h + 1  # + z, the end-target shortfall

    def var(t: int, k: int) -> int:
        return N_VARS_PER_TICK * t + k

    z = n - 1
    cost = np.zeros(n)
    for t in range(h):
        cost[var(t, G)] = dt_h
        cost[var(t, C)] = cost[var(t, D)] = costs.cycle_cost * dt_h
        cost[var(t, U)] = costs.unserved_penalty * dt_h
        cost[var(t, W)] = costs.curtail_cost * dt_h
        cost[var(t, BELOW)] = cost[var(t, ABOVE)] = costs.soc_penalty
        cost[var(t, RES)] = costs.reserve_penalty
    cost[z] = costs.target_penalty

    limit = np.inf if inputs.grid_limit_w is None else inputs.grid_limit_w
    bounds: list[tuple[float, float | None]] = []
    for t in range(h):
        row: list[tuple[float, float | None]] = [(0.0, None)] * N_VARS_PER_TICK
        row[C] = (0.0, battery.max_charge_w)
        row[D] = (0.0, battery.max_discharge_w)
        row[G] = row[X] = (0.0, None if limit == np.inf else limit)
        row[E] = (0.0, battery.capacity_wh)
        row[W] = (0.0, float(pv[t]))
        bounds.extend(row)
    bounds.append((0.0, None))

    eq_r: list[int] = []
    eq_c: list[int] = []
    eq_v: list[float] = []
    b_eq = np.zeros(2 * h)
    keep = 1.0 - battery.self_discharge_per_step
    for t in range(h):
        r = 2 * t  # power balance
        for k, v in ((G, 1.0), (X, -1.0), (D, 1.0), (C, -1.0), (U, 1.0), (W, -1.0)):
            eq_r.append(r)
            eq_c.append(var(t, k))
            eq_v.append(v)
        b_eq[r] = net[t]
        r += 1  # SoC dynamics: e_t - keep e_{t-1} - eta_c c dt + d dt / eta_d = 0
        coeffs = [(E, 1.0), (C, -battery.eta_charge * dt_h), (D, dt_h / battery.eta_discharge)]
        for k, v in coeffs:
            eq_r.append(r)
            eq_c.append(var(t, k))
            eq_v.append(v)
        if t == 0:
            b_eq[r] = keep * inputs.e_wh
        else:
            eq_r.append(r)
            eq_c.append(var(t - 1, E))
            eq_v.append(-keep)

    reserve_wh = np.zeros(h)
    if inputs.reserve_w is not None:
        reserve_wh = np.asarray(inputs.reserve_w, dtype=np.float64) * dt_h / battery.eta_discharge
    target_wh = battery.capacity_wh * costs.soc_target_pct / 100.0
    ub_r: list[int] = []
    ub_c: list[int] = []
    ub_v: list[float] = []
    b_ub: list[float] = []

    def ub(entries: list[tuple[int, float]], rhs: float) -> None:
        row = len(b_ub)
        for col, v in entries:
            ub_r.append(row)
            ub_c.append(col)
            ub_v.append(v)
        b_ub.append(rhs)

    for t in range(h):
        ub([(var(t, E), -1.0), (var(t, BELOW), -1.0)], -battery.e_min_wh)  # e + below >= min
        ub([(var(t, E), 1.0), (var(t, ABOVE), -1.0)], battery.e_max_wh)  # e - above <= max
        if inputs.reserve_w is not None:
            ub([(var(t, E), -1.0), (var(t, RES), -1.0)], -(battery.e_min_wh + reserve_wh[t]))
    ub([(var(h - 1, E), -1.0), (z, -1.0)], -target_wh)

    a_eq = coo_matrix((eq_v, (eq_r, eq_c)), shape=(2 * h, n)).tocsr()
    a_ub = coo_matrix((ub_v, (ub_r, ub_c)), shape=(len(b_ub), n)).tocsr()
    res = linprog(
        cost, A_ub=a_ub, b_ub=np.asarray(b_ub), A_eq=a_eq, b_eq=b_eq, bounds=bounds,
        method="highs",
    )  # fmt: skip
    if res.status != 0 or res.x is None:
        raise MarketPlanningError(f"HiGHS status {res.status}: {res.message}")
    sol = np.asarray(res.x).reshape(-1)[: N_VARS_PER_TICK * h].reshape(h, N_VARS_PER_TICK)
    return Plan(
        p_charge_w=sol[:, C],
        p_discharge_w=sol[:, D],
        p_import_w=sol[:, G],
        p_export_w=sol[:, X],
        p_unserved_w=sol[:, U],
        p_curtailed_w=sol[:, W],
        e_wh=sol[:, E],
        objective=float(res.fun),
    )


def check_plan(battery: StorageLimits, inputs: PlanInputs, plan: Plan) -> list[str]:
    """The hard constraints ``plan`` breaks (empty when it keeps them all), each naming the
    tick and the numbers."""
    dt_h = inputs.dt_s / 3600.0
    tol_w = TOLERANCE * max(battery.max_charge_w, battery.max_discharge_w, 1.0)
    tol_wh = TOLERANCE * battery.capacity_wh
    keep = 1.0 - battery.self_discharge_per_step
    limit = np.inf if inputs.grid_limit_w is None else inputs.grid_limit_w
    broken = []
    e_prev = inputs.e_wh
    for t in range(len(inputs.p_net_w)):
        c, d = plan.p_charge_w[t], plan.p_discharge_w[t]
        g, x, e = plan.p_import_w[t], plan.p_export_w[t], plan.e_wh[t]
        balance = g - x + d - c + plan.p_unserved_w[t] - plan.p_curtailed_w[t]
        if abs(balance - inputs.p_net_w[t]) > tol_w:
            broken.append(
                f"tick {t}: balance {balance:.3f} W != net load {inputs.p_net_w[t]:.3f} W"
            )
        expected = keep * e_prev + battery.eta_charge * c * dt_h - d * dt_h / battery.eta_discharge
        if abs(e - expected) > tol_wh:
            broken.append(f"tick {t}: energy {e:.3f} Wh != dynamics {expected:.3f} Wh")
        if not (-tol_w <= c <= battery.max_charge_w + tol_w):
            broken.append(f"tick {t}: charge {c:.3f} W outside [0, {battery.max_charge_w}]")
        if not (-tol_w <= d <= battery.max_discharge_w + tol_w):
            broken.append(f"tick {t}: discharge {d:.3f} W outside [0, {battery.max_discharge_w}]")
        if not (-tol_wh <= e <= battery.capacity_wh + tol_wh):
            broken.append(f"tick {t}: energy {e:.3f} Wh outside [0, {battery.capacity_wh}]")
        if not (-tol_w <= g <= limit + tol_w and -tol_w <= x <= limit + tol_w):
            broken.append(f"tick {t}: import {g:.3f} W / export {x:.3f} W beyond limit {limit}")
        if plan.p_unserved_w[t] < -tol_w or not (
            -tol_w <= plan.p_curtailed_w[t] <= inputs.p_pv_w[t] + tol_w
        ):
            broken.append(f"tick {t}: unserved or curtailed power out of range")
        e_prev = e
    return broken
