"""PCC balance and metering, and the FED-MGDT MG1 day under import caps E1-E4."""

from __future__ import annotations

import dataclasses
import doctest

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gridledger.sim.fedmgdt
from gridledger.sim.controllers import coordinator_request_w, metered_cap_target_w
from gridledger.sim.fedmgdt import (
    FEDMGDT_CAPS_W,
    Mg1Config,
    Mg1Day,
    simulate_mg1_day,
    violation_sweep_wh,
    violation_wh,
)
from gridledger.sim.pcc import metered_energy_wh, metered_power_w, pcc_power_w

WINDOW_START_S, WINDOW_END_S = 61_200, 72_000


# --- PCC balance and meter ------------------------------------------------------------------


def test_pcc_balance_and_sign_convention() -> None:
    # 10 kW load, 3 kW PV: 7 kW import; discharging 2 kW lowers it, charging 2 kW raises it.
    np.testing.assert_array_equal(
        pcc_power_w([10_000.0] * 3, [3_000.0] * 3, [0.0, 2_000.0, -2_000.0]),
        [7_000.0, 5_000.0, 9_000.0],
    )
    assert float(pcc_power_w(1_000.0, 4_000.0, 0.0)) == -3_000.0  # surplus is exported


def test_meter_golden_values() -> None:
    # 10 kW over 60 s = 166.67 Wh -> 167; -6 kW -> 100 Wh export; 30 W -> 0.5 Wh rounds to
    # even 0; 90 W -> 1.5 Wh rounds to even 2.
    import_wh, export_wh = metered_energy_wh([10_000.0, -6_000.0, 30.0, 90.0, 0.0], 60.0)
    np.testing.assert_array_equal(import_wh, [167, 0, 0, 2, 0])
    np.testing.assert_array_equal(export_wh, [0, 100, 0, 0, 0])
    assert import_wh.dtype == np.int64
    np.testing.assert_array_equal(metered_power_w([167, 0], [0, 100], 60.0), [10_020.0, -6_000.0])


@given(p_pcc_w=st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=50))
def test_meter_is_within_half_a_wh_and_one_sided(p_pcc_w: list[float]) -> None:
    import_wh, export_wh = metered_energy_wh(p_pcc_w, 60.0)
    assert np.all(import_wh >= 0) and np.all(export_wh >= 0)
    assert np.all((import_wh == 0) | (export_wh == 0))
    exact_wh = np.array(p_pcc_w) * 60.0 / 3600.0
    assert np.all(np.abs((import_wh - export_wh) - exact_wh) <= 0.5)


# --- coordinator ---------------------------------------------------------------------------


def test_metered_cap_target_keeps_the_metered_energy_within_the_cap() -> None:
    assert metered_cap_target_w(6_000.0, 60.0) == 6_000.0  # exactly 100 Wh
    assert metered_cap_target_w(10_000.0, 60.0) == 9_960.0  # 166 Wh, not 167
    assert metered_cap_target_w(8_000.0, 60.0) == 7_980.0
    for cap_w in FEDMGDT_CAPS_W:
        import_wh, _ = metered_energy_wh([metered_cap_target_w(cap_w, 60.0)], 60.0)
        assert import_wh[0] * 60.0 <= cap_w


def test_coordinator_discharges_the_excess_only_in_the_window() -> None:
    assert coordinator_request_w(12_000.0, True, 8_000.0) == 4_000.0
    assert coordinator_request_w(12_000.0, False, 8_000.0) == 0.0  # never discharges outside
    assert coordinator_request_w(5_000.0, True, 8_000.0) == 0.0
    assert coordinator_request_w(-3_000.0, False, 8_000.0) == -3_000.0  # soaks up PV surplus


# --- the MG1 day ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def day6() -> Mg1Day:
    return simulate_mg1_day(6_000.0)


def _window(day: Mg1Day) -> np.ndarray:
    return (day.t_s >= WINDOW_START_S) & (day.t_s < WINDOW_END_S)


def test_day_has_1440_one_minute_steps_with_integer_meter_readings(day6: Mg1Day) -> None:
    np.testing.assert_array_equal(day6.t_s, np.arange(0, 86_400, 60))
    for arr in (day6.p_load_w, day6.p_pv_w, day6.p_battery_w, day6.soc_pct, day6.p_pcc_w):
        assert arr.shape == (1440,)
    assert day6.import_wh.dtype == np.int64 and day6.export_wh.dtype == np.int64
    assert np.all(day6.import_wh >= 0) and np.all(day6.export_wh >= 0)
    assert _window(day6).sum() == 180
    with pytest.raises(ValueError, match="read-only"):
        day6.p_pcc_w[0] = 0.0


def test_energy_balance_closes_exactly_every_tick(day6: Mg1Day) -> None:
    np.testing.assert_array_equal(day6.p_pcc_w, day6.p_load_w - day6.p_pv_w - day6.p_battery_w)
    imports_wh, exports_wh = metered_energy_wh(day6.p_pcc_w, 60.0)
    np.testing.assert_array_equal(day6.import_wh, imports_wh)
    np.testing.assert_array_equal(day6.export_wh, exports_wh)


def test_battery_obeys_the_rule_and_its_limits(day6: Mg1Day) -> None:
    window = _window(day6)
    assert np.all(day6.p_battery_w[~window] <= 0.0)  # self-consumption: never discharge
    assert day6.p_battery_w[window].max() == pytest.approx(6_000.0)  # FED-MGDT's 6 kW limit
    assert np.all(np.abs(day6.p_battery_w) <= 6_000.0)
    assert np.all((day6.soc_pct >= 10.0) & (day6.soc_pct <= 95.0))
    # Charged from PV surplus by the start of the window.
    assert day6.soc_pct[WINDOW_START_S // 60 - 1] > 90.0


def test_clipping_is_requested_minus_delivered(day6: Mg1Day) -> None:
    window = _window(day6)
    target_w = metered_cap_target_w(6_000.0, 60.0)
    requested = np.array(
        [
            coordinator_request_w(float(net), bool(w), target_w)
            for net, w in zip(day6.p_load_w - day6.p_pv_w, window, strict=True)
        ]
    )
    np.testing.assert_allclose(day6.battery_clipped_w, requested - day6.p_battery_w, atol=1e-9)
    assert day6.battery_clipped_w[window].max() > 0.0  # at 6 kW the battery can't keep up


def test_where_the_battery_keeps_up_the_metered_import_is_within_the_cap() -> None:
    day = simulate_mg1_day(8_000.0)
    kept_up = _window(day) & (day.battery_clipped_w == 0.0)
    metered_w = metered_power_w(day.import_wh, day.export_wh, 60.0)
    assert kept_up.sum() > 150
    assert np.all(metered_w[kept_up] <= 8_000.0)


def test_violation_energy_by_hand() -> None:
    # Steps at 16:59, 17:00, 17:01, 20:00 metering 200, 200, 50, 300 Wh against a 6 kW cap
    # (100 Wh per minute): only 17:00 and 17:01 count, 100 Wh + 0 Wh. The PCC power array is
    # zero to show that the violation comes from the meter's integers, not from the floats.
    t_s = np.array([61_140.0, 61_200.0, 61_260.0, 72_000.0])
    zeros = np.zeros(4)
    day = Mg1Day(
        t_s=t_s,
        p_load_w=zeros,
        p_pv_w=zeros,
        p_battery_w=zeros,
        battery_clipped_w=zeros,
        soc_pct=zeros,
        p_pcc_w=zeros,
        import_wh=np.array([200, 200, 50, 300], dtype=np.int64),
        export_wh=np.zeros(4, dtype=np.int64),
        cap_w=6_000.0,
        dt_s=60,
        window_start_s=WINDOW_START_S,
        window_end_s=WINDOW_END_S,
    )
    assert violation_wh(day, 6_000.0) == 100.0
    assert violation_wh(day, 1_200.0) == pytest.approx(180.0 + 30.0)  # 20 Wh per minute cap
    exporting = dataclasses.replace(day, export_wh=np.array([0, 150, 0, 0], dtype=np.int64))
    assert violation_wh(exporting, 6_000.0) == 0.0


def test_same_seed_same_day_and_caps_share_weather_and_load() -> None:
    a = simulate_mg1_day(6_000.0, Mg1Config(seed=5))
    b = simulate_mg1_day(6_000.0, Mg1Config(seed=5))
    c = simulate_mg1_day(6_000.0, Mg1Config(seed=6))
    for name in ("p_load_w", "p_pv_w", "p_battery_w", "soc_pct", "p_pcc_w", "import_wh"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.p_load_w, c.p_load_w)
    assert not np.array_equal(a.p_pv_w, c.p_pv_w)
    d = simulate_mg1_day(10_000.0, Mg1Config(seed=5))
    np.testing.assert_array_equal(a.p_load_w, d.p_load_w)
    np.testing.assert_array_equal(a.p_pv_w, d.p_pv_w)
    assert not np.array_equal(a.p_battery_w, d.p_battery_w)


def test_invalid_config_is_refused() -> None:
    with pytest.raises(ValueError, match="dt_s"):
        Mg1Config(dt_s=7)
    with pytest.raises(ValueError, match="window"):
        Mg1Config(window_start_s=72_000, window_end_s=61_200)
    with pytest.raises(ValueError, match="initial_soc_pct"):
        Mg1Config(initial_soc_pct=5.0)


@settings(max_examples=25, deadline=None)
@given(cap_w=st.floats(0.0, 20_000.0), seed=st.integers(0, 2**32 - 1))
def test_any_cap_and_seed_keep_balance_bounds_and_limits(cap_w: float, seed: int) -> None:
    day = simulate_mg1_day(cap_w, Mg1Config(seed=seed))
    np.testing.assert_array_equal(day.p_pcc_w, day.p_load_w - day.p_pv_w - day.p_battery_w)
    assert np.all((day.soc_pct >= 10.0) & (day.soc_pct <= 95.0))
    assert np.all((day.p_battery_w >= -6_000.0) & (day.p_battery_w <= 6_000.0))
    assert violation_wh(day, cap_w) >= 0.0


# --- the FED-MGDT shape --------------------------------------------------------------------


def _assert_fedmgdt_shape(e_wh: dict[float, float]) -> None:
    e4, e6, e8, e10 = (e_wh[cap_w] for cap_w in FEDMGDT_CAPS_W)
    assert e4 > e6 > e8 > e10 >= 0.0  # strictly decreasing in the cap
    assert e6 > 1_000.0  # clearly non-zero at 6 kW (the battery's own limit)
    assert e8 <= 0.25 * e6  # the sharp, battery-limited drop between 6 and 8 kW
    assert e10 <= 0.01 * e4  # about zero at 10 kW


def test_fedmgdt_violation_shape_with_the_default_config() -> None:
    e_wh = violation_sweep_wh()
    for cap_w, v in e_wh.items():
        print(f"FED-MGDT MG1 cap {cap_w / 1000:.0f} kW: E_viol = {v / 1000:.3f} kWh")
    _assert_fedmgdt_shape(e_wh)
    assert e_wh[10_000.0] == 0.0


@pytest.mark.parametrize("seed", [1, 2, 3, 42])
def test_fedmgdt_shape_is_not_an_accident_of_one_seed(seed: int) -> None:
    _assert_fedmgdt_shape(violation_sweep_wh(config=Mg1Config(seed=seed)))


def test_docstring_example_matches_the_code() -> None:
    result = doctest.testmod(gridledger.sim.fedmgdt, verbose=False)
    assert result.attempted > 0
    assert result.failed == 0
