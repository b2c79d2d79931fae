"""What `gridledger reproduce` prints and writes: the tables as text and JSON, the figures.

``energytwin_report`` and ``fedmgdt_report`` return the printed text and write, to
``out_dir``: ``tables.txt`` (the same text), ``results.json`` (every row and check), the
per-tick table of every run (``ticks.csv``, EnergyTwin) and the PNG figures.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from gridledger.sim.reproduce import energytwin_figures, fedmgdt
from gridledger.sim.reproduce.compare import format_table
from gridledger.sim.reproduce.energytwin import (
    EnergyTwinReproduction,
    stress_table,
    table1,
    table2,
)


@dataclass(frozen=True, slots=True)
class Report:
    """The text printed and the files written."""

    text: str
    files: tuple[Path, ...]


def energytwin_report(rep: EnergyTwinReproduction, out_dir: Path, figures: bool = True) -> Report:
    """EnergyTwin's Table 1, Table 2 and stress table beside ours; Figures 6-11."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tables = {
        "table1": table1(rep),
        "table2": table2(rep),
        "stress": stress_table(rep),
    }
    titles = {
        "table1": "Table 1: campus, nominal, after activation (tick 168)",
        "table2": "Table 2: forecast error at the planning instants (nominal, predictive)",
        "stress": "Stress cases (the paper reports the predictive controller)",
    }
    parts = [format_table(titles[k], rows) for k, rows in tables.items()]
    timing = []
    for r in rep.runs:
        if r.controller == "predictive":
            fb = sum(n for _, n in r.fallbacks)
            timing.append(
                f"{r.run}: {len(r.plan_s)} planning instants, forecast "
                f"{1e3 * float(np.mean(r.forecast_s)):.1f} ms + plan "
                f"{1e3 * float(np.mean(r.plan_s)):.1f} ms each (mean), "
                f"{len(r.train_s)} trainings {float(np.mean(r.train_s)):.2f} s each, "
                f"{fb} fallbacks to the myopic rule"
            )
    parts.append("Planner\n" + "\n".join(timing))
    text = "\n\n".join(parts)
    files = [out_dir / "tables.txt", out_dir / "results.json", out_dir / "ticks.csv"]
    files[0].write_text(text + "\n", encoding="utf-8")
    payload = {
        "scenario": rep.scenario.name,
        "seed": rep.scenario.seed,
        "n_steps": rep.scenario.n_steps,
        **{k: [row.as_dict() for row in rows] for k, rows in tables.items()},
        "fallbacks": {f"{r.run} {r.controller}": dict(r.fallbacks) for r in rep.runs},
    }
    files[1].write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    pd.concat([r.ticks for r in rep.runs], ignore_index=True).to_csv(files[2], index=False)
    if figures:
        files.extend(energytwin_figures.write_figures(rep, out_dir))
    return Report(text, tuple(files))


def fedmgdt_report(out_dir: Path, figures: bool = True) -> Report:
    """FED-MGDT's E1-E4 table and qualitative checks (pass/fail); Figures 2-4."""
    out_dir.mkdir(parents=True, exist_ok=True)
    experiments = fedmgdt.run_experiments()
    checks = fedmgdt.checks(experiments)
    lines = [fedmgdt.format_experiments(experiments), "", "The paper's qualitative checks"]
    lines += [f"{'PASS' if c.passed else 'FAIL'}  {c.claim}: {c.detail}" for c in checks]
    text = "\n".join(lines)
    files = [out_dir / "tables.txt", out_dir / "results.json"]
    files[0].write_text(text + "\n", encoding="utf-8")
    payload = {
        "experiments": [
            {
                "name": x.name,
                "cap_kw": x.cap_w / 1e3,
                "violation_kwh": x.violation_kwh,
                "window_kwh": x.window_kwh,
                "compliance": x.compliance,
                "trust": x.trust,
                "penalty": x.penalty,
            }
            for x in experiments
        ],
        "checks": [{"claim": c.claim, "passed": c.passed, "detail": c.detail} for c in checks],
    }
    files[1].write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    if figures:
        files.extend(fedmgdt.write_figures(experiments, out_dir))
    return Report(text, tuple(files))
