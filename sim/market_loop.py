"""The local market in the loop of a standalone run: the microgrids trade every interval.

After the physics of a run (sim/runner.py), the metered import and export of every microgrid
are summed over each market interval (``[market] interval_s``) into its net position, and
the community clears it by each mechanism of ``[market] mechanisms`` (market/community.py),
plus the baseline "none" (no local market). Buyers' and sellers' limit prices, for the
mechanisms that read them, are drawn once per microgrid from the run's seed: a buyer's limit
lies in the top ``bid_spread_frac`` of the band, a seller's in the bottom part above
feed-in + fee; the bid-free mechanism reads no limits (households send quantities only).

Outputs (tidy tables, token and kWh in the column names):
- ``market_households``: per run, mechanism and microgrid, energy bought and sold locally
  and from the grid, unserved and curtailed energy, payment, profit (money received) and
  cost = payment - profit (the paper's per-household outputs);
- ``market_intervals``: per run, mechanism and interval, the local price, local volume and
  grid exchange (the paper's Figures 7 and 10).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from gridledger.market.clearing import ClearingMechanism
from gridledger.market.community import (
    UNITS_PER_TOKEN,
    CommunityInterval,
    Feeder,
    HouseholdInterval,
    NoLocalMarket,
    Position,
    Tariffs,
    clear_community,
    units_per_kwh,
)
from gridledger.market.mechanisms import MECHANISMS, BidFreePrice
from gridledger.sim.errors import ScenarioError
from gridledger.sim.profiles import SECONDS_PER_HOUR
from gridledger.sim.scenario import MarketSpec, Scenario

LIMIT_STREAM = 16
"""Seed stream of the households' limit prices (the root seed's child 16)."""


@dataclass(frozen=True, slots=True)
class MarketTables:
    """The market outputs of one or more runs (see the module docstring)."""

    households: pd.DataFrame
    intervals: pd.DataFrame


def tariffs_of(spec: MarketSpec) -> Tariffs:
    """The scenario's tariffs in token base units per kWh."""
    return Tariffs(
        units_per_kwh(spec.price_floor_per_kwh),
        units_per_kwh(spec.price_ceiling_per_kwh),
        units_per_kwh(spec.network_charge_per_kwh),
    )


def feeder_of(spec: MarketSpec) -> Feeder:
    """The feeder limits of ``spec`` per market interval [Wh]."""
    hours = spec.interval_s / SECONDS_PER_HOUR

    def wh(limit_w: float | None) -> int | None:
        return None if limit_w is None else int(limit_w * hours)

    return Feeder(wh(spec.feeder_import_limit_w), wh(spec.feeder_export_limit_w))


def limit_prices(
    names: tuple[str, ...], tariffs: Tariffs, spread_frac: float, seed: int
) -> dict[str, tuple[int, int]]:
    """Each microgrid's (buy limit, sell limit) [units/kWh], drawn from ``seed``."""
    rng = np.random.default_rng([seed, LIMIT_STREAM])
    low = tariffs.feed_in_per_kwh + tariffs.grid_fee_per_kwh
    width = max(tariffs.retail_per_kwh - low, 0)
    draws = rng.uniform(0.0, spread_frac, size=(len(names), 2))
    return {
        name: (tariffs.retail_per_kwh - int(b * width), low + int(s * width))
        for name, (b, s) in zip(names, draws, strict=True)
    }


def interval_positions_wh(ticks: pd.DataFrame, dt_s: int, interval_s: int) -> pd.DataFrame:
    """Net position (import - export) [Wh] per interval (rows) and microgrid (columns) of
    one run's per-tick table."""
    if interval_s % dt_s:
        raise ScenarioError(
            "market.interval_s", f"must be a multiple of scenario.dt_s ({dt_s}), got {interval_s}"
        )
    net = ticks.assign(net_wh=ticks["import_wh"] - ticks["export_wh"])
    net = net.assign(interval=net["tick"] // (interval_s // dt_s))
    table = net.pivot_table(
        index="interval", columns="microgrid", values="net_wh", aggfunc="sum", sort=False
    )
    return table.round().astype(np.int64)


def interval_books(
    positions_wh: pd.DataFrame, limits: dict[str, tuple[int, int]] | None = None
) -> list[list[Position]]:
    """Every interval (row) of ``positions_wh`` as the households' positions, each with its
    buy or sell limit from ``limits`` (None: no limits, as the bid-free price reads none)."""
    names = [str(c) for c in positions_wh.columns]
    books = []
    for row in positions_wh.itertuples(index=False):
        positions = []
        for name, net in zip(names, row, strict=True):
            limit = None
            if limits is not None:
                limit = limits[name][0] if net > 0 else limits[name][1]
            positions.append(Position(name, int(net), limit))
        books.append(positions)
    return books


def clear_intervals(
    positions_wh: pd.DataFrame,
    mechanism: ClearingMechanism,
    tariffs: Tariffs,
    feeder: Feeder,
    limits: dict[str, tuple[int, int]] | None = None,
) -> list[CommunityInterval]:
    """Clear every interval (row) of ``positions_wh`` by ``mechanism``."""
    return [
        clear_community(positions, mechanism, tariffs, feeder)
        for positions in interval_books(positions_wh, limits)
    ]


def uniform_books(scenario: Scenario, run_ticks: pd.DataFrame) -> list[list[Position]]:
    """The books one run's uniform auction clears (the households' positions and drawn limits
    per interval): what `--ledger` settles on Market.sol."""
    spec = scenario.market
    if spec is None:
        raise ScenarioError("market", f"scenario {scenario.name!r} has no [market] table")
    tariffs = tariffs_of(spec)
    names = tuple(mg.name for mg in scenario.microgrids)
    limits = limit_prices(names, tariffs, spec.bid_spread_frac, scenario.seed)
    positions = interval_positions_wh(run_ticks, scenario.dt_s, spec.interval_s)
    return interval_books(positions, limits)


def _tables(
    run: str, mechanism: str, start_ts: int, interval_s: int, cleared: list[CommunityInterval]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    tok = float(UNITS_PER_TOKEN)
    rows: list[HouseholdInterval] = []
    for ci in cleared:
        rows.extend(ci.households)
    hh = pd.DataFrame(
        [
            (
                h.owner,
                h.bought_local_wh,
                h.sold_local_wh,
                h.bought_grid_wh,
                h.sold_grid_wh,
                h.unserved_wh,
                h.curtailed_wh,
                h.paid_units,
                h.received_units,
            )
            for h in rows
        ],
        columns=["microgrid", "bl", "sl", "bg", "sg", "un", "cu", "paid", "recv"],
    )
    sums = hh.groupby("microgrid", sort=False).sum()
    households = pd.DataFrame(
        {
            "run": run,
            "mechanism": mechanism,
            "microgrid": sums.index,
            "bought_local_kwh": sums["bl"].to_numpy() / 1000.0,
            "sold_local_kwh": sums["sl"].to_numpy() / 1000.0,
            "bought_grid_kwh": sums["bg"].to_numpy() / 1000.0,
            "sold_grid_kwh": sums["sg"].to_numpy() / 1000.0,
            "unserved_kwh": sums["un"].to_numpy() / 1000.0,
            "curtailed_kwh": sums["cu"].to_numpy() / 1000.0,
            "payment_token": sums["paid"].to_numpy() / tok,
            "profit_token": sums["recv"].to_numpy() / tok,
            "cost_token": (sums["paid"] - sums["recv"]).to_numpy() / tok,
        }
    )
    intervals = pd.DataFrame(
        {
            "run": run,
            "mechanism": mechanism,
            "interval": np.arange(len(cleared), dtype=np.int64),
            "time_ts": start_ts + interval_s * np.arange(len(cleared), dtype=np.int64),
            "price_per_kwh": [ci.price_per_kwh / tok for ci in cleared],
            "local_kwh": [ci.local_wh / 1000.0 for ci in cleared],
            "grid_import_kwh": [ci.grid_import_wh / 1000.0 for ci in cleared],
            "grid_export_kwh": [ci.grid_export_wh / 1000.0 for ci in cleared],
            "unserved_kwh": [ci.unserved_wh / 1000.0 for ci in cleared],
            "curtailed_kwh": [ci.curtailed_wh / 1000.0 for ci in cleared],
            "treasury_token": [ci.treasury_units / tok for ci in cleared],
        }
    )
    return households, intervals


def run_market(scenario: Scenario, ticks: pd.DataFrame) -> MarketTables | None:
    """Clear the market of every run in ``ticks`` by each mechanism of the scenario and the
    no-market baseline; None when the scenario has no market in the loop."""
    spec = scenario.market
    if spec is None or not spec.in_the_loop:
        return None
    tariffs, feeder = tariffs_of(spec), feeder_of(spec)
    names = tuple(mg.name for mg in scenario.microgrids)
    limits = limit_prices(names, tariffs, spec.bid_spread_frac, scenario.seed)
    mechanisms: list[ClearingMechanism] = [NoLocalMarket()]
    mechanisms += [MECHANISMS[name]() for name in spec.mechanisms]
    households, intervals = [], []
    for run, run_ticks in ticks.groupby("run", sort=False):
        positions = interval_positions_wh(run_ticks, scenario.dt_s, spec.interval_s)
        for mechanism in mechanisms:
            bids = None if isinstance(mechanism, BidFreePrice) else limits
            cleared = clear_intervals(positions, mechanism, tariffs, feeder, bids)
            hh, iv = _tables(str(run), mechanism.name, scenario.start_ts, spec.interval_s, cleared)
            households.append(hh)
            intervals.append(iv)
    return MarketTables(
        pd.concat(households, ignore_index=True), pd.concat(intervals, ignore_index=True)
    )


def market_totals(tables: MarketTables) -> pd.DataFrame:
    """Community totals per run and mechanism (sums over the microgrids)."""
    columns = [c for c in tables.households.columns if c.endswith(("_kwh", "_token"))]
    return tables.households.groupby(["run", "mechanism"], sort=False)[columns].sum()
