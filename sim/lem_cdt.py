"""`gridledger reproduce lem-cdt`: the LEM-CDT study's tables beside ours.

Andriopoulos et al. 2023 (local energy market with consumer digital twins) compare five
cases on a German community of 27 households. Ours are the lem27 households
(sim/scenarios/lem27.toml: H0 loads, PV, batteries, tariffs) scheduled day-ahead by
sim/twin/schedule.py and cleared hour by hour by market/community.py:

| case               | schedule                                  | clearing  |
| no LEM             | each household alone, no twin             | none      |
| P2P w/o CDT        | each household alone, no twin             | p2p-mid   |
| proposed w/o CDT   | each household alone, no twin             | bid-free  |
| P2P with CDT       | each twin alone (flexibility, comfort)    | p2p-mid   |
| proposed with CDT  | twins coordinated through the community   | bid-free  |

Costs are what the households pay net over the day (grid and local purchases, minus sales
net of the grid fee), on the day-ahead planned positions; the chance constraints hold at
violation probability 0.05 for PV and load unless swept (Figures 8-9). Table 4 times one
interval's clearing of N random households: the bid-free price, our P2P mid-price, and an
optimal P2P matching (the welfare-maximising bilateral trades, an LP solved by HiGHS).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.optimize import linprog

from gridledger.market.community import (
    UNITS_PER_TOKEN,
    CommunityInterval,
    NoLocalMarket,
    Position,
    Tariffs,
    clear_community,
    community_book,
)
from gridledger.market.mechanisms import BidFreePrice, ClearingMechanism, P2PMidPrice
from gridledger.sim.errors import ScheduleError
from gridledger.sim.market_loop import clear_intervals, feeder_of, limit_prices, tariffs_of
from gridledger.sim.scenario import MarketSpec, Scenario
from gridledger.sim.twin.community import households_of
from gridledger.sim.twin.schedule import Prices, Schedule, Uncertainty, schedule_day

PAPER_TABLE1: dict[str, float] = {
    "no LEM": 20.091,
    "P2P w/o CDT": 18.792,
    "proposed w/o CDT": 17.490,
    "P2P with CDT": 16.351,
    "proposed with CDT": 15.612,
}
"""Total daily cost [EUR] (the paper's Table 1)."""
PAPER_TABLE2: dict[str, tuple[float, float]] = {
    "no LEM": (48.555, 36.670),
    "P2P with CDT": (37.087, 51.096),
    "proposed with CDT": (33.767, 58.196),
}
"""Payment and profit [EUR] (the paper's Table 2)."""
PAPER_TABLE4: dict[int, tuple[float, float]] = {
    10: (0.1, 0.004),
    20: (0.12, 0.0035),
    50: (0.47, 0.0065),
    100: (3.2, 0.017),
}
"""Clearing time [s] of P2P and of the proposed mechanism by N (the paper's Table 4)."""
TIMING_SIZES = (10, 20, 50, 100, 1000, 10_000)
OPTIMAL_P2P_MAX_N = 1000
"""Beyond this the optimal matching's N^2/4 pair variables are not built (N = 10,000 would
need 25 million)."""
ALPHAS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5)
"""Violation probabilities of Figures 8-9."""


@dataclass(frozen=True, slots=True)
class Case:
    label: str
    with_twin: bool
    coordinated: bool
    mechanism: ClearingMechanism


CASES = (
    Case("no LEM", False, False, NoLocalMarket()),
    Case("P2P w/o CDT", False, False, P2PMidPrice()),
    Case("proposed w/o CDT", False, False, BidFreePrice()),
    Case("P2P with CDT", True, False, P2PMidPrice()),
    Case("proposed with CDT", True, True, BidFreePrice()),
)


@dataclass(frozen=True, slots=True)
class CaseResult:
    """One case: its schedule, the hourly clearings and the day's totals [token]."""

    case: Case
    schedule: Schedule
    intervals: tuple[CommunityInterval, ...]

    def total_units(self, field: str) -> int:
        return sum(getattr(h, field) for ci in self.intervals for h in ci.households)

    @property
    def cost_token(self) -> float:
        return self.total_units("cost_units") / UNITS_PER_TOKEN


def _market(scenario: Scenario) -> MarketSpec:
    if scenario.market is None:
        raise ScheduleError(f"scenario {scenario.name!r} has no [market] table (tariffs)")
    return scenario.market


def prices_of(spec: MarketSpec) -> Prices:
    """The scheduler's tariffs and feeder limits per hour [Wh] from the market table."""
    feeder = feeder_of(replace(spec, interval_s=3600))
    return Prices(
        spec.price_floor_per_kwh, spec.price_ceiling_per_kwh, spec.network_charge_per_kwh,
        feeder.import_limit_wh, feeder.export_limit_wh,
    )  # fmt: skip


def run_case(scenario: Scenario, case: Case, uncertainty: Uncertainty) -> CaseResult:
    """Schedule the day for ``case`` and clear each hour by its mechanism."""
    spec = _market(scenario)
    households, _, t_out = households_of(scenario, case.with_twin)
    schedule = schedule_day(households, prices_of(spec), t_out, uncertainty, case.coordinated)
    positions = pd.DataFrame(np.rint(schedule.net_wh().T).astype(np.int64), columns=schedule.names)
    tariffs = tariffs_of(spec)
    limits = None
    if not isinstance(case.mechanism, BidFreePrice | NoLocalMarket):
        limits = limit_prices(schedule.names, tariffs, spec.bid_spread_frac, scenario.seed)
    cleared = clear_intervals(positions, case.mechanism, tariffs, feeder_of(spec), limits)
    return CaseResult(case, schedule, tuple(cleared))


def table1(results: Sequence[CaseResult]) -> pd.DataFrame:
    """Total daily cost, ours beside the paper's."""
    rows = [(r.case.label, PAPER_TABLE1[r.case.label], r.cost_token) for r in results]
    out = pd.DataFrame(rows, columns=["case", "paper_eur", "ours_token"]).set_index("case")
    base = out.iloc[0]
    out["paper_vs_no_lem_pct"] = 100.0 * (out["paper_eur"] / base["paper_eur"] - 1.0)
    out["ours_vs_no_lem_pct"] = 100.0 * (out["ours_token"] / base["ours_token"] - 1.0)
    return out


def table2(results: Sequence[CaseResult]) -> pd.DataFrame:
    """Payment and profit (money received), ours beside the paper's."""
    rows = []
    for r in results:
        if r.case.label in PAPER_TABLE2:
            paid, got = PAPER_TABLE2[r.case.label]
            rows.append((r.case.label, paid, r.total_units("paid_units") / UNITS_PER_TOKEN,
                         got, r.total_units("received_units") / UNITS_PER_TOKEN))  # fmt: skip
    columns = ["case", "paper_payment_eur", "ours_payment_token", "paper_profit_eur",
               "ours_profit_token"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns).set_index("case")


def table3(results: Sequence[CaseResult], scenario: Scenario) -> pd.DataFrame:
    """Mean battery SoC [%] at the end of each hour of the four market cases."""
    capacity = np.array([mg.battery.capacity_wh if mg.battery else np.nan
                         for mg in scenario.microgrids])  # fmt: skip
    columns = {}
    for r in results[1:]:
        soc = 100.0 * r.schedule.blocks["e"] / capacity[:, None]
        columns[r.case.label] = np.nanmean(soc, axis=0)
    return pd.DataFrame(columns, index=pd.RangeIndex(24, name="hour"))


def hourly(results: Sequence[CaseResult]) -> pd.DataFrame:
    """Per case and hour: the local price [token/kWh] and grid exchange [kWh] (Figs. 7, 10)."""
    rows = [
        (r.case.label, hour, ci.price_per_kwh / UNITS_PER_TOKEN, ci.local_wh / 1000.0,
         ci.grid_import_wh / 1000.0, ci.grid_export_wh / 1000.0)
        for r in results for hour, ci in enumerate(r.intervals)
    ]  # fmt: skip
    columns = ["case", "hour", "price_per_kwh", "local_kwh", "grid_import_kwh", "grid_export_kwh"]
    return pd.DataFrame(rows, columns=columns)


def figures_8_9(scenario: Scenario, alphas: Sequence[float] = ALPHAS) -> pd.DataFrame:
    """Total cost of "proposed with CDT" against the violation probability of generation
    (load held at 0.05) and of demand (generation held at 0.05)."""
    case = CASES[-1]
    rows = []
    for alpha in alphas:
        gen = run_case(scenario, case, Uncertainty(pv_violation=alpha, load_violation=0.05))
        dem = run_case(scenario, case, Uncertainty(pv_violation=0.05, load_violation=alpha))
        rows.append((alpha, gen.cost_token, dem.cost_token))
    return pd.DataFrame(rows, columns=["violation_probability", "cost_generation_token",
                                       "cost_demand_token"])  # fmt: skip


def random_book(n: int, tariffs: Tariffs, seed: int) -> list[Position]:
    """``n`` households with random net positions (0.1-2 kWh either way) and limits."""
    rng = np.random.default_rng([seed, n])
    net = rng.uniform(100, 2000, n).astype(np.int64) * rng.choice([-1, 1], n)
    limits = rng.integers(tariffs.feed_in_per_kwh, tariffs.retail_per_kwh + 1, n)
    return [
        Position(f"h{i}", int(q), int(p)) for i, (q, p) in enumerate(zip(net, limits, strict=True))
    ]


@dataclass(frozen=True, slots=True)
class Matching:
    """An optimal P2P matching: its welfare [units] and the size of its LP (one variable per
    crossing seller-buyer pair)."""

    welfare_units: float
    pair_variables: int


def optimal_p2p_matching(positions: Sequence[Position]) -> Matching:
    """The welfare-maximising bilateral matching of ``positions`` (every crossing seller-
    buyer pair a variable, each side within its quantity)."""
    buys = [(p.net_wh, p.limit_per_kwh or 0) for p in positions if p.net_wh > 0]
    sells = [(-p.net_wh, p.limit_per_kwh or 0) for p in positions if p.net_wh < 0]
    b_lim = np.array([b[1] for b in buys]) if buys else np.zeros(0)
    s_lim = np.array([s[1] for s in sells]) if sells else np.zeros(0)
    i, j = np.nonzero(s_lim[:, None] <= b_lim[None, :])
    if len(i) == 0:
        return Matching(0.0, 0)
    k = np.arange(len(i))
    ones = np.ones(len(i))
    a = sp.vstack(
        [
            sp.csr_matrix((ones, (i, k)), shape=(len(sells), len(i))),
            sp.csr_matrix((ones, (j, k)), shape=(len(buys), len(i))),
        ]
    )
    caps = np.concatenate([[s[0] for s in sells], [b[0] for b in buys]])
    result = linprog(-(b_lim[j] - s_lim[i]) / 1000.0, A_ub=a, b_ub=caps, method="highs")
    if result.status != 0:
        raise ScheduleError(f"optimal P2P matching: {result.message}")
    return Matching(-float(result.fun), len(i))


def crossing_pairs(positions: Sequence[Position]) -> int:
    """Seller-buyer pairs of ``positions`` whose limits cross: the optimal matching's LP
    variables (counted without building the LP)."""
    b_lim = np.array([p.limit_per_kwh or 0 for p in positions if p.net_wh > 0])
    s_lim = np.array([p.limit_per_kwh or 0 for p in positions if p.net_wh < 0])
    return int(sum(np.count_nonzero(b_lim >= s) for s in s_lim))


def proposed_trades(positions: Sequence[Position], tariffs: Tariffs) -> int:
    """How many trades the bid-free clearing of ``positions`` makes: one pass over the
    ranked orders, so at most one fewer than the orders."""
    orders = list(community_book(positions, tariffs).orders)
    return len(BidFreePrice().clear(orders, tariffs.band()).trades)


def _timed(fn: object, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return min(times)


def table4(tariffs: Tariffs, sizes: Sequence[int] = TIMING_SIZES, seed: int = 0) -> pd.DataFrame:
    """Clearing time [s] of one interval against N, best of 5 runs (as timeit; 1 run from
    N = 1,000)."""
    rows = []
    for n in sizes:
        book = random_book(n, tariffs, seed)
        repeats = 5 if n < 1000 else 1
        paper = PAPER_TABLE4.get(n, (np.nan, np.nan))
        optimal = (
            _timed(lambda b=book: optimal_p2p_matching(b), repeats)
            if n <= OPTIMAL_P2P_MAX_N else np.nan
        )  # fmt: skip
        mid = _timed(lambda b=book: clear_community(b, P2PMidPrice(), tariffs), repeats)
        free = _timed(lambda b=book: clear_community(b, BidFreePrice(), tariffs), repeats)
        rows.append((n, paper[0], optimal, mid, paper[1], free, crossing_pairs(book),
                     proposed_trades(book, tariffs)))  # fmt: skip
    columns = ["n", "paper_p2p_s", "ours_optimal_p2p_s", "ours_p2p_mid_s", "paper_proposed_s",
               "ours_proposed_s", "optimal_p2p_pairs", "proposed_trades"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns).set_index("n")


@dataclass(frozen=True, slots=True)
class Reproduction:
    table1: pd.DataFrame
    table2: pd.DataFrame
    table3: pd.DataFrame
    figures_8_9: pd.DataFrame
    table4: pd.DataFrame
    hourly: pd.DataFrame


def reproduce(
    scenario: Scenario, sizes: Sequence[int] = TIMING_SIZES, alphas: Sequence[float] = ALPHAS
) -> Reproduction:
    """Every table and figure of the study on ``scenario`` (lem27)."""
    results = [run_case(scenario, case, Uncertainty()) for case in CASES]
    return Reproduction(
        table1=table1(results),
        table2=table2(results),
        table3=table3(results, scenario),
        figures_8_9=figures_8_9(scenario, alphas),
        table4=table4(tariffs_of(_market(scenario)), sizes, scenario.seed),
        hourly=hourly(results),
    )


def write(rep: Reproduction, out_dir: Path) -> list[Path]:
    """The tables as CSV files and Figures 8-9 as a PNG in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files = []
    for name in ("table1", "table2", "table3", "figures_8_9", "table4", "hourly"):
        files.append(out_dir / f"{name}.csv")
        getattr(rep, name).to_csv(files[-1])
    from gridledger.sim.plots import plot_cost_vs_violation  # noqa: PLC0415 (matplotlib)

    files.append(plot_cost_vs_violation(rep.figures_8_9, out_dir / "figures_8_9.png"))
    return files
