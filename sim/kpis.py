"""EnergyTwin's key performance indicators, taken after activation (docs/nomenclature.md).

EnergyTwin scores a run only from the tick its predictive controller activates (tick 168,
after the forecaster's 7-day history); every KPI here takes ``from_tick`` and ignores the
ticks before it, for the myopic baseline as for the planner, so both are scored on the same
ticks. Per tick ``t`` (energies over the tick, [Wh]):

- local supply ``S_t = (PV_t - curtailed_t) + max(P_battery_t, 0) * dt``: what the microgrid
  delivered from inside (PV it used, stored or exported, and battery discharge);
- grid consumption ``G_t = max(P_pcc_t, 0) * dt``: what it imported.

KPIs (``EnergyTwinKpis``):

- CEBR, cumulative energy balance ratio (EnergyTwin Eq. 5): ``100 * sum S / sum G`` [%]
  from ``from_tick`` to each tick; the reported value is the last;
- IEBR, instantaneous energy balance ratio (Eq. 6): ``100 * S_t / G_t`` [%] on ticks with
  grid consumption (``G_t > 0``) only; reported as its mean.

Both are this project's reading of Eqs. 5-6 (local energy over energy bought); the paper's
values above 100 % (Table 1: 172.59 % to 502.09 %) fit a ratio to grid import, not to load
(docs/reproductions.md). Further:

- mean SoC [%]; BRI(>= 50 %), the battery reserve index: share of ticks with SoC >= 50 % [%];
- scarcity: share of ticks with SoC < 5 % and zero PV [%];
- EFC, equivalent full cycles (Eq. 7): ``sum |dSoC[%]| / 200``, dSoC from the SoC at the end
  of tick ``from_tick - 1`` (the initial SoC when ``from_tick`` is 0);
- unserved energy: load beyond the grid limit [kWh].

SoC is the value at the end of each tick.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from gridledger.sim.errors import SimError
from gridledger.sim.profiles import SECONDS_PER_HOUR, FloatArray

ACTIVATION_TICK = 168
"""EnergyTwin's activation tick: the planner starts after 7 days (168 hourly ticks)."""
BRI_THRESHOLD_PCT = 50.0
"""SoC at or above which a tick counts towards the battery reserve index [%]."""
SCARCITY_SOC_PCT = 5.0
"""SoC below which a tick without PV counts as scarce [%]."""


@dataclass(frozen=True, slots=True)
class EnergyTwinKpis:
    """The KPIs of one run after ``from_tick`` (module docstring).

    ``cebr_series_pct`` and ``iebr_series_pct`` have one entry per scored tick
    (``cebr_series_pct`` is NaN until the first import, ``iebr_series_pct`` where there was
    none).
    """

    from_tick: int
    ticks: int
    cebr_pct: float
    iebr_mean_pct: float
    soc_mean_pct: float
    bri_pct: float
    scarcity_pct: float
    efc: float
    unserved_kwh: float
    cebr_series_pct: FloatArray
    iebr_series_pct: FloatArray


def energytwin_kpis(
    *,
    p_load_w: npt.ArrayLike,
    p_pv_w: npt.ArrayLike,
    p_battery_w: npt.ArrayLike,
    p_pcc_w: npt.ArrayLike,
    soc_pct: npt.ArrayLike,
    initial_soc_pct: float,
    dt_s: float,
    p_curtailed_w: npt.ArrayLike | None = None,
    p_unserved_w: npt.ArrayLike | None = None,
    from_tick: int = ACTIVATION_TICK,
) -> EnergyTwinKpis:
    """The KPIs of per-tick series (all of one length, from tick 0).

    Parameters
    ----------
    p_load_w, p_pv_w : load and PV generation over each tick [W]
    p_battery_w : delivered battery power [W], > 0 discharge
    p_pcc_w : PCC power after the grid limit [W], > 0 import
    soc_pct : SoC at the end of each tick [%]
    initial_soc_pct : SoC before tick 0 [%]
    dt_s : tick length [s]
    p_curtailed_w, p_unserved_w : PV curtailed and load unserved at the grid limit [W]
    from_tick : first scored tick (EnergyTwin: 168)
    """
    load = np.asarray(p_load_w, dtype=np.float64)
    n = load.shape[0]
    series = {
        "p_pv_w": np.asarray(p_pv_w, dtype=np.float64),
        "p_battery_w": np.asarray(p_battery_w, dtype=np.float64),
        "p_pcc_w": np.asarray(p_pcc_w, dtype=np.float64),
        "soc_pct": np.asarray(soc_pct, dtype=np.float64),
        "p_curtailed_w": np.zeros(n)
        if p_curtailed_w is None
        else np.asarray(p_curtailed_w, dtype=np.float64),
        "p_unserved_w": np.zeros(n)
        if p_unserved_w is None
        else np.asarray(p_unserved_w, dtype=np.float64),
    }
    for name, arr in series.items():
        if arr.shape != (n,):
            raise SimError(f"{name} has shape {arr.shape}, p_load_w has ({n},)")
    if not 0 <= from_tick < n:
        raise SimError(f"from_tick must be in [0, {n}) for {n} ticks, got {from_tick}")
    dt_h = dt_s / SECONDS_PER_HOUR
    span = slice(from_tick, n)
    pv, battery = series["p_pv_w"][span], series["p_battery_w"][span]
    soc = series["soc_pct"][span]
    supply_wh = (pv - series["p_curtailed_w"][span] + np.maximum(battery, 0.0)) * dt_h
    grid_wh = np.maximum(series["p_pcc_w"][span], 0.0) * dt_h
    cum_grid = np.cumsum(grid_wh)
    with np.errstate(divide="ignore", invalid="ignore"):
        cebr = np.where(cum_grid > 0, 100.0 * np.cumsum(supply_wh) / cum_grid, np.nan)
        iebr = np.where(grid_wh > 0, 100.0 * supply_wh / grid_wh, np.nan)
    soc_before = initial_soc_pct if from_tick == 0 else float(series["soc_pct"][from_tick - 1])
    path = np.concatenate(([soc_before], soc))
    consumed = iebr[~np.isnan(iebr)]
    return EnergyTwinKpis(
        from_tick=from_tick,
        ticks=n - from_tick,
        cebr_pct=float(cebr[-1]),
        iebr_mean_pct=float(consumed.mean()) if consumed.size else math.nan,
        soc_mean_pct=float(soc.mean()),
        bri_pct=100.0 * float(np.mean(soc >= BRI_THRESHOLD_PCT)),
        scarcity_pct=100.0 * float(np.mean((soc < SCARCITY_SOC_PCT) & (pv == 0.0))),
        efc=float(np.abs(np.diff(path)).sum()) / 200.0,
        unserved_kwh=float(series["p_unserved_w"][span].sum()) * dt_h / 1000.0,
        cebr_series_pct=cebr,
        iebr_series_pct=iebr,
    )
