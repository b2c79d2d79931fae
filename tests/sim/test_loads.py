"""Loads: profile shapes per class, peak scaling, seeded noise clipped at zero."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridledger.sim.loads import (
    H0_FACTORS,
    campus_load_w,
    commercial_load_w,
    critical_load_w,
    profile_w,
    residential_load_w,
)
from gridledger.sim.profiles import FloatArray

HOUR_S = 3600.0
DAY_T_S = np.arange(0.0, 86_400.0, 60.0)
LoadFn = Callable[..., FloatArray]
ALL_LOADS: list[LoadFn] = [residential_load_w, commercial_load_w, campus_load_w, critical_load_w]


def _hours(*h: float) -> npt.NDArray[np.float64]:
    return np.array(h) * HOUR_S


def test_residential_golden_values() -> None:
    # Hourly factors: 19:00 -> 1.00, 03:00 -> 0.22, 18:00 -> 0.95; 18:30 is halfway 0.975.
    p_w = residential_load_w(_hours(19.0, 3.0, 18.0, 18.5), peak_w=10_000.0)
    np.testing.assert_allclose(p_w, [10_000.0, 2_200.0, 9_500.0, 9_750.0], rtol=1e-12)


def test_residential_peaks_in_the_evening_window() -> None:
    p_w = residential_load_w(DAY_T_S, peak_w=12_000.0)
    peak_h = DAY_T_S[np.argmax(p_w)] / HOUR_S
    assert 17.0 <= peak_h < 20.0
    assert p_w.max() == pytest.approx(12_000.0)
    evening = (DAY_T_S >= 17 * HOUR_S) & (DAY_T_S < 20 * HOUR_S)
    assert p_w[evening].mean() > 2.0 * p_w[DAY_T_S < 6 * HOUR_S].mean()


def test_commercial_has_a_daytime_plateau() -> None:
    p_w = commercial_load_w(DAY_T_S, peak_w=40_000.0)
    business = (DAY_T_S >= 9 * HOUR_S) & (DAY_T_S <= 16 * HOUR_S)
    np.testing.assert_allclose(p_w[business], 40_000.0, rtol=1e-12)
    assert p_w[DAY_T_S < 5 * HOUR_S].max() == pytest.approx(10_000.0)


def test_campus_defaults_to_the_energytwin_peak() -> None:
    p_w = campus_load_w(DAY_T_S)
    assert p_w.max() == pytest.approx(50_000.0)
    assert float(campus_load_w(12 * HOUR_S)) == pytest.approx(50_000.0)
    assert p_w.min() == pytest.approx(0.35 * 50_000.0)


def test_critical_is_flat_with_a_high_base() -> None:
    p_w = critical_load_w(DAY_T_S, peak_w=20_000.0)
    assert p_w.min() == pytest.approx(0.85 * 20_000.0)
    assert p_w.max() == pytest.approx(20_000.0)


@pytest.mark.parametrize("load", ALL_LOADS)
def test_each_profile_reaches_peak_w_and_joins_itself_at_midnight(load: LoadFn) -> None:
    p_w = load(DAY_T_S, peak_w=1_000.0)
    assert p_w.max() == pytest.approx(1_000.0)
    just_before, midnight = load(_hours(23.9999, 24.0), peak_w=1_000.0)
    assert just_before == pytest.approx(midnight, abs=0.01)


@pytest.mark.parametrize("load", ALL_LOADS)
def test_noise_is_seeded_multiplicative_and_reproducible(load: LoadFn) -> None:
    clean = load(DAY_T_S, peak_w=10_000.0)
    a = load(DAY_T_S, peak_w=10_000.0, noise_frac=0.05, seed=21)
    b = load(DAY_T_S, peak_w=10_000.0, noise_frac=0.05, seed=21)
    c = load(DAY_T_S, peak_w=10_000.0, noise_frac=0.05, seed=22)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    relative = a / clean - 1.0
    assert relative.std() == pytest.approx(0.05, rel=0.1)


def test_heavy_noise_is_clipped_at_zero() -> None:
    p_w = residential_load_w(DAY_T_S, peak_w=5_000.0, noise_frac=1.5, seed=4)
    assert p_w.min() == 0.0
    assert np.all(p_w >= 0.0)


def test_noise_needs_a_seed_and_profiles_need_24_factors() -> None:
    with pytest.raises(ValueError, match="seed"):
        residential_load_w(DAY_T_S, peak_w=5_000.0, noise_frac=0.1)
    with pytest.raises(ValueError, match="24"):
        profile_w(DAY_T_S, [1.0] * 23, peak_w=5_000.0)
    with pytest.raises(ValueError, match="peak_w"):
        critical_load_w(DAY_T_S, peak_w=-1.0)


@given(
    t_s=st.lists(st.floats(0.0, 7 * 86_400.0), min_size=1, max_size=40),
    peak_w=st.floats(0.0, 1e6),
    noise_frac=st.floats(0.0, 2.0),
    seed=st.integers(0, 2**32 - 1),
    which=st.integers(0, len(ALL_LOADS) - 1),
)
def test_loads_are_never_negative_and_noiseless_loads_never_exceed_peak(
    t_s: list[float], peak_w: float, noise_frac: float, seed: int, which: int
) -> None:
    load = ALL_LOADS[which]
    noisy = load(np.array(t_s), peak_w=peak_w, noise_frac=noise_frac, seed=seed)
    assert np.all(noisy >= 0.0)
    clean = load(np.array(t_s), peak_w=peak_w)
    assert np.all(clean <= peak_w * (1 + 1e-12))


def test_h0_profile_peaks_in_the_evening_with_a_night_trough() -> None:
    assert max(H0_FACTORS) == 1.0 and H0_FACTORS.index(1.0) == 20
    assert min(H0_FACTORS) == H0_FACTORS[3] < 0.35
