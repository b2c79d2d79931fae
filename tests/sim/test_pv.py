"""PV: NOCT cell temperature, temperature-corrected efficiency, array power."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridledger.sim.pv import (
    ENERGYTWIN_CAMPUS_PV,
    PvArray,
    cell_temperature_noct_c,
    efficiency_temperature_corrected,
    pv_power_w,
)


def test_noct_cell_temperature_golden_values() -> None:
    # By hand: 25 + (45 - 20) / 800 * 800 = 50; 20 + 25 / 800 * 1000 = 51.25; no sun, no rise.
    t_cell = cell_temperature_noct_c([25.0, 20.0, 12.0], [800.0, 1000.0, 0.0], noct_c=45.0)
    np.testing.assert_allclose(t_cell, [50.0, 51.25, 12.0], atol=1e-12)


def test_cell_reaches_noct_at_the_noct_test_condition() -> None:
    assert float(cell_temperature_noct_c(20.0, 800.0, noct_c=47.5)) == pytest.approx(47.5)


def test_efficiency_golden_values() -> None:
    # By hand: 0.20 at 25 degC; 0.20 * (1 - 0.004 * 25) = 0.18 at 50 degC;
    # 0.20 * (1 + 0.004 * 15) = 0.212 at 10 degC.
    eta = efficiency_temperature_corrected([25.0, 50.0, 10.0], eta_ref=0.20, gamma_per_k=-0.004)
    np.testing.assert_allclose(eta, [0.20, 0.18, 0.212], rtol=1e-12)


def test_efficiency_is_floored_at_zero_for_absurd_temperatures() -> None:
    assert float(efficiency_temperature_corrected(400.0)) == 0.0


def test_energytwin_campus_array_defaults() -> None:
    assert ENERGYTWIN_CAMPUS_PV.n_panels == 200
    assert ENERGYTWIN_CAMPUS_PV.area_m2 == pytest.approx(400.0)
    assert ENERGYTWIN_CAMPUS_PV.rated_power_w == pytest.approx(80_000.0)


def test_pv_power_golden_values() -> None:
    # 800 W/m2, 25 degC air: t_cell 50, eta 0.18, P = 200 * 2 * 0.18 * 800 = 57,600 W.
    # 1000 W/m2, 20 degC air: t_cell 51.25, eta 0.2 * (1 - 0.004 * 26.25) = 0.179,
    # P = 400 * 0.179 * 1000 = 71,600 W.
    p_w = pv_power_w([800.0, 1000.0, 0.0], [25.0, 20.0, 25.0])
    np.testing.assert_allclose(p_w, [57_600.0, 71_600.0, 0.0], rtol=1e-12)


def test_pv_power_scales_with_the_number_of_panels() -> None:
    small = PvArray(n_panels=30)
    assert float(pv_power_w(800.0, 25.0, small)) == pytest.approx(57_600.0 * 30 / 200)


def test_negative_irradiance_and_bad_arrays_are_refused() -> None:
    with pytest.raises(ValueError, match="ghi"):
        pv_power_w(-1.0, 20.0)
    with pytest.raises(ValueError, match="finite"):
        pv_power_w(float("nan"), 20.0)
    with pytest.raises(ValueError, match="eta_ref"):
        PvArray(eta_ref=1.5)


@given(
    ghi=st.floats(1.0, 1_300.0),
    t_air_c=st.floats(-30.0, 45.0),
    warmer_k=st.floats(0.5, 20.0),
)
def test_hotter_air_means_less_power(ghi: float, t_air_c: float, warmer_k: float) -> None:
    cool = float(pv_power_w(ghi, t_air_c))
    hot = float(pv_power_w(ghi, t_air_c + warmer_k))
    assert hot < cool
    # The temperature correction is linear in t_cell, so the loss is exact.
    a = ENERGYTWIN_CAMPUS_PV
    assert cool - hot == pytest.approx(a.area_m2 * a.eta_ref * 0.004 * warmer_k * ghi, rel=1e-9)


@given(ghi=st.floats(0.0, 1_300.0), t_air_c=st.floats(-30.0, 45.0))
def test_pv_power_is_non_negative_and_below_the_cold_cell_bound(ghi: float, t_air_c: float) -> None:
    p_w = float(pv_power_w(ghi, t_air_c))
    assert p_w >= 0.0
    # A cell can't be colder than the air, so eta <= eta_ref * (1 + 0.004 * (25 - t_air)).
    a = ENERGYTWIN_CAMPUS_PV
    bound = a.area_m2 * a.eta_ref * (1 + 0.004 * (25.0 - t_air_c)) * ghi
    assert p_w <= bound * (1 + 1e-12) + 1e-9
