"""Tidy tables of a run (pandas): one row per tick per microgrid, and a summary per microgrid.

The PCC balance, the grid limit and the meter are applied here to every completed tick at
once (vectorised). Column names carry their units (docs/nomenclature.md). Violation energy
is computed from the metered integer Wh, as the ImportCap contract computes it on chain.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from gridledger.sim.controllers import window_mask
from gridledger.sim.kpis import EnergyTwinKpis, energytwin_kpis
from gridledger.sim.model import LIMIT_CODES, GridModel
from gridledger.sim.pcc import metered_energy_wh, pcc_power_w
from gridledger.sim.profiles import SECONDS_PER_HOUR, FloatArray
from gridledger.sim.scenario import MicrogridSpec

TICK_COLUMNS: tuple[str, ...] = (
    "run", "tick", "time_ts", "t_s", "microgrid", "ghi_w_m2", "t_air_c", "p_load_w",
    "p_pv_w", "p_battery_request_w", "p_battery_w", "p_battery_clipped_w", "battery_limit",
    "e_battery_wh", "soc_pct", "p_unserved_w", "p_curtailed_w", "p_pcc_w", "import_wh",
    "export_wh", "in_window", "cap_w", "violation_wh",
)  # fmt: skip
"""Columns of the per-tick table, in order."""

_LIMIT_NAMES = np.array(sorted(LIMIT_CODES, key=LIMIT_CODES.__getitem__))


def grid_limited(
    p_pcc_w: FloatArray, p_pv_w: FloatArray, limit_w: float | None
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Apply a PCC limit ``limit_w`` [W] both ways: (PCC, unserved load, curtailed PV) [W].

    Import beyond the limit is load left unserved; export beyond it is PV curtailed (at
    most all of the PV). The balance still closes:
    ``p_pcc = (p_load - unserved) - (p_pv - curtailed) - p_battery``.
    """
    if limit_w is None:
        zeros = np.zeros_like(p_pcc_w)
        return p_pcc_w, zeros, zeros.copy()
    unserved = np.maximum(p_pcc_w - limit_w, 0.0)
    curtailed = np.minimum(np.maximum(-p_pcc_w - limit_w, 0.0), p_pv_w)
    return p_pcc_w - unserved + curtailed, unserved, curtailed


def _microgrid_frame(model: GridModel, mg: MicrogridSpec, run: str) -> pd.DataFrame:
    scenario, exo, n = model.scenario, model.exo, model.tick
    dt_s = scenario.dt_s
    load, pv = exo.p_load_w[mg.name][:n], exo.p_pv_w[mg.name][:n]
    trace = model.batteries.get(mg.name)
    if trace is None:
        request = delivered = clipped = np.zeros(n)
        e_wh = soc = np.full(n, np.nan)
        limit = np.full(n, "", dtype=object)
    else:
        request, delivered, clipped = trace.p_request_w[:n], trace.p_w[:n], trace.p_clipped_w[:n]
        e_wh = trace.e_wh[:n]
        soc = 100.0 * e_wh / trace.params.capacity_wh
        limit = _LIMIT_NAMES[trace.limit[:n]]
    p_pcc, unserved, curtailed = grid_limited(pcc_power_w(load, pv, delivered), pv, mg.grid_limit_w)
    import_wh, export_wh = metered_energy_wh(p_pcc, dt_s)
    contract = next((c for c in scenario.contracts if c.microgrid == mg.name), None)
    t_day = exo.t_day_s[:n]
    if contract is None:
        window = np.zeros(n, dtype=bool)
        cap_w = np.full(n, np.nan)
    else:
        window = window_mask(t_day, contract.window_start_s, contract.window_end_s)
        cap_w = np.where(window, contract.cap_w, np.nan)
    cap_wh = np.nan_to_num(cap_w) * dt_s / SECONDS_PER_HOUR
    violation = np.where(window, np.maximum((import_wh - export_wh) - cap_wh, 0.0), 0.0)
    return pd.DataFrame(
        {
            "run": run,
            "tick": np.arange(n, dtype=np.int64),
            "time_ts": exo.time_ts[:n],
            "t_s": np.arange(n, dtype=np.int64) * dt_s,
            "microgrid": mg.name,
            "ghi_w_m2": exo.ghi_w_m2[:n],
            "t_air_c": exo.t_air_c[:n],
            "p_load_w": load,
            "p_pv_w": pv,
            "p_battery_request_w": request,
            "p_battery_w": delivered,
            "p_battery_clipped_w": clipped,
            "battery_limit": limit,
            "e_battery_wh": e_wh,
            "soc_pct": soc,
            "p_unserved_w": unserved,
            "p_curtailed_w": curtailed,
            "p_pcc_w": p_pcc,
            "import_wh": import_wh,
            "export_wh": export_wh,
            "in_window": window,
            "cap_w": cap_w,
            "violation_wh": violation,
        },
        columns=list(TICK_COLUMNS),
    )


def tick_frame(model: GridModel, run: str) -> pd.DataFrame:
    """The completed ticks of ``model`` as a tidy table (``TICK_COLUMNS``), microgrids in
    scenario order, ticks ascending within each."""
    frames = [_microgrid_frame(model, mg, run) for mg in model.scenario.microgrids]
    return pd.concat(frames, ignore_index=True)


def summary_frame(ticks: pd.DataFrame, model: GridModel) -> pd.DataFrame:
    """Per run and microgrid: energies [kWh], FED-MGDT contract figures and battery KPIs.

    ``compliance = 1 - E_viol / E_total`` over window ticks (1 with none),
    ``trust = exp(-beta * E_viol[kWh])``, ``penalty = lambda * E_viol[kWh]``; EnergyTwin's
    battery KPIs (``sim.kpis``: CEBR, mean IEBR, mean SoC, BRI, scarcity, EFC) from the
    scenario's ``kpi_from_step`` (``kpi_from_tick``; NaN until a run has passed it).
    """
    contracts = {c.microgrid: c for c in model.scenario.contracts}
    rows = []
    for (run, name), g in ticks.groupby(["run", "microgrid"], sort=False):
        net_wh = (g["import_wh"] - g["export_wh"]).to_numpy()
        window = g["in_window"].to_numpy()
        viol_kwh = float(g["violation_wh"].sum()) / 1000.0
        total_kwh = float(np.abs(net_wh[window]).sum()) / 1000.0
        c = contracts.get(str(name))
        kpis = _battery_kpis(g, model, str(name))
        rows.append(
            {
                "run": run,
                "microgrid": name,
                "ticks": len(g),
                "load_kwh": _kwh(g["p_load_w"], model.scenario.dt_s),
                "pv_kwh": _kwh(g["p_pv_w"], model.scenario.dt_s),
                "import_kwh": float(g["import_wh"].sum()) / 1000.0,
                "export_kwh": float(g["export_wh"].sum()) / 1000.0,
                "unserved_kwh": _kwh(g["p_unserved_w"], model.scenario.dt_s),
                "cap_kw": c.cap_w / 1000.0 if c else math.nan,
                "violation_kwh": viol_kwh,
                "compliance": 1.0 if total_kwh == 0 else max(0.0, 1.0 - viol_kwh / total_kwh),
                "penalty": c.lambda_per_kwh * viol_kwh if c else 0.0,
                "trust": math.exp(-c.beta_per_kwh * viol_kwh) if c else 1.0,
                "kpi_from_tick": model.scenario.kpi_from_step,
                "cebr_pct": kpis.cebr_pct if kpis else math.nan,
                "iebr_mean_pct": kpis.iebr_mean_pct if kpis else math.nan,
                "soc_mean_pct": kpis.soc_mean_pct if kpis else math.nan,
                "bri_pct": kpis.bri_pct if kpis else math.nan,
                "scarcity_pct": kpis.scarcity_pct if kpis else math.nan,
                "efc": kpis.efc if kpis else math.nan,
            }
        )
    return pd.DataFrame(rows)


def _kwh(p_w: pd.Series, dt_s: int) -> float:
    return float(p_w.sum()) * dt_s / SECONDS_PER_HOUR / 1000.0


def _battery_kpis(g: pd.DataFrame, model: GridModel, name: str) -> EnergyTwinKpis | None:
    """The battery KPIs of one microgrid's ticks ``g``; None without a battery or before
    ``kpi_from_step``."""
    spec = model.scenario.microgrid(name).battery
    from_tick = model.scenario.kpi_from_step
    if spec is None or len(g) <= from_tick:
        return None
    return energytwin_kpis(
        p_load_w=g["p_load_w"],
        p_pv_w=g["p_pv_w"],
        p_battery_w=g["p_battery_w"],
        p_pcc_w=g["p_pcc_w"],
        soc_pct=g["soc_pct"],
        initial_soc_pct=spec.initial_soc_pct,
        dt_s=model.scenario.dt_s,
        p_curtailed_w=g["p_curtailed_w"],
        p_unserved_w=g["p_unserved_w"],
        from_tick=from_tick,
    )
