"""The demo prosumers' meter history: the week before the demo day, for the planned strategy.

A prosumer bidding by its meter's forecast (``node.agents.strategies.Planned``) needs the
days its meter recorded before the market opened. The demo has one day, so its history is
simulated: the same scenario over the ``days`` days before it, under another root seed (other
weather and load noise than the demo day's), with the scenario's own battery rules (the
operator's coordinator for the capped MG1 copies), metered as the demo meters it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence

from gridledger.node.agents.ledger_client import LedgerClient
from gridledger.node.agents.market_clock import MarketClock
from gridledger.node.agents.strategies import (
    STRATEGIES,
    BiddingStrategy,
    MeterEnergy,
    Planned,
)
from gridledger.node.errors import NodeError
from gridledger.sim.model import GridModel
from gridledger.sim.scenario import Scenario
from gridledger.sim.tables import tick_frame

HISTORY_SEED_OFFSET = 1
"""The history's root seed is the demo's plus this."""
HISTORY_DAYS = 7
"""Days of meter history (the forecaster's training window)."""
BiddingFactory = Callable[[LedgerClient, Sequence[str]], BiddingStrategy | None]


def meter_history(
    scenario: Scenario, days: int, microgrids: Iterable[str]
) -> dict[str, list[MeterEnergy]]:
    """Each of ``microgrids``' metered steps over the ``days`` days before ``scenario``."""
    past = dataclasses.replace(
        scenario.with_seed(scenario.seed + HISTORY_SEED_OFFSET).with_start_ts(
            scenario.start_ts - days * 86_400
        ),
        n_steps=days * 86_400 // scenario.dt_s,
    )
    model = GridModel(past)
    model.run_builtin()
    ticks = tick_frame(model, "history")
    out: dict[str, list[MeterEnergy]] = {}
    for name in microgrids:
        g = ticks[ticks["microgrid"] == name]
        out[name] = [
            MeterEnergy(int(ts), int(imp), int(exp))
            for ts, imp, exp in zip(g["time_ts"], g["import_wh"], g["export_wh"], strict=True)
        ]
    return out


def demo_bidding(strategy: str, scenario: Scenario, days: int = HISTORY_DAYS) -> BiddingFactory:
    """The demo's strategy by name (``STRATEGIES``): for a node's relayer client and its
    microgrids, its bidding strategy (None: the agent's default, persistence)."""
    if strategy not in STRATEGIES:
        raise NodeError(f"unknown bidding strategy {strategy!r}; known: {', '.join(STRATEGIES)}")
    if strategy == "persistence":
        return lambda _client, _microgrids: None
    names = [mg.name for mg in scenario.microgrids]
    history = meter_history(scenario, days, names)

    def planned(client: LedgerClient, microgrids: Sequence[str]) -> BiddingStrategy:
        clock = MarketClock.of(client.contract("Market"))
        mine = {mg: history[mg] for mg in microgrids}
        return Planned(clock, step_s=scenario.dt_s, history_days=days, history=mine)

    return planned
