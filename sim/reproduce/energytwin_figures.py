"""EnergyTwin's Figures 6-11, drawn from our reproduction (PNG).

6: CEBR over the scored ticks, baseline vs predictive; 7: IEBR per tick; 8: SoC over the
whole run with the activation tick; 9: the reserve and scarcity summary (BRI, scarcity,
mean SoC per controller); 10: forecast MAE of load and PV at each planning instant; 11: IEBR
under stress (PV outage, load spike), both controllers.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from gridledger.sim.reproduce.energytwin import CONTROLLERS, RUNS, EnergyTwinReproduction
from gridledger.sim.scenario import BASE_RUN

COLORS = {"baseline": "tab:gray", "predictive": "tab:blue"}


def _save(fig: Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _scored_ticks(rep: EnergyTwinReproduction, run: str, controller: str) -> np.ndarray:
    k = rep.get(run, controller).kpis
    return np.arange(k.from_tick, k.from_tick + k.ticks)


def _series(ax: Axes, rep: EnergyTwinReproduction, run: str, attr: str, label: str = "") -> None:
    for c in CONTROLLERS:
        values = getattr(rep.get(run, c).kpis, attr)
        ticks = _scored_ticks(rep, run, c)
        ax.plot(ticks, values, color=COLORS[c], label=f"{label}{c}", lw=1.2)


def write_figures(rep: EnergyTwinReproduction, out_dir: Path) -> list[Path]:
    """Write fig06 ... fig11 PNGs to ``out_dir``; their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files = []

    fig, ax = plt.subplots(figsize=(8, 4))
    _series(ax, rep, BASE_RUN, "cebr_series_pct")
    ax.set(xlabel="tick [h]", ylabel="CEBR [%]", title="Fig. 6: cumulative energy balance ratio")
    ax.legend()
    files.append(_save(fig, out_dir / "fig06_cebr.png"))

    fig, ax = plt.subplots(figsize=(8, 4))
    _series(ax, rep, BASE_RUN, "iebr_series_pct")
    ax.set(xlabel="tick [h]", ylabel="IEBR [%]", title="Fig. 7: instantaneous energy balance")
    ax.legend()
    files.append(_save(fig, out_dir / "fig07_iebr.png"))

    fig, ax = plt.subplots(figsize=(8, 4))
    for c in CONTROLLERS:
        t = rep.get(BASE_RUN, c).ticks
        ax.plot(t["tick"], t["soc_pct"], color=COLORS[c], label=c, lw=1.2)
    ax.axvline(rep.get(BASE_RUN, "predictive").kpis.from_tick, color="k", ls=":", lw=1)
    ax.axhline(50.0, color="tab:green", ls="--", lw=0.8)
    ax.set(xlabel="tick [h]", ylabel="SoC [%]", title="Fig. 8: battery state of charge")
    ax.legend()
    files.append(_save(fig, out_dir / "fig08_soc.png"))

    fig, ax = plt.subplots(figsize=(7, 4))
    names = ("BRI(>=50%)", "scarcity", "mean SoC")
    x = np.arange(len(names))
    for i, c in enumerate(CONTROLLERS):
        k = rep.get(BASE_RUN, c).kpis
        ax.bar(x + 0.38 * i, (k.bri_pct, k.scarcity_pct, k.soc_mean_pct), 0.38, label=c,
               color=COLORS[c])  # fmt: skip
    ax.set_xticks(x + 0.19, names)
    ax.set(ylabel="[%]", title="Fig. 9: reserve and scarcity after activation")
    ax.legend()
    files.append(_save(fig, out_dir / "fig09_reserve_scarcity.png"))

    fig, ax = plt.subplots(figsize=(8, 4))
    run = rep.get(BASE_RUN, "predictive")
    for name, errors, color in (("load", run.load_errors, "tab:orange"),
                                ("PV", run.pv_errors, "tab:olive")):  # fmt: skip
        ax.plot([e.tick for e in errors], [e.mae / 1e3 for e in errors], color=color, label=name)
    ax.set(xlabel="planning instant [tick]", ylabel="MAE of q50 [kW]",
           title="Fig. 10: forecast error at each planning instant")  # fmt: skip
    ax.legend()
    files.append(_save(fig, out_dir / "fig10_forecast_error.png"))

    fig, axes = plt.subplots(len(RUNS) - 1, 1, figsize=(8, 6), sharex=True)
    for ax, stress in zip(np.atleast_1d(axes), RUNS[1:], strict=True):
        _series(ax, rep, stress, "iebr_series_pct")
        ax.set(ylabel="IEBR [%]", title=f"Fig. 11: IEBR under {stress.replace('_', ' ')}")
        ax.legend()
    np.atleast_1d(axes)[-1].set_xlabel("tick [h]")
    files.append(_save(fig, out_dir / "fig11_iebr_stress.png"))
    return files
