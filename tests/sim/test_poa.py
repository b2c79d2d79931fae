"""Plane-of-array irradiance (sim.poa) and the tilted EnergyTwin array."""

from __future__ import annotations

import numpy as np
import pytest

from gridledger.sim.errors import ScenarioError
from gridledger.sim.exogenous import compute_exogenous
from gridledger.sim.poa import ArrayOrientation, poa_global_w_m2
from gridledger.sim.pv import pv_power_w
from gridledger.sim.scenario_load import scenario_from_dict
from gridledger.sim.scenarios import resolve
from gridledger.sim.weather import ghi_w_m2
from tests.sim.scenario_helpers import builtin_doc

EQUINOX_TS = 1_805_068_800  # 2027-03-15 00:00 UTC


def _day() -> tuple[np.ndarray, np.ndarray]:
    time_ts = EQUINOX_TS + 3600 * np.arange(24)
    ghi = ghi_w_m2(time_ts % 86_400, peak_ghi_w_m2=1000.0, sunrise_h=6.0, sunset_h=18.0)
    return time_ts, ghi


def test_a_horizontal_plane_sees_ghi() -> None:
    time_ts, ghi = _day()
    poa = poa_global_w_m2(ghi, time_ts, ArrayOrientation(10.0, 0.0, 0.0))
    np.testing.assert_allclose(poa, ghi, atol=1e-6)


def test_an_equator_facing_tilt_gains_at_noon_and_night_stays_dark() -> None:
    time_ts, ghi = _day()
    poa = poa_global_w_m2(ghi, time_ts, ArrayOrientation(45.0, 0.0, 45.0))
    assert poa[12] > 1.2 * ghi[12]  # low sun at 45 N: the tilted plane faces it
    assert np.all(poa[ghi == 0.0] == 0.0)


def test_energytwin_array_is_tilted_and_its_pv_follows_poa() -> None:
    scenario = resolve("energytwin")
    (campus,) = scenario.microgrids
    assert campus.pv is not None and campus.pv.tilt_deg == 10.0
    exo = compute_exogenous(scenario)
    assert scenario.weather.latitude_deg is not None
    orientation = ArrayOrientation(scenario.weather.latitude_deg, 0.0, 10.0)
    poa = poa_global_w_m2(exo.ghi_w_m2, exo.time_ts, orientation)
    expected = pv_power_w(poa, exo.t_air_c, campus.pv.array)
    np.testing.assert_allclose(exo.p_pv_w["campus"], expected)
    assert not np.allclose(expected, pv_power_w(exo.ghi_w_m2, exo.t_air_c, campus.pv.array))


def test_a_tilt_without_a_site_is_refused() -> None:
    doc = builtin_doc("energytwin")
    del doc["weather"]["latitude_deg"]
    with pytest.raises(ScenarioError, match=r"microgrids\[0\]\.pv\.tilt_deg: a tilted array"):
        scenario_from_dict(doc)
