"""Battery: hand-computed steps, clipping by power and energy, invariants over random use."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridledger.sim.battery import (
    ENERGYTWIN_BATTERY,
    BatteryLimit,
    BatteryParams,
    battery_step,
    self_discharge_per_step,
    soc_pct,
)

# A deliberately lopsided battery so that a swapped efficiency or limit shows in the numbers:
# 10 kWh, 5 kW each way, eta 0.9 in / 0.8 out, 1 % self-discharge per step, SoC 10-90 %.
HAND = BatteryParams(
    capacity_wh=10_000.0,
    max_charge_w=5_000.0,
    max_discharge_w=5_000.0,
    eta_charge=0.9,
    eta_discharge=0.8,
    self_discharge_per_step=0.01,
    soc_min_pct=10.0,
    soc_max_pct=90.0,
)


def test_discharge_step_by_hand() -> None:
    # E 5000 Wh: self-discharge 50 Wh -> 4950; 2 kW for 0.5 h withdraws 2000 * 0.5 / 0.8 =
    # 1250 Wh -> 3700 Wh.
    step = battery_step(HAND, 5_000.0, 2_000.0, 1_800.0)
    assert step.p_delivered_w == pytest.approx(2_000.0)
    assert step.e_wh == pytest.approx(3_700.0, abs=1e-9)
    assert step.e_self_discharge_wh == pytest.approx(50.0)
    assert step.p_clipped_w == 0.0
    assert step.limit is BatteryLimit.NONE


def test_charge_step_by_hand() -> None:
    # 4950 Wh after self-discharge; 3 kW for 1 h stores 0.9 * 3000 = 2700 Wh -> 7650 Wh.
    step = battery_step(HAND, 5_000.0, -3_000.0, 3_600.0)
    assert step.p_delivered_w == pytest.approx(-3_000.0)
    assert step.e_wh == pytest.approx(7_650.0, abs=1e-9)
    assert step.p_clipped_w == 0.0


def test_power_limit_clips_and_reports_the_excess() -> None:
    # 8 kW asked, 5 kW allowed for one minute: 4950 - 5000 / 60 / 0.8 = 4845.833... Wh.
    step = battery_step(HAND, 5_000.0, 8_000.0, 60.0)
    assert step.p_delivered_w == 5_000.0
    assert step.p_clipped_w == 3_000.0
    assert step.limit is BatteryLimit.POWER
    assert step.e_wh == pytest.approx(4_950.0 - 5_000.0 / 60.0 / 0.8, abs=1e-9)
    charge = battery_step(HAND, 5_000.0, -7_000.0, 60.0)
    assert charge.p_delivered_w == -5_000.0
    assert charge.p_clipped_w == -2_000.0
    assert charge.limit is BatteryLimit.POWER


def test_energy_limit_stops_discharge_at_the_lower_bound() -> None:
    # E 1200 Wh: self-discharge 12 -> 1188; 188 Wh above the 1000 Wh floor yield
    # 188 * 0.8 = 150.4 Wh at the terminals over 1 h, i.e. 150.4 W.
    step = battery_step(HAND, 1_200.0, 5_000.0, 3_600.0)
    assert step.p_delivered_w == pytest.approx(150.4)
    assert step.p_clipped_w == pytest.approx(5_000.0 - 150.4)
    assert step.e_wh == pytest.approx(1_000.0, abs=1e-9)
    assert step.limit is BatteryLimit.ENERGY


def test_energy_limit_stops_charge_at_the_upper_bound() -> None:
    # E 8900 Wh: self-discharge 89 -> 8811; 189 Wh of room at eta 0.9 takes 210 W for 1 h.
    step = battery_step(HAND, 8_900.0, -5_000.0, 3_600.0)
    assert step.p_delivered_w == pytest.approx(-210.0)
    assert step.p_clipped_w == pytest.approx(-4_790.0)
    assert step.e_wh == pytest.approx(9_000.0, abs=1e-9)
    assert step.limit is BatteryLimit.ENERGY


def test_self_discharge_stops_at_the_reserve() -> None:
    step = battery_step(HAND, 1_000.0, 0.0, 3_600.0)
    assert step.e_wh == 1_000.0
    assert step.e_self_discharge_wh == 0.0
    idle = battery_step(HAND, 1_005.0, 0.0, 3_600.0)
    assert idle.e_wh == pytest.approx(1_000.0)


def test_self_discharge_rescaling_compounds_to_the_hourly_rate() -> None:
    per_minute = self_discharge_per_step(1e-3, 60.0)
    # Compounding asks slightly more of each step than a linear split of the hourly loss.
    assert per_minute > 1e-3 / 60.0
    assert (1.0 - per_minute) ** 60 == pytest.approx(1.0 - 1e-3, rel=1e-12)
    assert self_discharge_per_step(1e-3, 3_600.0) == pytest.approx(1e-3, rel=1e-12)


def test_energytwin_defaults() -> None:
    b = ENERGYTWIN_BATTERY
    assert b.capacity_wh == 100_000.0
    assert b.max_discharge_w == b.max_charge_w == 100_000.0  # C-rate 1
    assert b.eta_charge == b.eta_discharge == 0.95
    assert b.self_discharge_per_step == 1e-3
    assert soc_pct(25_000.0, b.capacity_wh) == 25.0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"capacity_wh": 0.0}, "capacity_wh"),
        ({"max_charge_w": -1.0}, "power limits"),
        ({"eta_discharge": 1.2}, "eta_discharge"),
        ({"self_discharge_per_step": 1.0}, "self_discharge"),
        ({"soc_min_pct": 80.0, "soc_max_pct": 20.0}, "soc_min_pct"),
    ],
)
def test_invalid_parameters_are_refused(kwargs: dict[str, float], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        BatteryParams(**kwargs)


def test_invalid_step_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="e_wh"):
        battery_step(HAND, 20_000.0, 0.0, 60.0)
    with pytest.raises(ValueError, match="p_request_w"):
        battery_step(HAND, 5_000.0, math.nan, 60.0)
    with pytest.raises(ValueError, match="dt_s"):
        battery_step(HAND, 5_000.0, 0.0, 0.0)


@st.composite
def batteries(draw: st.DrawFn) -> BatteryParams:
    soc_min = draw(st.floats(0.0, 40.0))
    return BatteryParams(
        capacity_wh=draw(st.floats(100.0, 200_000.0)),
        max_charge_w=draw(st.floats(0.0, 100_000.0)),
        max_discharge_w=draw(st.floats(0.0, 100_000.0)),
        eta_charge=draw(st.floats(0.5, 1.0)),
        eta_discharge=draw(st.floats(0.5, 1.0)),
        self_discharge_per_step=draw(st.floats(0.0, 0.05)),
        soc_min_pct=soc_min,
        soc_max_pct=draw(st.floats(soc_min + 1.0, 100.0)),
    )


@given(
    params=batteries(),
    start_frac=st.floats(0.0, 1.0),
    requests_w=st.lists(st.floats(-300_000.0, 300_000.0), min_size=1, max_size=60),
    dt_s=st.sampled_from([1.0, 60.0, 900.0, 3_600.0]),
)
def test_invariants_hold_for_any_request_sequence(
    params: BatteryParams, start_frac: float, requests_w: list[float], dt_s: float
) -> None:
    dt_h = dt_s / 3_600.0
    e_wh = params.e_min_wh + start_frac * (params.e_max_wh - params.e_min_wh)
    for p_request_w in requests_w:
        step = battery_step(params, e_wh, p_request_w, dt_s)
        p = step.p_delivered_w
        # SoC stays within its bounds.
        assert params.e_min_wh <= step.e_wh <= params.e_max_wh
        # Delivered power respects the power limits and never exceeds or reverses the request.
        assert -params.max_charge_w <= p <= params.max_discharge_w
        assert abs(p) <= abs(p_request_w)
        assert p * p_request_w >= 0.0
        # Clipping is reported, and it is exactly what was not delivered.
        assert step.p_clipped_w == p_request_w - p
        assert (step.limit is BatteryLimit.NONE) == (step.p_clipped_w == 0.0)
        # The SoC model: E' = E - E_self + eta_c * P_ch * dt - P_dis * dt / eta_d.
        e_expected = (
            e_wh
            - step.e_self_discharge_wh
            + params.eta_charge * max(-p, 0.0) * dt_h
            - max(p, 0.0) * dt_h / params.eta_discharge
        )
        assert step.e_wh == pytest.approx(e_expected, rel=1e-9, abs=1e-6)
        e_wh = step.e_wh
