"""Market delivery shortfall of the prosumers of ``lem27``: persistence bids vs planned bids.

Every prosumer (a household with PV and a battery) offers or bids for each hourly interval
after the planner's activation (tick 168; the day of ``lem27`` is repeated for 14 days so
the forecaster has its 7-day history). Every order is taken as filled in full, so a sale is a
delivery obligation (docs/contracts.md): the seller's meter must export at least what it sold
in the interval; the shortfall is ``max(0, sold - exported)`` [Wh] and costs the deployment's
delivery penalty (0.3 token/kWh, ``node/ledger/deploy.py``).

- persistence (``market.planning.bidding.persistence_order``, the node's default rule
  without the cut of its sales to the export expected, docs/demo.md): the interval's order
  is the net energy metered in the previous interval; the battery runs self-consumption;
- planned (``market.planning.bidding``): the order is the planner's expected grid exchange,
  and the battery holds the meter at the committed power.

Both strategies see the same weather and load; the table reports per prosumer the energy
sold, the shortfall and the penalty, so a strategy cannot look good by selling nothing.
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass

import numpy as np
import pandas as pd
from tqdm import tqdm

from gridledger.contracts.enums import Side
from gridledger.market.forecast.forest import ForecastConfig
from gridledger.market.planning.bidding import OrderIntent, PlannedBidder, persistence_order
from gridledger.sim.model import GridModel
from gridledger.sim.scenario import Scenario
from gridledger.sim.tables import tick_frame

DELIVERY_PENALTY_PER_KWH = 0.3
"""Regulation's delivery penalty in the deployment defaults [token/kWh]."""
ACTIVATION_TICK = 168
STRATEGIES = ("persistence", "planned")


@dataclass(frozen=True, slots=True)
class Delivery:
    """One prosumer under one strategy, over the intervals after activation [kWh, token]."""

    strategy: str
    microgrid: str
    sold_kwh: float
    bought_kwh: float
    shortfall_kwh: float
    penalty: float


def _sold_shortfall(sells_wh: np.ndarray, net_wh: np.ndarray) -> tuple[float, float]:
    exported_wh = np.maximum(-net_wh, 0.0)
    shortfall = np.where(sells_wh > 0, np.maximum(sells_wh - exported_wh, 0.0), 0.0)
    return float(sells_wh.sum()) / 1e3, float(shortfall.sum()) / 1e3


def _net_wh(ticks: pd.DataFrame, name: str) -> np.ndarray:
    g = ticks[ticks["microgrid"] == name]
    return np.asarray((g["import_wh"] - g["export_wh"]).to_numpy(), dtype=np.float64)


def compare_bidding(
    scenario: Scenario,
    n_steps: int = 336,
    prosumers: int | None = None,
    forecast: ForecastConfig | None = None,
    show_progress: bool = False,
) -> list[Delivery]:
    """Persistence and planned deliveries of the first ``prosumers`` battery microgrids of
    ``scenario`` (default: all) over ``n_steps`` ticks."""
    scenario = dataclasses.replace(scenario, n_steps=n_steps)
    names = [mg.name for mg in scenario.microgrids if mg.battery is not None][:prosumers]
    fc = forecast or ForecastConfig(
        dt_s=scenario.dt_s, start_hour_h=(scenario.start_ts % 86_400) / 3600.0
    )
    out = []

    persistence = GridModel(scenario)
    persistence.run_builtin()
    ticks = tick_frame(persistence, "persistence")
    for name in names:
        net = _net_wh(ticks, name)
        intents = [persistence_order(net[k - 1]) for k in range(ACTIVATION_TICK, n_steps)]
        out.append(_delivery("persistence", name, intents, net[ACTIVATION_TICK:]))

    planned = GridModel(scenario)
    bidders = {
        n: PlannedBidder(planned.batteries[n].params, scenario.dt_s, forecast=fc) for n in names
    }
    intents_of: dict[str, list[OrderIntent]] = {n: [] for n in names}
    bar = tqdm(
        total=n_steps, desc="planned bids", unit="tick", file=sys.stderr,
        disable=not show_progress, leave=False,
    )  # fmt: skip
    while not planned.done:
        k = planned.tick
        obs = planned.observe()
        setpoints = planned.builtin_setpoints_w(obs)
        for name in names:
            load, pv = planned.exo.p_load_w[name], planned.exo.p_pv_w[name]
            intent = bidders[name].order(k, planned.batteries[name].e_wh_now, load, pv)
            if k >= ACTIVATION_TICK:
                intents_of[name].append(intent)
            setpoints[name] = bidders[name].setpoint_w(intent, obs.microgrids[name].p_net_w)
        planned.step(setpoints)
        bar.update(1)
    bar.close()
    ticks = tick_frame(planned, "planned")
    for name in names:
        net = _net_wh(ticks, name)[ACTIVATION_TICK:]
        out.append(_delivery("planned", name, intents_of[name], net))
    return out


def _delivery(strategy: str, name: str, intents: list[OrderIntent], net_wh: np.ndarray) -> Delivery:
    sells = np.array([i.quantity_wh if i.side is Side.SELL else 0 for i in intents], dtype=float)
    buys = np.array([i.quantity_wh if i.side is Side.BUY else 0 for i in intents], dtype=float)
    sold_kwh, shortfall_kwh = _sold_shortfall(sells, net_wh)
    return Delivery(
        strategy, name, sold_kwh, float(buys.sum()) / 1e3, shortfall_kwh,
        DELIVERY_PENALTY_PER_KWH * shortfall_kwh,
    )  # fmt: skip


def format_deliveries(rows: list[Delivery]) -> str:
    """Totals per strategy, then each prosumer."""
    lines = [
        "Market delivery after activation (every order filled; penalty 0.3 token/kWh)",
        "strategy     microgrid     sold kWh  shortfall kWh  shortfall %  penalty",
    ]
    for strategy in STRATEGIES:
        mine = [r for r in rows if r.strategy == strategy]
        sold = sum(r.sold_kwh for r in mine)
        short = sum(r.shortfall_kwh for r in mine)
        share = 100.0 * short / sold if sold else 0.0
        lines.append(
            f"{strategy:<12} {'all':<12} {sold:>9.2f}  {short:>13.2f}  {share:>11.1f}"
            f"  {sum(r.penalty for r in mine):>7.3f}"
        )
    for r in rows:
        share = 100.0 * r.shortfall_kwh / r.sold_kwh if r.sold_kwh else 0.0
        lines.append(
            f"{r.strategy:<12} {r.microgrid:<12} {r.sold_kwh:>9.2f}  {r.shortfall_kwh:>13.2f}"
            f"  {share:>11.1f}  {r.penalty:>7.3f}"
        )
    return "\n".join(lines)
