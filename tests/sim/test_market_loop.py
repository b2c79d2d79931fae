"""The local market in the loop of `sim run lem27`: every hour, every mechanism, the grid
taking the rest; per-household and hourly outputs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from gridledger.sim.errors import ScenarioError
from gridledger.sim.market_loop import market_totals
from gridledger.sim.runner import run_scenario
from gridledger.sim.scenario_load import parse_scenario
from gridledger.sim.scenarios import resolve

LEM27 = Path(__file__).parents[2] / "sim" / "scenarios" / "lem27.toml"


def test_lem27_clears_every_hour_by_each_mechanism(tmp_path: Path) -> None:
    out = run_scenario(resolve("lem27"), tmp_path, show_progress=False, plots=False)
    assert out.market is not None
    hh, iv = out.market.households, out.market.intervals
    assert set(hh["mechanism"]) == {"none", "p2p-mid", "bid-free", "uniform"}
    assert len(hh) == 4 * 27 and len(iv) == 4 * 24
    totals = market_totals(out.market).loc["base"]
    # Energy balances: local bought = local sold; all of it found a buyer or the grid.
    assert list(totals["bought_local_kwh"]) == pytest.approx(list(totals["sold_local_kwh"]))
    need = totals["bought_local_kwh"] + totals["bought_grid_kwh"] + totals["unserved_kwh"]
    assert list(need) == pytest.approx([need.iloc[0]] * 4)
    assert totals.loc["none", "bought_local_kwh"] == 0
    for mechanism in ("p2p-mid", "bid-free", "uniform"):
        assert totals.loc[mechanism, "bought_local_kwh"] > 0
        assert totals.loc[mechanism, "cost_token"] < totals.loc["none", "cost_token"]
    # Prices stay inside the band wherever something traded locally.
    traded = iv[iv["local_kwh"] > 0]
    assert ((traded["price_per_kwh"] >= 0.082) & (traded["price_per_kwh"] <= 0.32)).all()
    # At midday the community's net export exceeds the 20 kW feeder: the same PV is
    # curtailed under every mechanism and the feeder carries exactly its limit.
    by_mechanism = iv.pivot(index="interval", columns="mechanism", values="curtailed_kwh")
    assert by_mechanism.max().max() > 0
    assert (by_mechanism.nunique(axis=1) == 1).all()
    net = iv["grid_export_kwh"] - iv["grid_import_kwh"]
    at_limit = list(net[iv["curtailed_kwh"] > 0])
    assert at_limit == pytest.approx([20.0] * len(at_limit), abs=1e-3)
    written = pd.read_csv(tmp_path / "market_households.csv")
    assert list(written["cost_token"]) == pytest.approx(list(hh["cost_token"]))
    assert (tmp_path / "market_intervals.csv").is_file()


def test_market_table_is_checked() -> None:
    text = LEM27.read_text()
    with pytest.raises(ScenarioError, match=r"market.mechanisms\[0\]: no mechanism 'p2p'"):
        parse_scenario(text.replace('mechanisms = ["p2p-mid"', 'mechanisms = ["p2p"'))
    with pytest.raises(
        ScenarioError, match=r"market.interval_s: must be a multiple of scenario.dt_s \(3600\)"
    ):
        parse_scenario(text.replace("interval_s = 3600", "interval_s = 900"))
    with pytest.raises(ScenarioError, match=r"network_charge_per_kwh: must be <= price_floor"):
        parse_scenario(
            text.replace("network_charge_per_kwh = 0.02", "network_charge_per_kwh = 0.1")
        )
