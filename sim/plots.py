"""PNG plots of a run's tidy table: PCC vs cap, battery SoC, PV and load.

Each function takes the per-tick table (``sim.tables.TICK_COLUMNS``) and writes one PNG.
Scenarios with many microgrids (lem27) are drawn as totals or the first few lines, so the
figures stay readable.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

MAX_LINES = 6
"""More lines than this in one axis are summarised (a total, or the first ones)."""


def _hours(g: pd.DataFrame) -> pd.Series:
    return g["t_s"] / 3600.0


def _totals(ticks: pd.DataFrame) -> pd.DataFrame:
    """Per tick, the sum over microgrids of the power columns (and the tick's ``t_s``)."""
    return ticks.groupby("tick", sort=True).agg(
        t_s=("t_s", "first"),
        p_pcc_w=("p_pcc_w", "sum"),
        p_load_w=("p_load_w", "sum"),
        p_pv_w=("p_pv_w", "sum"),
    )


def _save(fig: Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_pcc_vs_cap(ticks: pd.DataFrame, path: Path) -> Path:
    """PCC power [kW] over time against each capped microgrid's cap, one line per run; the
    enforcement window shaded. Without caps: PCC per microgrid (or their total)."""
    fig, ax = plt.subplots(figsize=(10, 4.5))
    capped = ticks[ticks["cap_w"].notna()]["microgrid"].unique()
    if len(capped):
        for (run, name), g in ticks[ticks["microgrid"].isin(capped)].groupby(
            ["run", "microgrid"], sort=False
        ):
            (line,) = ax.plot(_hours(g), g["p_pcc_w"] / 1000.0, lw=0.9, label=f"{run} {name} PCC")
            ax.plot(
                _hours(g), g["cap_w"] / 1000.0, color=line.get_color(), ls="--", lw=1.2,
                label=f"{run} cap",
            )  # fmt: skip
        window = ticks[ticks["in_window"]]
        for _, g in window.groupby((window["tick"].diff() != 1).cumsum()):
            hours = _hours(g)
            ax.axvspan(hours.min(), hours.max(), color="0.9", zorder=0)
        ax.set_title("PCC power vs import cap (window shaded)")
    else:
        first = ticks[ticks["run"] == ticks["run"].iloc[0]]
        names = first["microgrid"].unique()
        if len(names) <= MAX_LINES:
            for name, g in first.groupby("microgrid", sort=False):
                ax.plot(_hours(g), g["p_pcc_w"] / 1000.0, lw=0.9, label=str(name))
        else:
            total = _totals(first)
            ax.plot(_hours(total), total["p_pcc_w"] / 1000.0, lw=1.0, label=f"sum of {len(names)}")
        ax.set_title(f"PCC power ({ticks['run'].iloc[0]})")
    ax.axhline(0.0, color="k", lw=0.5)
    ax.set_xlabel("time [h]")
    ax.set_ylabel("PCC power [kW], > 0 import")
    ax.legend(fontsize=7, ncol=2)
    return _save(fig, path)


def plot_soc(ticks: pd.DataFrame, path: Path) -> Path:
    """Battery state of charge [%] over time, per run and battery (first few)."""
    fig, ax = plt.subplots(figsize=(10, 4))
    batteries = ticks[ticks["soc_pct"].notna()]
    for i, ((run, name), g) in enumerate(batteries.groupby(["run", "microgrid"], sort=False)):
        if i >= 2 * MAX_LINES:
            break
        ax.plot(_hours(g), g["soc_pct"], lw=0.9, label=f"{run} {name}")
    ax.set_ylim(0, 100)
    ax.set_xlabel("time [h]")
    ax.set_ylabel("state of charge [%]")
    ax.set_title("battery state of charge" if len(batteries) else "no batteries")
    if len(batteries):
        ax.legend(fontsize=7, ncol=2)
    return _save(fig, path)


def plot_pv_load(ticks: pd.DataFrame, path: Path) -> Path:
    """PV output and load [kW] over time of the first run, per microgrid (or totals)."""
    first = ticks[ticks["run"] == ticks["run"].iloc[0]]
    names = list(first["microgrid"].unique())
    groups = (
        [(str(n), first[first["microgrid"] == n]) for n in names]
        if len(names) <= MAX_LINES
        else [(f"sum of {len(names)}", _totals(first))]
    )
    fig, axes = plt.subplots(len(groups), 1, figsize=(10, 2.6 * len(groups)), squeeze=False)
    for ax, (name, g) in zip(axes[:, 0], groups, strict=True):
        hours = _hours(g)
        ax.plot(hours, g["p_load_w"] / 1000.0, lw=0.9, label="load")
        ax.plot(hours, g["p_pv_w"] / 1000.0, lw=0.9, label="PV")
        ax.set_ylabel("power [kW]")
        ax.set_title(f"{name} ({first['run'].iloc[0]})", fontsize=9)
        ax.legend(fontsize=7)
    axes[-1, 0].set_xlabel("time [h]")
    return _save(fig, path)


def plot_market(intervals: pd.DataFrame, path: Path) -> Path:
    """The market in the loop: the local price of each mechanism per interval [token/kWh]
    (the LEM-CDT paper's Figure 7) and the community's grid exchange [kWh] (its Figure 10),
    first run only."""
    first = intervals[intervals["run"] == intervals["run"].iloc[0]]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 6.5), sharex=True)
    for mechanism, g in first.groupby("mechanism", sort=False):
        if mechanism != "none":
            top.step(g["interval"], g["price_per_kwh"], where="post", label=str(mechanism))
        bottom.step(
            g["interval"], g["grid_import_kwh"] - g["grid_export_kwh"], where="post",
            label=str(mechanism),
        )  # fmt: skip
    top.set_ylabel("local price [token/kWh]")
    bottom.set_ylabel("grid import - export [kWh]")
    bottom.set_xlabel("market interval")
    top.legend()
    bottom.legend()
    return _save(fig, path)


def plot_cost_vs_violation(table: pd.DataFrame, path: Path) -> Path:
    """Total daily cost [token] against the violation probability of generation and of
    demand (the LEM-CDT paper's Figures 8 and 9)."""
    fig, ax = plt.subplots(figsize=(7, 4))
    x = table["violation_probability"]
    ax.plot(x, table["cost_generation_token"], marker="o", label="generation (Fig. 8)")
    ax.plot(x, table["cost_demand_token"], marker="s", label="demand (Fig. 9)")
    ax.set_xlabel("violation probability")
    ax.set_ylabel("total daily cost [token]")
    ax.legend()
    return _save(fig, path)
