"""Standalone runs: FED-MGDT's shape, reproducibility, tidy outputs, balance and bounds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridledger.node.cli import main
from gridledger.sim.fedmgdt import Mg1Config, simulate_mg1_day, violation_wh
from gridledger.sim.runner import run_scenario, simulate_run, tables_of
from gridledger.sim.scenario_load import scenario_from_dict
from gridledger.sim.scenarios import resolve
from gridledger.sim.tables import TICK_COLUMNS, grid_limited
from tests.sim.scenario_helpers import tiny_doc

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def fedmgdt_out(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    out = tmp_path_factory.mktemp("fedmgdt")
    outputs = run_scenario(resolve("fedmgdt"), out, show_progress=False)
    return out, outputs.summary


def test_mg1_is_the_fedmgdt_module_day_for_every_cap() -> None:
    scenario = resolve("fedmgdt")
    for run in scenario.default_runs:
        model = simulate_run(scenario, run)
        cap_w = model.scenario.contracts[0].cap_w
        ticks, _ = tables_of([(run, model)])
        mg1 = ticks[ticks["microgrid"] == "MG1"]
        day = simulate_mg1_day(cap_w, Mg1Config())
        np.testing.assert_array_equal(mg1["p_pcc_w"].to_numpy(), day.p_pcc_w)
        np.testing.assert_array_equal(mg1["import_wh"].to_numpy(), day.import_wh)
        assert mg1["violation_wh"].sum() == pytest.approx(violation_wh(day, cap_w), rel=1e-12)


def test_violation_energy_has_the_papers_shape(fedmgdt_out: tuple[Path, pd.DataFrame]) -> None:
    _, summary = fedmgdt_out
    mg1 = summary[summary["microgrid"] == "MG1"].set_index("run")
    e1, e2, e3, e4 = (mg1.loc[r, "violation_kwh"] for r in ("E1", "E2", "E3", "E4"))
    assert e1 > e2 > e3 >= e4
    assert e2 > 1.0  # non-zero at 6 kW: the 6 kW battery can't cover the whole excess
    assert e3 < 0.02 * e2  # the sharp drop between 6 and 8 kW
    assert e4 == pytest.approx(0.0, abs=1e-3)
    assert list(mg1["cap_kw"]) == [4.0, 6.0, 8.0, 10.0]
    # Monitor-only microgrids have no contract and no battery to dispatch.
    others = summary[summary["microgrid"] != "MG1"]
    assert (others["violation_kwh"] == 0).all() and others["soc_mean_pct"].isna().all()


def test_outputs_are_tidy_tables_and_plots(fedmgdt_out: tuple[Path, pd.DataFrame]) -> None:
    out, _ = fedmgdt_out
    ticks = pd.read_csv(out / "ticks.csv")
    assert tuple(ticks.columns) == TICK_COLUMNS
    assert len(ticks) == 4 * 1440 * 3  # runs x ticks x microgrids
    assert not ticks.duplicated(["run", "tick", "microgrid"]).any()
    parquet = pd.read_parquet(out / "ticks.parquet")
    pd.testing.assert_frame_equal(
        parquet.drop(columns="battery_limit"),
        ticks.drop(columns="battery_limit"),
        check_dtype=False,
    )
    for name in ("pcc_vs_cap.png", "soc.png", "pv_load.png"):
        data = (out / name).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 10_000
    assert (out / "summary.parquet").is_file()
    assert '"status": "complete"' in (out / "run.json").read_text()


def test_same_seed_same_numbers_other_seed_other_numbers(tmp_path: Path) -> None:
    scenario = resolve("energytwin")
    a = run_scenario(scenario, tmp_path / "a", ["base"], show_progress=False, plots=False)
    b = run_scenario(scenario, tmp_path / "b", ["base"], show_progress=False, plots=False)
    assert (tmp_path / "a" / "ticks.csv").read_bytes() == (
        tmp_path / "b" / "ticks.csv"
    ).read_bytes()
    pd.testing.assert_frame_equal(a.ticks, b.ticks)
    c = run_scenario(scenario.with_seed(1), tmp_path / "c", ["base"], show_progress=False)
    assert not np.allclose(a.ticks["p_load_w"], c.ticks["p_load_w"])


def test_stress_variants_change_only_their_span() -> None:
    scenario = resolve("energytwin")
    ticks, summary = tables_of([(r, simulate_run(scenario, r)) for r in scenario.default_runs])
    base, outage, spike = (ticks[ticks["run"] == r].reset_index() for r in scenario.default_runs)
    span = slice(168, 216)
    assert (outage["p_pv_w"][span] == 0).all() and base["p_pv_w"][span].max() > 50_000
    np.testing.assert_array_equal(outage["p_pv_w"][:168], base["p_pv_w"][:168])
    np.testing.assert_array_equal(spike["p_load_w"][185:189], 3.0 * base["p_load_w"][185:189])
    # The spike pushes the campus against its 100 kW grid limit: load goes unserved.
    assert spike["p_unserved_w"].max() > 0 and base["p_unserved_w"].max() == 0
    assert ticks["p_pcc_w"].abs().max() <= 100_000.0
    by_run = summary.set_index("run")
    assert by_run.loc["pv_outage", "import_kwh"] > by_run.loc["base", "import_kwh"]
    # EnergyTwin's KPIs respond to the outage: more scarcity, lower SoC, fewer cycles.
    assert by_run.loc["pv_outage", "scarcity_pct"] > by_run.loc["base", "scarcity_pct"] > 0
    assert by_run.loc["pv_outage", "bri_pct"] < by_run.loc["base", "bri_pct"]
    assert by_run.loc["pv_outage", "efc"] < by_run.loc["base", "efc"]


def test_lem27_runs_27_households() -> None:
    model = simulate_run(resolve("lem27"), "base")
    ticks, summary = tables_of([("base", model)])
    assert len(ticks) == 27 * 24 and len(summary) == 27
    assert summary["soc_mean_pct"].notna().sum() == 12


def _check_balance_and_bounds(ticks: pd.DataFrame, socs: dict[str, tuple[float, float]]) -> None:
    served = ticks["p_load_w"] - ticks["p_unserved_w"]
    used_pv = ticks["p_pv_w"] - ticks["p_curtailed_w"]
    balance = served - used_pv - ticks["p_battery_w"]
    np.testing.assert_allclose(ticks["p_pcc_w"], balance, rtol=0, atol=1e-6)
    for name, (lo, hi) in socs.items():
        soc = ticks.loc[ticks["microgrid"] == name, "soc_pct"]
        assert soc.between(lo - 1e-9, hi + 1e-9).all()


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    capacity_wh=st.floats(500.0, 50_000.0),
    max_power_w=st.floats(0.0, 20_000.0),
    cap_w=st.floats(0.0, 12_000.0),
    limit_w=st.floats(500.0, 20_000.0),
    soc=st.tuples(st.floats(0.0, 45.0), st.floats(55.0, 100.0)),
)
def test_balance_closes_and_soc_stays_in_bounds_every_tick(
    seed: int,
    capacity_wh: float,
    max_power_w: float,
    cap_w: float,
    limit_w: float,
    soc: tuple[float, float],
) -> None:
    doc = tiny_doc(seed=seed)
    battery = doc["microgrids"][0]["battery"]
    battery.update(capacity_wh=capacity_wh, max_power_w=max_power_w)
    battery.update(soc_min_pct=soc[0], soc_max_pct=soc[1], initial_soc_pct=50.0)
    doc["microgrids"][1]["grid_limit_w"] = limit_w
    doc["contracts"][0]["cap_w"] = cap_w
    scenario = scenario_from_dict(doc)
    ticks, _ = tables_of([("base", simulate_run(scenario, "base"))])
    _check_balance_and_bounds(ticks, {"A": soc, "B": (0.0, 100.0)})
    b = ticks[ticks["microgrid"] == "B"]
    assert b["p_pcc_w"].abs().max() <= limit_w + 1e-6


def test_builtin_scenarios_balance_and_bounds() -> None:
    for name in ("energytwin", "lem27"):
        scenario = resolve(name)
        runs = [(r, simulate_run(scenario, r)) for r in scenario.default_runs]
        ticks, _ = tables_of(runs)
        bounds = {
            m.name: (m.battery.soc_min_pct, m.battery.soc_max_pct)
            for m in scenario.microgrids
            if m.battery is not None
        }
        _check_balance_and_bounds(ticks, bounds)


def test_grid_limit_golden_values() -> None:
    pcc, unserved, curtailed = grid_limited(
        np.array([120.0, -130.0, -130.0, 50.0]), np.array([0.0, 200.0, 10.0, 0.0]), 100.0
    )
    np.testing.assert_array_equal(unserved, [20.0, 0.0, 0.0, 0.0])
    np.testing.assert_array_equal(curtailed, [0.0, 30.0, 10.0, 0.0])
    np.testing.assert_array_equal(pcc, [100.0, -100.0, -120.0, 50.0])


def test_cli_runs_a_scenario_and_refuses_a_bad_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    code = main(["sim", "run", "fedmgdt", "--out", str(out), "--run", "E2", "--quiet"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "E2" in printed and "4.109" in printed  # MG1's violation energy at 6 kW [kWh]
    assert (out / "ticks.parquet").is_file() and (out / "pcc_vs_cap.png").is_file()
    bad = tmp_path / "bad.toml"
    bad.write_text(
        (Path(resolve("fedmgdt").source or "").read_text()).replace(
            "capacity_wh = 18000.0", "capacity_wh = -5"
        ),
        encoding="utf-8",
    )
    assert main(["sim", "run", str(bad), "--out", str(tmp_path / "bad")]) == 1
    assert "microgrids[0].battery.capacity_wh: must be > 0, got -5" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()
