"""sim/ physics refuses values outside its domain with a SimError (PhysicsInputError), as
sim/errors.py promises, so the CLI and the node catch one type; the message names the value."""

from __future__ import annotations

import numpy as np
import pytest

from gridledger.sim.battery import BatteryParams, battery_step
from gridledger.sim.errors import PhysicsInputError, SimError
from gridledger.sim.pcc import metered_energy_wh
from gridledger.sim.weather import ghi_w_m2


def test_a_negative_step_is_a_sim_error() -> None:
    with pytest.raises(SimError, match=r"dt_s must be > 0, got -60"):
        metered_energy_wh(np.array([1000.0]), -60.0)


def test_a_bad_battery_is_a_sim_error() -> None:
    with pytest.raises(PhysicsInputError, match=r"capacity_wh must be > 0, got 0"):
        BatteryParams(capacity_wh=0.0)
    with pytest.raises(PhysicsInputError, match=r"dt_s must be > 0, got 0"):
        battery_step(BatteryParams(), 50_000.0, 1_000.0, 0.0)


def test_a_bad_day_is_a_sim_error_and_still_a_value_error() -> None:
    with pytest.raises(PhysicsInputError, match=r"got 20.0, 6.0") as caught:
        ghi_w_m2(np.array([0.0]), sunrise_h=20.0, sunset_h=6.0)
    assert isinstance(caught.value, ValueError)
