"""The demo's meter history for planned bids and its delivery summary table."""

from __future__ import annotations

import dataclasses

import pytest

from gridledger.node.demo.delivery import DeliveryRow, format_rows
from gridledger.node.demo.history import demo_bidding, meter_history
from gridledger.node.errors import NodeError
from gridledger.sim.model import GridModel
from gridledger.sim.scenarios import resolve
from gridledger.sim.tables import tick_frame


def test_the_history_is_the_days_before_the_demo_under_other_noise() -> None:
    scenario = resolve("fedmgdt_demo")
    history = meter_history(scenario, 1, ["MG1-E1", "MG2"])
    steps = history["MG2"]
    assert len(steps) == 1440 and len(history["MG1-E1"]) == 1440
    assert steps[0].start_ts == scenario.start_ts - 86_400
    assert steps[-1].start_ts == scenario.start_ts - 60  # right up to the demo day
    day = GridModel(dataclasses.replace(scenario, n_steps=1440))
    day.run_builtin()
    ticks = tick_frame(day, "day")
    demo_imports = ticks[ticks["microgrid"] == "MG2"]["import_wh"].tolist()
    assert [s.import_wh for s in steps] != demo_imports  # not the demo day replayed


def test_an_unknown_strategy_is_refused_with_the_known_ones() -> None:
    with pytest.raises(
        NodeError, match="unknown bidding strategy 'psychic'; known: persistence, planned"
    ):
        demo_bidding("psychic", resolve("fedmgdt_demo"))
    assert demo_bidding("persistence", resolve("fedmgdt_demo"))(None, ()) is None  # type: ignore[arg-type]


def test_the_delivery_summary_lists_each_microgrid_and_the_totals() -> None:
    rows = [
        DeliveryRow("MG1-E1", 3, 2.5, 0.25, 0.075, 0.0063, 3, 0.42),
        DeliveryRow("MG2", 0, 0.0, 0.0, 0.0, None, 0, 0.0),
    ]
    lines = format_rows(rows).splitlines()
    row = ["MG1-E1", "3", "2.500", "0.250", "0.075", "0.0063", "3", "0.420"]
    assert lines[2].split() == row
    assert lines[3].split() == ["MG2", "0", "0.000", "0.000", "0.000", "-", "0", "0.000"]
    assert lines[4].split() == ["all", "3", "2.500", "0.250", "0.075", "3", "0.420"]
