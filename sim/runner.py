"""Standalone runs: a scenario's runs simulated without any chain or bus, written to a folder.

``run_scenario`` steps each run's model under the built-in rules (the operator's contract
coordinator and self-consumption), with a tqdm progress bar on stderr, then writes:

- ``ticks.csv``, ``ticks.parquet``: one row per run, tick and microgrid (``sim.tables``);
- ``summary.csv``, ``summary.parquet``: one row per run and microgrid;
- ``pcc_vs_cap.png``, ``soc.png``, ``pv_load.png``;
- with a market in the loop (``[market] mechanisms``, sim/market_loop.py):
  ``market_households.csv``, ``market_intervals.csv`` and ``market.png``;
- ``run.json``: scenario, seed, runs, ticks completed and whether the run completed.

The same scenario and seed give the same numbers, byte for byte in the CSV files.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from gridledger.sim.market_loop import MarketTables, run_market
from gridledger.sim.model import GridModel
from gridledger.sim.scenario import Scenario
from gridledger.sim.tables import summary_frame, tick_frame

Progress = Callable[[int], None]
"""Called with the number of ticks just completed."""

PROGRESS_EVERY = 64
"""Ticks between progress-bar updates (each update costs more than a tick)."""


@dataclass(frozen=True, slots=True)
class RunOutputs:
    """What a run wrote: the tables and the files."""

    ticks: pd.DataFrame
    summary: pd.DataFrame
    files: tuple[Path, ...]
    market: MarketTables | None = None


def simulate_run(scenario: Scenario, run: str, progress: Progress | None = None) -> GridModel:
    """Simulate run ``run`` of ``scenario`` under the built-in rules; the finished model."""
    model = GridModel(scenario.for_run(run))
    while not model.done:
        model.step(model.builtin_setpoints_w(model.observe()))
        if progress is not None and model.tick % PROGRESS_EVERY == 0:
            progress(PROGRESS_EVERY)
    if progress is not None:
        progress(model.tick % PROGRESS_EVERY)
    return model


def tables_of(models: Sequence[tuple[str, GridModel]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The per-tick and summary tables of several runs' models (completed ticks only)."""
    ticks = [tick_frame(model, run) for run, model in models]
    summaries = [summary_frame(t, model) for t, (_, model) in zip(ticks, models, strict=True)]
    return pd.concat(ticks, ignore_index=True), pd.concat(summaries, ignore_index=True)


def write_outputs(
    out_dir: Path,
    scenario: Scenario,
    models: Sequence[tuple[str, GridModel]],
    status: str = "complete",
    plots: bool = True,
) -> RunOutputs:
    """Write the tables, plots and ``run.json`` of ``models`` to ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    ticks, summary = tables_of(models)
    files = [out_dir / n for n in ("ticks.csv", "ticks.parquet", "summary.csv", "summary.parquet")]
    ticks.to_csv(files[0], index=False)
    ticks.to_parquet(files[1], index=False)
    summary.to_csv(files[2], index=False)
    summary.to_parquet(files[3], index=False)
    market = run_market(scenario, ticks)
    if market is not None:
        files.append(out_dir / "market_households.csv")
        market.households.to_csv(files[-1], index=False)
        files.append(out_dir / "market_intervals.csv")
        market.intervals.to_csv(files[-1], index=False)
    if plots and len(ticks):
        # Imported here: matplotlib takes ~0.5 s to import, a cost runs without plots skip.
        from gridledger.sim.plots import plot_pcc_vs_cap, plot_pv_load, plot_soc  # noqa: PLC0415

        files.append(plot_pcc_vs_cap(ticks, out_dir / "pcc_vs_cap.png"))
        files.append(plot_soc(ticks, out_dir / "soc.png"))
        files.append(plot_pv_load(ticks, out_dir / "pv_load.png"))
        if market is not None:
            from gridledger.sim.plots import plot_market  # noqa: PLC0415

            files.append(plot_market(market.intervals, out_dir / "market.png"))
    meta = {
        "scenario": scenario.name,
        "source": str(scenario.source) if scenario.source else None,
        "seed": scenario.seed,
        "dt_s": scenario.dt_s,
        "n_steps": scenario.n_steps,
        "runs": {run: model.tick for run, model in models},
        "status": status,
    }
    files.append(out_dir / "run.json")
    files[-1].write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return RunOutputs(ticks, summary, tuple(files), market)


def run_scenario(
    scenario: Scenario,
    out_dir: Path,
    runs: Sequence[str] = (),
    show_progress: bool = True,
    plots: bool = True,
) -> RunOutputs:
    """Simulate ``runs`` (default: the scenario's ``default_runs``) and write the outputs."""
    names = tuple(runs) or scenario.default_runs
    for name in names:
        scenario.for_run(name)  # refuse an unknown run before simulating anything
    with tqdm(
        total=scenario.n_steps * len(names),
        desc=f"sim {scenario.name}",
        unit="tick",
        file=sys.stderr,
        disable=not show_progress,
        leave=False,
    ) as bar:
        models = [(name, simulate_run(scenario, name, bar.update)) for name in names]
    return write_outputs(out_dir, scenario, models, plots=plots)
