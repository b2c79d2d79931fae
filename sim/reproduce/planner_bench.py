"""Benchmark: forecast + plan per decision instant on the EnergyTwin campus, against the
myopic rule in the same run; training time per retrain. ``bench/planner.sh`` runs it and
BENCHMARKS.md records it.

Each repeat simulates the campus's nominal fortnight twice on the same weather and load:
once under the myopic rule, timing each decision (observe the tick, apply the rule), and once
under the rolling planner, timing each ``setpoint_w`` call at a planning instant (forecasts of
load and PV over the 4-tick horizon, the scenario tree and the LP; instants that retrain are
reported apart, as training time). Figures are medians over repeats of each run's median
(and 95th percentile) per decision [ms], wall clock and, for the planner, CPU time of the
process (the machine is shared: wall time includes waiting for a core); training time is per
retrain of one series [s].
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import numpy as np

from gridledger.market.forecast.forest import ForecastConfig
from gridledger.market.planning.rolling import RollingPlanner
from gridledger.sim.model import GridModel
from gridledger.sim.scenarios import resolve

MICROGRID = "campus"


def _one_repeat() -> dict[str, float]:
    scenario = resolve("energytwin")
    model = GridModel(scenario)
    myopic_s = []
    while not model.done:
        started = time.perf_counter()
        setpoints = model.builtin_setpoints_w(model.observe())
        myopic_s.append(time.perf_counter() - started)
        model.step(setpoints)

    model = GridModel(scenario)
    trace = model.batteries[MICROGRID]
    load, pv = model.exo.p_load_w[MICROGRID], model.exo.p_pv_w[MICROGRID]
    fc = ForecastConfig(dt_s=scenario.dt_s, start_hour_h=(scenario.start_ts % 86_400) / 3600)
    planner = RollingPlanner(trace.params, scenario.dt_s, 100_000.0, forecast=fc)
    planned_s, planned_cpu_s = [], []
    while not model.done:
        k = model.tick
        trainings = len(planner.load_forecaster.train_s) + len(planner.pv_forecaster.train_s)
        started, cpu = time.perf_counter(), time.process_time()
        setpoint = planner.setpoint_w(k, trace.e_wh_now, load, pv)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        retrained = (
            len(planner.load_forecaster.train_s) + len(planner.pv_forecaster.train_s) > trainings
        )
        if planner.decisions and planner.decisions[-1].tick == k and not retrained:
            planned_s.append(elapsed)
            planned_cpu_s.append(cpu)
        model.step({MICROGRID: setpoint})
    train = planner.load_forecaster.train_s + planner.pv_forecaster.train_s
    myopic = np.asarray(myopic_s[168:]) * 1e3
    planned = np.asarray(planned_s) * 1e3
    return {
        "myopic_ms_median": float(np.median(myopic)),
        "planned_ms_median": float(np.median(planned)),
        "planned_ms_p95": float(np.percentile(planned, 95)),
        "planned_cpu_ms_median": 1e3 * float(np.median(planned_cpu_s)),
        "forecast_ms_median": 1e3 * float(np.median([d.forecast_s for d in planner.decisions])),
        "plan_ms_median": 1e3 * float(np.median([d.plan_s for d in planner.decisions])),
        "train_s_median": float(np.median(train)),
        "train_s_max": float(np.max(train)),
        "decisions": float(len(planned)),
        "retrains": float(len(train)),
        "fallbacks": float(planner.fallback_count),
    }


def measure(repeats: int = 3) -> dict[str, float]:
    """The figures (module docstring), medians over ``repeats`` runs."""
    runs = []
    for i in range(repeats):
        print(f"[bench planner] repeat {i + 1}/{repeats}", file=sys.stderr, flush=True)
        runs.append(_one_repeat())
    out = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    out["planned_vs_myopic"] = out["planned_ms_median"] / out["myopic_ms_median"]
    out["goal_ms"] = 50.0
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m gridledger.sim.reproduce.planner_bench [--repeats N] [--json]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    figures = measure(args.repeats)
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        for key, value in figures.items():
            print(f"{key:<20} {value:>12.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
