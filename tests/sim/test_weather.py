"""Weather: diurnal irradiance and air temperature, golden values, noise and invariants."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridledger.sim.weather import air_temperature_c, ghi_w_m2

HOUR_S = 3600.0
DAY_T_S = np.arange(0.0, 86_400.0, 60.0)


def test_ghi_golden_values_of_the_half_sine() -> None:
    # sunrise 06:00, sunset 18:00: noon is the peak, 09:00 is a quarter of the way (sin 45 deg).
    t_s = np.array([12.0, 9.0, 15.0, 7.0]) * HOUR_S
    ghi = ghi_w_m2(t_s, peak_ghi_w_m2=800.0, sunrise_h=6.0, sunset_h=18.0)
    s45, s15 = math.sin(math.pi / 4), math.sin(math.pi / 12)
    expected = 800.0 * np.array([1.0, s45, s45, s15])
    np.testing.assert_allclose(ghi, expected, rtol=1e-10)


def test_ghi_is_exactly_zero_at_night_even_with_noise() -> None:
    night_t_s = np.array([0.0, 3.0, 5.99, 6.0, 18.0, 20.0, 23.99]) * HOUR_S
    ghi = ghi_w_m2(night_t_s, noise_std_w_m2=200.0, seed=1)
    assert np.all(ghi == 0.0)


def test_ghi_noise_is_gaussian_with_the_given_std_and_clipped_at_zero() -> None:
    clear = ghi_w_m2(DAY_T_S, peak_ghi_w_m2=1000.0)
    noisy = ghi_w_m2(DAY_T_S, peak_ghi_w_m2=1000.0, noise_std_w_m2=30.0, seed=3)
    assert np.all(noisy >= 0.0)
    # Far from sunrise/sunset clipping cannot act, so the residual is the raw noise.
    bright = clear > 300.0
    residual = noisy[bright] - clear[bright]
    assert abs(residual.mean()) < 5.0
    assert residual.std() == pytest.approx(30.0, rel=0.15)
    # Near sunrise strong noise would go negative without the clip.
    very_noisy = ghi_w_m2(DAY_T_S, peak_ghi_w_m2=1000.0, noise_std_w_m2=300.0, seed=3)
    daylight = clear > 0.0
    assert np.any(very_noisy[daylight] == 0.0)
    assert np.all(very_noisy >= 0.0)


def test_noise_is_reproducible_from_the_seed_and_only_from_it() -> None:
    a = ghi_w_m2(DAY_T_S, noise_std_w_m2=50.0, seed=11)
    b = ghi_w_m2(DAY_T_S, noise_std_w_m2=50.0, seed=11)
    c = ghi_w_m2(DAY_T_S, noise_std_w_m2=50.0, seed=12)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    ta = air_temperature_c(DAY_T_S, noise_std_c=1.0, seed=11)
    tb = air_temperature_c(DAY_T_S, noise_std_c=1.0, seed=11)
    tc = air_temperature_c(DAY_T_S, noise_std_c=1.0, seed=12)
    np.testing.assert_array_equal(ta, tb)
    assert not np.array_equal(ta, tc)


def test_noise_without_a_seed_is_refused() -> None:
    with pytest.raises(ValueError, match="seed"):
        ghi_w_m2(DAY_T_S, noise_std_w_m2=10.0)
    with pytest.raises(ValueError, match="seed"):
        air_temperature_c(DAY_T_S, noise_std_c=1.0)


def test_invalid_sun_hours_are_refused() -> None:
    with pytest.raises(ValueError, match="sunrise"):
        ghi_w_m2(DAY_T_S, sunrise_h=19.0, sunset_h=7.0)


def test_profiles_wrap_at_midnight() -> None:
    np.testing.assert_allclose(ghi_w_m2(DAY_T_S + 86_400.0), ghi_w_m2(DAY_T_S), atol=1e-9)
    np.testing.assert_allclose(
        air_temperature_c(DAY_T_S + 2 * 86_400.0), air_temperature_c(DAY_T_S), atol=1e-9
    )


def test_air_temperature_golden_values() -> None:
    # Peak at 15:00, trough 12 h later, mean 6 h either side.
    t_s = np.array([15.0, 3.0, 9.0, 21.0]) * HOUR_S
    t_air = air_temperature_c(t_s, mean_c=10.0, amplitude_c=8.0, peak_h=15.0)
    np.testing.assert_allclose(t_air, [18.0, 2.0, 10.0, 10.0], atol=1e-12)


def test_air_temperature_noise_has_the_given_std() -> None:
    clean = air_temperature_c(DAY_T_S)
    noisy = air_temperature_c(DAY_T_S, noise_std_c=0.8, seed=5)
    assert (noisy - clean).std() == pytest.approx(0.8, rel=0.1)


@given(
    t_s=st.lists(st.floats(0.0, 10 * 86_400.0), min_size=1, max_size=50),
    peak=st.floats(0.0, 1_400.0),
    sunrise_h=st.floats(3.0, 9.0),
    day_length_h=st.floats(6.0, 14.0),
    noise=st.floats(0.0, 300.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_ghi_is_non_negative_and_zero_outside_daylight(
    *, t_s: list[float], peak: float, sunrise_h: float, day_length_h: float, noise: float, seed: int
) -> None:
    sunset_h = sunrise_h + day_length_h
    ghi = ghi_w_m2(
        np.array(t_s),
        peak_ghi_w_m2=peak,
        sunrise_h=sunrise_h,
        sunset_h=sunset_h,
        noise_std_w_m2=noise,
        seed=seed,
    )
    h = (np.array(t_s) % 86_400.0) / HOUR_S
    assert np.all(ghi >= 0.0)
    assert np.all(ghi[(h <= sunrise_h) | (h >= sunset_h)] == 0.0)
    if noise == 0.0:
        assert np.all(ghi <= peak)


@given(
    t_s=st.floats(0.0, 86_400.0),
    mean_c=st.floats(-30.0, 40.0),
    amplitude_c=st.floats(0.0, 15.0),
    peak_h=st.floats(0.0, 24.0),
)
def test_noiseless_air_temperature_stays_within_its_swing(
    t_s: float, mean_c: float, amplitude_c: float, peak_h: float
) -> None:
    t_air = float(air_temperature_c(t_s, mean_c=mean_c, amplitude_c=amplitude_c, peak_h=peak_h))
    assert mean_c - amplitude_c - 1e-9 <= t_air <= mean_c + amplitude_c + 1e-9
