"""EnergyTwin KPIs after activation (sim.kpis), each against a hand-computed series."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from gridledger.sim.errors import ScenarioError, SimError
from gridledger.sim.kpis import EnergyTwinKpis, energytwin_kpis
from gridledger.sim.model import GridModel
from gridledger.sim.runner import simulate_run, tables_of
from gridledger.sim.scenario_load import scenario_from_dict
from gridledger.sim.scenarios import resolve
from tests.sim.scenario_helpers import builtin_doc

# Six hourly ticks; scoring starts at tick 2, so ticks 0-1 must not count anywhere.
LOAD_W = [9e9, 9e9, 10_000.0, 20_000.0, 0.0, 40_000.0]
PV_W = [9e9, 0.0, 30_000.0, 0.0, 5_000.0, 0.0]
BATTERY_W = [9e9, 9e9, -10_000.0, 10_000.0, -5_000.0, 20_000.0]
CURTAILED_W = [9e9, 0.0, 10_000.0, 0.0, 0.0, 0.0]
UNSERVED_W = [9e9, 0.0, 0.0, 0.0, 0.0, 2_000.0]
# p_pcc = load - pv - battery + curtailed - unserved
PCC_W = [9e9, 9e9, 0.0, 10_000.0, 0.0, 18_000.0]
SOC_PCT = [99.0, 60.0, 70.0, 60.0, 65.0, 4.0]


def _kpis(**overrides: object) -> EnergyTwinKpis:
    args: dict[str, object] = dict(
        p_load_w=LOAD_W,
        p_pv_w=PV_W,
        p_battery_w=BATTERY_W,
        p_pcc_w=PCC_W,
        soc_pct=SOC_PCT,
        initial_soc_pct=50.0,
        dt_s=3600,
        p_curtailed_w=CURTAILED_W,
        p_unserved_w=UNSERVED_W,
        from_tick=2,
    )
    args.update(overrides)
    return energytwin_kpis(**args)  # type: ignore[arg-type]


def test_cebr_is_cumulative_local_supply_over_grid_import() -> None:
    # supply (kWh): t2 30-10=20, t3 10 (discharge), t4 5, t5 20; import 0, 10, 0, 18
    k = _kpis()
    np.testing.assert_allclose(
        k.cebr_series_pct, [np.nan, 300.0, 350.0, 100.0 * 55 / 28], equal_nan=True
    )
    assert k.cebr_pct == pytest.approx(100.0 * 55 / 28)


def test_iebr_counts_only_ticks_with_grid_consumption() -> None:
    k = _kpis()
    assert np.isnan(k.iebr_series_pct[[0, 2]]).all()  # ticks 2 and 4 import nothing
    assert k.iebr_mean_pct == pytest.approx((100.0 + 100.0 * 20 / 18) / 2)


def test_soc_bri_scarcity_efc_unserved() -> None:
    k = _kpis()
    assert k.ticks == 4
    assert k.soc_mean_pct == pytest.approx((70 + 60 + 65 + 4) / 4)
    assert k.bri_pct == pytest.approx(75.0)  # 70, 60, 65 >= 50
    assert k.scarcity_pct == pytest.approx(25.0)  # tick 5: SoC 4 % and no PV
    # dSoC from the SoC at the end of tick 1 (60): 10 + 10 + 5 + 61 = 86
    assert k.efc == pytest.approx(86 / 200)
    assert k.unserved_kwh == pytest.approx(2.0)


def test_low_soc_with_pv_is_not_scarce() -> None:
    k = _kpis(p_pv_w=[0.0, 0.0, 30_000.0, 0.0, 5_000.0, 1.0])
    assert k.scarcity_pct == 0.0


def test_from_tick_zero_starts_from_the_initial_soc() -> None:
    k = _kpis(
        from_tick=0, p_load_w=[1.0] * 6, p_pv_w=[0.0] * 6, p_battery_w=[0.0] * 6, p_pcc_w=[1.0] * 6
    )
    assert k.efc == pytest.approx((49 + 39 + 10 + 10 + 5 + 61) / 200)


def test_mismatched_series_are_refused() -> None:
    with pytest.raises(SimError, match=r"soc_pct has shape \(5,\), p_load_w has \(6,\)"):
        _kpis(soc_pct=SOC_PCT[:5])
    with pytest.raises(SimError, match=r"from_tick must be in \[0, 6\) for 6 ticks, got 6"):
        _kpis(from_tick=6)


def test_the_run_summary_scores_energytwin_after_activation() -> None:
    scenario = resolve("energytwin")
    assert scenario.kpi_from_step == 168
    model = simulate_run(scenario, "base")
    ticks, summary = tables_of([("base", model)])
    row = summary.iloc[0]
    soc = ticks["soc_pct"].to_numpy()
    assert row["kpi_from_tick"] == 168
    assert row["soc_mean_pct"] == pytest.approx(soc[168:].mean())
    assert row["soc_mean_pct"] != pytest.approx(soc.mean())
    assert row["cebr_pct"] > 100.0  # local supply over grid import
    # A run that stops before the activation has nothing to score yet.
    short = GridModel(dataclasses.replace(scenario, n_steps=100))
    short.run_builtin()
    assert math.isnan(tables_of([("base", short)])[1].iloc[0]["soc_mean_pct"])


def test_kpi_from_step_must_be_inside_the_run() -> None:
    doc = builtin_doc("energytwin")
    doc["scenario"]["kpi_from_step"] = 336
    with pytest.raises(ScenarioError, match=r"scenario\.kpi_from_step: must be <= 335"):
        scenario_from_dict(doc)
