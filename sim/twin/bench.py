"""Benchmark of the day-ahead schedule: 27 and 1,000 households, with the chance constraints
and, in the same run, the same LP without them (planned on the forecast means).

    .venv/bin/python -m gridledger.sim.twin.bench [--sizes 27,1000] [--repeats 3]

prints JSON: per N, the wall and CPU time of building and solving the coordinated schedule
[s] (median of the repeats; one run from N = 1,000), HiGHS's own share, the LP's size, and
the ratio chance-constrained / plain. The N households cycle through lem27's 27, each load
and PV scaled by its own seeded factor (sim/twin/community.py `scaled`). Goals: 27
households < 2 s, 1,000 < 60 s. Recorded in BENCHMARKS.md (bench/lem_schedule.sh).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Sequence

from gridledger.sim.lem_cdt import prices_of
from gridledger.sim.scenarios import resolve
from gridledger.sim.twin.community import households_of, scaled
from gridledger.sim.twin.schedule import Schedule, Uncertainty, schedule_day

PLAIN = Uncertainty(pv_violation=None, load_violation=None)


def _run(n: int, uncertainty: Uncertainty, repeats: int) -> tuple[float, float, Schedule]:
    scenario = resolve("lem27")
    assert scenario.market is not None
    households, _, t_out = households_of(scenario, with_twin=True)
    prices = prices_of(scenario.market)
    community = scaled(households, n)
    times, cpu, last = [], [], None
    for _ in range(repeats):
        started, started_cpu = time.perf_counter(), time.process_time()
        last = schedule_day(community, prices, t_out, uncertainty, coordinated=True)
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    assert last is not None
    return statistics.median(times), statistics.median(cpu), last


def measure(sizes: Sequence[int], repeats: int) -> dict[str, dict[str, float]]:
    """The figures of every size (see the module docstring)."""
    out = {}
    for n in sizes:
        r = repeats if n < 1000 else 1
        chance_s, chance_cpu_s, chance = _run(n, Uncertainty(), r)
        plain_s, plain_cpu_s, plain = _run(n, PLAIN, r)
        out[str(n)] = {
            "households": n,
            "chance_constrained_s": round(chance_s, 4),
            "chance_constrained_highs_s": round(chance.solve_s, 4),
            "plain_s": round(plain_s, 4),
            "plain_highs_s": round(plain.solve_s, 4),
            "ratio": round(chance_s / plain_s, 3),
            "chance_constrained_cpu_s": round(chance_cpu_s, 4),
            "plain_cpu_s": round(plain_cpu_s, 4),
            "ratio_cpu": round(chance_cpu_s / plain_cpu_s, 3),
            "variables": chance.n_variables,
            "constraints": chance.n_constraints,
            "objective_chance_token": round(chance.objective_token, 4),
            "objective_plain_token": round(plain.objective_token, 4),
        }
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="27,1000", help="numbers of households (27,1000)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per figure below N=1000")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    print(json.dumps(measure(sizes, args.repeats), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
