"""The pvlib option of the PV model: the same physics through the reference library."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridledger.sim.errors import ScenarioError
from gridledger.sim.exogenous import compute_exogenous
from gridledger.sim.pv import ENERGYTWIN_CAMPUS_PV, PvArray, pv_power_w
from gridledger.sim.pv_pvlib import pv_power_pvlib_w
from gridledger.sim.scenario_load import scenario_from_dict
from tests.sim.scenario_helpers import tiny_doc

pytest.importorskip("pvlib")


@settings(max_examples=100, deadline=None)
@given(
    ghi=st.lists(st.floats(0, 1_200), min_size=1, max_size=30),
    t_air=st.floats(-20, 45),
    noct=st.floats(40, 50),
    gamma=st.floats(-0.006, -0.002),
)
def test_pvlib_gives_the_builtin_power(
    ghi: list[float], t_air: float, noct: float, gamma: float
) -> None:
    array = PvArray(n_panels=12, panel_area_m2=1.7, eta_ref=0.21, gamma_per_k=gamma, noct_c=noct)
    ours = pv_power_w(np.array(ghi), np.full(len(ghi), t_air), array)
    theirs = pv_power_pvlib_w(np.array(ghi), np.full(len(ghi), t_air), array)
    np.testing.assert_allclose(theirs, ours, rtol=1e-12, atol=1e-9)


def test_golden_value_at_noct_conditions() -> None:
    # 800 W/m2 at 20 degC air: the cell reaches NOCT (45 degC), 20 K above 25 degC, so the
    # 80 kW (STC) campus array gives 80 kW * 0.8 * (1 - 0.004 * 20) = 58.88 kW.
    power = pv_power_pvlib_w(np.array([800.0]), np.array([20.0]), ENERGYTWIN_CAMPUS_PV)
    assert power[0] == pytest.approx(58_880.0, rel=1e-12)


def test_a_scenario_chooses_the_model_and_bad_names_are_refused() -> None:
    doc = tiny_doc()
    builtin = compute_exogenous(scenario_from_dict(doc))
    doc["microgrids"][0]["pv"]["model"] = "pvlib"
    with_pvlib = compute_exogenous(scenario_from_dict(doc))
    np.testing.assert_allclose(with_pvlib.p_pv_w["A"], builtin.p_pv_w["A"], rtol=1e-12)
    doc["microgrids"][0]["pv"]["model"] = "pvsyst"
    with pytest.raises(ScenarioError, match=r"microgrids\[0\]\.pv\.model: must be one of"):
        scenario_from_dict(doc)
