"""`gridledger reproduce`: a shortened EnergyTwin reproduction and the FED-MGDT one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gridledger.market.forecast.forest import ForecastConfig
from gridledger.node.cli import main
from gridledger.sim.errors import SimError
from gridledger.sim.fedmgdt import violation_sweep_wh
from gridledger.sim.reproduce.bidding import compare_bidding
from gridledger.sim.reproduce.energytwin import reproduce_energytwin, stress_table, table1
from gridledger.sim.reproduce.fedmgdt import checks, run_experiments
from gridledger.sim.reproduce.report import energytwin_report
from gridledger.sim.scenarios import resolve

FAST = ForecastConfig(n_trees=5, horizon_ticks=4, min_samples_leaf=10)


def test_a_shortened_energytwin_reproduction_writes_its_tables_and_figures(tmp_path: Path) -> None:
    rep = reproduce_energytwin(
        resolve("energytwin"), n_steps=180, forecast=FAST, show_progress=False
    )
    assert len(rep.runs) == 6
    predictive = rep.get("base", "predictive")
    assert predictive.kpis.from_tick == 168 and predictive.kpis.ticks == 12
    assert len(predictive.plan_s) == 6 and predictive.fallbacks == ()
    assert len(predictive.load_errors) == 6
    rows = {(r.quantity, r.case): r for r in table1(rep)}
    assert rows["CEBR", "predictive"].paper == 279.13
    assert rows["mean SoC", "baseline"].paper == 18.63
    assert rows["unserved", "baseline"].paper is None
    stress = {(r.quantity, r.case): r for r in stress_table(rep)}
    assert stress["scarcity", "load_spike predictive"].paper == 48.19
    assert stress["scarcity", "load_spike baseline"].paper is None

    report = energytwin_report(rep, tmp_path)
    names = sorted(p.name for p in report.files)
    assert [n for n in names if n.startswith("fig")] == [
        "fig06_cebr.png", "fig07_iebr.png", "fig08_soc.png", "fig09_reserve_scarcity.png",
        "fig10_forecast_error.png", "fig11_iebr_stress.png",
    ]  # fmt: skip
    assert "Table 1" in report.text and "279.13" in report.text and "MAE" in report.text
    results = json.loads((tmp_path / "results.json").read_text())
    assert {r["quantity"] for r in results["table2"]} >= {"MAE", "q05-q95 coverage"}


def test_the_activation_tick_must_leave_ticks_to_score() -> None:
    with pytest.raises(SimError, match="n_steps must exceed the activation tick 168, got 168"):
        reproduce_energytwin(resolve("energytwin"), n_steps=168, show_progress=False)


def test_cli_reproduce_energytwin_prints_the_paper_beside_ours(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["reproduce", "energytwin", "--n-steps", "172", "--no-plots", "--quiet"]
    argv += ["--planner", "robust"]
    assert main([*argv, "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Table 1: campus, nominal, after activation (tick 168)" in out
    assert "172.59" in out and "7.56" in out and "Stress cases" in out
    assert (tmp_path / "tables.txt").read_text().strip() == out.split("\n\nwrote")[0].strip()


def test_fedmgdt_reproduction_keeps_the_papers_shape(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    experiments = run_experiments()
    swept = violation_sweep_wh()
    assert [x.violation_kwh * 1000 for x in experiments] == pytest.approx(list(swept.values()))
    assert all(c.passed for c in checks(experiments))
    assert main(["reproduce", "fedmgdt", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.count("PASS") == 5 and "FAIL" not in out
    assert sorted(p.name for p in tmp_path.glob("fig*.png")) == [
        "fig02_pcc_vs_cap.png", "fig03_violation.png", "fig04_trust.png",
    ]  # fmt: skip


def test_planned_bids_fall_short_less_than_persistence() -> None:
    rows = compare_bidding(resolve("lem27"), n_steps=216, prosumers=1, forecast=FAST)
    by = {r.strategy: r for r in rows}
    assert by["planned"].sold_kwh > 0 and by["persistence"].sold_kwh > 0
    share = {s: r.shortfall_kwh / r.sold_kwh for s, r in by.items()}
    assert share["planned"] < share["persistence"]
    assert by["planned"].penalty == 0.3 * by["planned"].shortfall_kwh
