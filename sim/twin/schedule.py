"""The day-ahead schedule of the LEM-CDT study (its Eqs. 2-16) with chance constraints as
deterministic equivalents (its Eqs. 17-26), one sparse LP solved by HiGHS.

Per household h and hour t (all energies in Wh per hourly step):
  balance    imp - exp = L~ - shd + rec + hvac + sum_k x_k + ch - dis - (PV~ - cur) + ...
             (unserved `uns` closes the balance at the value of lost load; never chosen
             while the grid can serve)
  battery    e_t = (1 - s) e_{t-1} + eta_c ch_t - dis_t / eta_d,  e_min <= e_t <= e_max,
             ch_t, dis_t <= P_max dt, e_23 >= e_initial (the day ends as full as it began)
  shifting   0 <= shd_t, rec_t <= FI L~_t (flexibility index of the household's class),
             sum_t shd_t = sum_t rec_t (shifted consumption is recovered the same day)
  appliances sum_t x_k,t = E_k, 0 <= x_k,t <= P_k dt inside the LF window, 0 outside
  thermal    T_t = a T_{t-1} + (1 - a) T_out,t + g hvac_t (sim/twin/thermal.py),
             T_low <= T_t <= T_high (the comfort band from TF), 0 <= hvac_t <= P_hvac dt
Chance constraints: PV and load forecast errors are Gaussian, e ~ N(mu, sigma^2) relative to
the forecast. P(PV >= PV~) >= 1 - alpha_pv and P(L <= L~) >= 1 - alpha_load become
    PV~ = PV (1 + mu_pv + sigma_pv z(alpha_pv)),  L~ = L (1 + mu_l + sigma_l z(1 - alpha_l))
with z the standard normal quantile: the schedule plans on generation it reaches with
probability 1 - alpha and on consumption it stays below with probability 1 - alpha.

Objective, per kWh (tariffs in token/kWh):
  individual  each household pays retail * imp - feed_in * exp (each twin alone);
  coordinated the community pays retail * G_in - feed_in * G_out + fee * (local volume),
              with sum_h (imp - exp) = G_in - G_out and G within the feeder limits (the
              twins coordinate through the local market's bid-free price).
plus small tie-breakers: battery throughput and, per appliance, (1 - LF weight) per hour
away from its preferred hour.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import NormalDist

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from gridledger.contracts.units import WH_PER_KWH
from gridledger.sim.errors import ScheduleError, TwinError
from gridledger.sim.profiles import FloatArray
from gridledger.sim.twin.flex import HOURS_PER_DAY, LoadFlexMatrix
from gridledger.sim.twin.thermal import Dwelling

T = HOURS_PER_DAY
THROUGHPUT_PER_KWH = 1e-4
"""Tie-breaker on battery throughput [token/kWh]: no charging and discharging at once."""
INCONVENIENCE_PER_KWH_H = 1e-3
"""Tie-breaker per kWh and hour an appliance runs away from its preferred hour, times
(1 - its LF weight) [token/kWh/h]."""
VOLL_FACTOR = 20.0
"""Value of lost load as a multiple of the retail tariff."""

BLOCKS = ("imp", "exp", "ch", "dis", "e", "shd", "rec", "hvac", "tin", "cur", "uns")


@dataclass(frozen=True, slots=True)
class Storage:
    """A household battery: capacity [Wh], power [W], efficiencies, bounds and start [%]."""

    capacity_wh: float
    max_power_w: float
    eta_charge: float = 0.95
    eta_discharge: float = 0.95
    self_discharge_per_h: float = 1e-3
    soc_min_pct: float = 10.0
    soc_max_pct: float = 95.0
    initial_soc_pct: float = 30.0

    @property
    def initial_wh(self) -> float:
        return self.capacity_wh * self.initial_soc_pct / 100.0


@dataclass(frozen=True, slots=True)
class Thermal:
    """A dwelling with its HVAC, start temperature [degC] and comfort band [degC]."""

    dwelling: Dwelling
    t0_c: float
    band_c: tuple[float, float]

    def __post_init__(self) -> None:
        low, high = self.band_c
        if not low <= self.t0_c <= high:
            raise TwinError(f"start temperature {self.t0_c} degC outside the band {self.band_c}")


@dataclass(frozen=True, slots=True)
class Household:
    """One twin's inputs: forecast base load and PV [Wh per hour, 24 each], battery, FI,
    flexible appliances (LF) and the thermal zone (TF turned into a band)."""

    name: str
    load_wh: FloatArray
    pv_wh: FloatArray
    storage: Storage | None = None
    flex_index: float = 0.0
    lf: LoadFlexMatrix = field(default_factory=lambda: LoadFlexMatrix(()))
    thermal: Thermal | None = None

    def __post_init__(self) -> None:
        for name in ("load_wh", "pv_wh"):
            arr = getattr(self, name)
            if np.shape(arr) != (T,) or np.min(arr) < 0:
                raise TwinError(f"{self.name}: {name} must be 24 values >= 0")
        if not 0.0 <= self.flex_index <= 1.0:
            raise TwinError(f"{self.name}: flexibility index {self.flex_index} outside [0, 1]")


@dataclass(frozen=True, slots=True)
class Uncertainty:
    """Forecast errors relative to the forecast (mean, std) and the violation probabilities
    alpha of the chance constraints; alpha None: no chance constraint (plan on the mean)."""

    pv_mean_frac: float = 0.0
    pv_std_frac: float = 0.1
    load_mean_frac: float = 0.0
    load_std_frac: float = 0.1
    pv_violation: float | None = 0.05
    load_violation: float | None = 0.05

    def __post_init__(self) -> None:
        for name in ("pv_violation", "load_violation"):
            alpha = getattr(self, name)
            if alpha is not None and not 0.0 < alpha < 1.0:
                raise TwinError(f"{name} {alpha} must lie in (0, 1)")

    def pv_plan_wh(self, pv_wh: FloatArray) -> FloatArray:
        """PV~: the generation reached with probability 1 - alpha_pv."""
        z = 0.0 if self.pv_violation is None else NormalDist().inv_cdf(self.pv_violation)
        sigma = 0.0 if self.pv_violation is None else self.pv_std_frac
        return np.maximum(pv_wh * (1.0 + self.pv_mean_frac + sigma * z), 0.0)

    def load_plan_wh(self, load_wh: FloatArray) -> FloatArray:
        """L~: the consumption not exceeded with probability 1 - alpha_load."""
        z = 0.0 if self.load_violation is None else NormalDist().inv_cdf(1 - self.load_violation)
        sigma = 0.0 if self.load_violation is None else self.load_std_frac
        return np.maximum(load_wh * (1.0 + self.load_mean_frac + sigma * z), 0.0)


@dataclass(frozen=True, slots=True)
class Prices:
    """Tariffs [token/kWh] and the feeder's limits per hour [Wh] (None: none)."""

    feed_in_per_kwh: float
    retail_per_kwh: float
    grid_fee_per_kwh: float = 0.0
    import_limit_wh: float | None = None
    export_limit_wh: float | None = None


@dataclass(frozen=True, slots=True)
class Schedule:
    """The solved day: per household (rows) and hour (columns) every block [Wh, degC for
    tin], battery energy after each hour [Wh]; the community's grid flows [Wh]; the
    objective [token]; HiGHS's wall time [s]; the LP's size."""

    names: tuple[str, ...]
    blocks: dict[str, FloatArray]
    appliances_wh: FloatArray
    grid_import_wh: FloatArray
    grid_export_wh: FloatArray
    objective_token: float
    solve_s: float
    n_variables: int
    n_constraints: int

    def net_wh(self) -> FloatArray:
        """Each household's net position imp - exp per hour [Wh]."""
        return self.blocks["imp"] - self.blocks["exp"]


class _Lp:
    """Sparse equality rows and bounds built block by block, solved by HiGHS's interior
    point method (on 1,000 households several times faster than its dual simplex)."""

    method = "highs-ipm"

    def __init__(self) -> None:
        self.n = 0
        self.cost: list[FloatArray] = []
        self.lb: list[FloatArray] = []
        self.ub: list[FloatArray] = []
        self.rows: list[np.ndarray] = []
        self.cols: list[np.ndarray] = []
        self.vals: list[np.ndarray] = []
        self.rhs: list[float] = []

    def var(
        self, size: int, lb: object = 0.0, ub: object = np.inf, cost: object = 0.0
    ) -> np.ndarray:
        idx = np.arange(self.n, self.n + size)
        self.n += size
        self.lb.append(np.broadcast_to(np.asarray(lb, dtype=np.float64), (size,)).copy())
        self.ub.append(np.broadcast_to(np.asarray(ub, dtype=np.float64), (size,)).copy())
        self.cost.append(np.broadcast_to(np.asarray(cost, dtype=np.float64), (size,)).copy())
        return idx

    def eq(self, terms: Sequence[tuple[np.ndarray, object]], rhs: object) -> None:
        """Rows sum_i coef_i * x[idx_i] = rhs, one row per element of the index arrays."""
        size = len(terms[0][0])
        first = len(self.rhs)
        row = np.arange(first, first + size)
        for idx, coef in terms:
            self.rows.append(row)
            self.cols.append(np.asarray(idx))
            self.vals.append(np.broadcast_to(np.asarray(coef, dtype=np.float64), (size,)).copy())
        self.rhs.extend(np.broadcast_to(np.asarray(rhs, dtype=np.float64), (size,)).tolist())

    def sum_eq(self, terms: Sequence[tuple[np.ndarray, float]], rhs: float) -> None:
        """One row: sum over every index of every term of coef * x[idx] = rhs."""
        row = len(self.rhs)
        for idx, coef in terms:
            self.rows.append(np.full(len(idx), row))
            self.cols.append(np.asarray(idx))
            self.vals.append(np.full(len(idx), coef, dtype=np.float64))
        self.rhs.append(rhs)

    def solve(self) -> tuple[FloatArray, float, float]:
        a = sp.csr_matrix(
            (np.concatenate(self.vals), (np.concatenate(self.rows), np.concatenate(self.cols))),
            shape=(len(self.rhs), self.n),
        )
        bounds = np.column_stack([np.concatenate(self.lb), np.concatenate(self.ub)])
        started = time.perf_counter()
        result = linprog(
            np.concatenate(self.cost), A_eq=a, b_eq=np.asarray(self.rhs), bounds=bounds,
            method=self.method,
        )  # fmt: skip
        elapsed = time.perf_counter() - started
        if result.status != 0:
            raise ScheduleError(f"HiGHS: {result.message} (status {result.status})")
        return np.asarray(result.x), float(result.fun), elapsed


def schedule_day(
    households: Sequence[Household],
    prices: Prices,
    t_out_c: FloatArray,
    uncertainty: Uncertainty = Uncertainty(),
    coordinated: bool = True,
    dt_s: float = 3600.0,
) -> Schedule:
    """Solve the day-ahead schedule of ``households`` (see the module docstring)."""
    if not households:
        raise TwinError("no household to schedule")
    lp = _Lp()
    retail, feed_in = prices.retail_per_kwh / WH_PER_KWH, prices.feed_in_per_kwh / WH_PER_KWH
    fee = prices.grid_fee_per_kwh / WH_PER_KWH
    hours = dt_s / 3600.0
    index: list[dict[str, np.ndarray]] = []
    appl: list[list[np.ndarray]] = []
    for h in households:
        load = uncertainty.load_plan_wh(np.asarray(h.load_wh, dtype=np.float64))
        pv = uncertainty.pv_plan_wh(np.asarray(h.pv_wh, dtype=np.float64))
        v: dict[str, np.ndarray] = {}
        v["imp"] = lp.var(T, cost=0.0 if coordinated else retail)
        v["exp"] = lp.var(T, cost=fee if coordinated else -feed_in)
        s = h.storage
        if s is None:
            v["ch"] = v["dis"] = v["e"] = lp.var(T, ub=0.0)
        else:
            p_max = s.max_power_w * hours
            v["ch"] = lp.var(T, ub=p_max, cost=THROUGHPUT_PER_KWH / WH_PER_KWH)
            v["dis"] = lp.var(T, ub=p_max, cost=THROUGHPUT_PER_KWH / WH_PER_KWH)
            e_lb = np.full(T, s.capacity_wh * s.soc_min_pct / 100.0)
            e_lb[-1] = max(e_lb[-1], s.initial_wh)
            v["e"] = lp.var(T, lb=e_lb, ub=s.capacity_wh * s.soc_max_pct / 100.0)
            keep = (1.0 - s.self_discharge_per_h) ** hours
            lp.eq([(v["e"][1:], 1.0), (v["e"][:-1], -keep), (v["ch"][1:], -s.eta_charge),
                   (v["dis"][1:], 1.0 / s.eta_discharge)], 0.0)  # fmt: skip
            lp.eq([(v["e"][:1], 1.0), (v["ch"][:1], -s.eta_charge),
                   (v["dis"][:1], 1.0 / s.eta_discharge)], keep * s.initial_wh)  # fmt: skip
        v["shd"] = lp.var(T, ub=h.flex_index * load)
        v["rec"] = lp.var(T, ub=h.flex_index * load)
        if h.flex_index > 0:
            lp.sum_eq([(v["shd"], 1.0), (v["rec"], -1.0)], 0.0)
        th = h.thermal
        if th is None:
            v["hvac"] = v["tin"] = lp.var(T, ub=0.0)
        else:
            d = th.dwelling
            a, g = d.decay(dt_s), d.gain_k_per_w(dt_s) / hours
            v["hvac"] = lp.var(T, ub=d.hvac_max_w * hours)
            v["tin"] = lp.var(T, lb=th.band_c[0], ub=th.band_c[1])
            t_out = np.asarray(t_out_c, dtype=np.float64)
            lp.eq([(v["tin"][1:], 1.0), (v["tin"][:-1], -a), (v["hvac"][1:], -g)],
                  (1.0 - a) * t_out[1:])  # fmt: skip
            lp.eq([(v["tin"][:1], 1.0), (v["hvac"][:1], -g)], a * th.t0_c + (1 - a) * t_out[0])
        v["cur"] = lp.var(T, ub=pv)
        v["uns"] = lp.var(T, cost=VOLL_FACTOR * retail)
        xs = []
        for row in h.lf.rows:
            cost = (1.0 - row.weight) * INCONVENIENCE_PER_KWH_H / WH_PER_KWH
            distance = np.abs(np.arange(T) - row.preferred_hour)
            x = lp.var(T, ub=row.max_power_w * hours * row.mask(), cost=cost * distance)
            lp.sum_eq([(x, 1.0)], row.energy_wh)
            xs.append(x)
        terms = [(v["imp"], 1.0), (v["exp"], -1.0), (v["ch"], -1.0), (v["dis"], 1.0),
                 (v["shd"], 1.0), (v["rec"], -1.0), (v["hvac"], -1.0), (v["cur"], -1.0),
                 (v["uns"], 1.0)] + [(x, -1.0) for x in xs]  # fmt: skip
        lp.eq(terms, load - pv)
        index.append(v)
        appl.append(xs)
    if coordinated:
        g_in = lp.var(T, ub=_limit(prices.import_limit_wh), cost=retail)
        g_out = lp.var(T, ub=_limit(prices.export_limit_wh), cost=-feed_in - fee)
        terms = [(g_in, -1.0), (g_out, 1.0)]
        for v in index:
            terms += [(v["imp"], 1.0), (v["exp"], -1.0)]
        lp.eq(terms, np.zeros(T))
    x, objective, solve_s = lp.solve()
    blocks = {b: np.array([x[v[b]] for v in index]) for b in BLOCKS}
    no_storage = [i for i, h in enumerate(households) if h.storage is None]
    blocks["e"][no_storage] = np.nan
    no_thermal = [i for i, h in enumerate(households) if h.thermal is None]
    blocks["tin"][no_thermal] = np.nan
    appliances = np.array([sum((x[a] for a in xs), np.zeros(T)) for xs in appl])
    if coordinated:
        grid_in, grid_out = x[g_in], x[g_out]
    else:
        grid_in, grid_out = blocks["imp"].sum(axis=0), blocks["exp"].sum(axis=0)
    return Schedule(
        names=tuple(h.name for h in households),
        blocks=blocks,
        appliances_wh=appliances,
        grid_import_wh=np.asarray(grid_in),
        grid_export_wh=np.asarray(grid_out),
        objective_token=objective,
        solve_s=solve_s,
        n_variables=lp.n,
        n_constraints=len(lp.rhs),
    )


def _limit(limit_wh: float | None) -> float:
    return np.inf if limit_wh is None else limit_wh
