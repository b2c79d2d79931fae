"""The consumer digital twin's inputs: AHP priorities and consistency, LF/TF, flexibility
classes, PMV/PPD comfort band and the RC dwelling."""

from __future__ import annotations

import numpy as np
import pytest

from gridledger.sim.errors import InconsistentPreferencesError, TwinError
from gridledger.sim.twin.ahp import RANDOM_INDEX, from_upper, priorities
from gridledger.sim.twin.flex import (
    FLEX_INDEX,
    FlexClass,
    FlexibleLoad,
    LoadFlex,
    LoadFlexMatrix,
    ThermalFlex,
    draw_classes,
    window_mask,
)
from gridledger.sim.twin.thermal import Dwelling, comfort_band_c, pmv_ppd

CRITERIA = ("cost", "comfort", "convenience")


def test_consistent_matrix_gives_its_exact_weights() -> None:
    # a_ij = w_i / w_j for w = (4, 2, 1) / 7: perfectly consistent, lambda_max = n, CR = 0.
    p = priorities(CRITERIA, from_upper([2, 4, 2]))
    assert p.weights == pytest.approx((4 / 7, 2 / 7, 1 / 7))
    assert p.lambda_max == pytest.approx(3.0)
    assert p.consistency_ratio == pytest.approx(0.0, abs=1e-9)
    assert p.weight("comfort") == pytest.approx(2 / 7)


def test_saatys_textbook_matrix_is_mildly_inconsistent() -> None:
    # 1, 3, 5 / 1/3, 1, 3 / 1/5, 1/3, 1: lambda_max 3.0385, CI 0.0193, CR 0.033.
    p = priorities(CRITERIA, from_upper([3, 5, 3]))
    assert p.lambda_max == pytest.approx(3.0385, abs=1e-4)
    assert p.consistency_ratio == pytest.approx(0.0193 / RANDOM_INDEX[3], abs=1e-3)
    assert p.weights == pytest.approx((0.637, 0.258, 0.105), abs=1e-3)


def test_inconsistent_matrix_is_refused_naming_the_comparisons() -> None:
    # cost >> comfort >> convenience, yet convenience >> cost: a cycle.
    with pytest.raises(InconsistentPreferencesError) as info:
        priorities(CRITERIA, from_upper([5, 1 / 5, 5]))
    err = info.value
    assert err.consistency_ratio >= 0.1
    assert {(i, j) for i, j, _, _ in err.offending} == {
        ("cost", "comfort"),
        ("cost", "convenience"),
        ("comfort", "convenience"),
    }
    assert "cost vs convenience: given 0.2" in str(err)


@pytest.mark.parametrize(
    ("matrix", "message"),
    [
        ([[1, 10], [0.1, 1]], r"a\[a, b\] = 10: not on the 9-point scale"),
        ([[1, 2], [2, 1]], r"a\[a, b\] = 2: not the reciprocal of a\[j, i\] = 2"),
        ([[2, 1], [1, 1]], r"a\[a, a\] = 2: the diagonal must be 1"),
        ([[1, 2, 1], [0.5, 1, 1]], r"must be 2x2, got \(2, 3\)"),
    ],
)
def test_bad_pairwise_matrices_are_refused(matrix: list[list[float]], message: str) -> None:
    with pytest.raises(TwinError, match=message):
        priorities(("a", "b"), matrix)


def test_lf_takes_ahp_weights_and_checks_windows() -> None:
    rows = [
        LoadFlex(FlexibleLoad.DISHWASHER, 0, 18, 6, 1200.0, 1200.0, 19),
        LoadFlex(FlexibleLoad.WASHING_MACHINE, 0, 8, 20, 900.0, 900.0, 9),
    ]
    lf = LoadFlexMatrix.from_ahp(rows, from_upper([3]))
    assert [r.weight for r in lf.rows] == pytest.approx([0.75, 0.25])
    assert window_mask(18, 6).sum() == 12 and window_mask(18, 6)[23] and window_mask(18, 6)[0]
    assert lf.rows[0].fixed_profile_wh()[19] == 1200.0
    with pytest.raises(TwinError, match="preferred hour 7 outside its window"):
        LoadFlex(FlexibleLoad.EV_CHARGER, 0.5, 18, 6, 1000.0, 3700.0, 7)
    with pytest.raises(TwinError, match=r"20000\.0 Wh do not fit 2 h at 3700\.0 W"):
        LoadFlex(FlexibleLoad.EV_CHARGER, 0.5, 22, 0, 20000.0, 3700.0, 22)
    with pytest.raises(TwinError, match="tolerance 0 PMV"):
        ThermalFlex(0.0, 0)


def test_classes_are_drawn_by_seed_with_their_index() -> None:
    a, b = draw_classes(27, seed=0), draw_classes(27, seed=0)
    assert a == b and set(a) == set(FlexClass)
    assert FLEX_INDEX[FlexClass.NON_FLEXIBLE] == 0 < FLEX_INDEX[FlexClass.LOW]
    assert FLEX_INDEX[FlexClass.LOW] < FLEX_INDEX[FlexClass.FULL]


def test_comfort_band_is_where_pmv_stays_within_the_tolerance() -> None:
    low, high = comfort_band_c(0.0, 0.5)
    pmv, ppd = pmv_ppd(np.array([low, high, (low + high) / 2]))
    assert pmv[0] == pytest.approx(-0.5, abs=0.01) and pmv[1] == pytest.approx(0.5, abs=0.01)
    assert ppd[2] < ppd[0] and ppd[0] == pytest.approx(10.2, abs=0.3)  # PPD(0.5) ~ 10 %
    wide = comfort_band_c(0.0, 1.0)
    assert wide[0] < low and wide[1] > high


def test_rc_dwelling_decays_to_outdoors_and_the_thermostat_holds_the_setpoint() -> None:
    d = Dwelling()
    cold = d.simulate_c(21.0, np.full(300, 5.0), np.zeros(300), 3600.0)
    assert cold[-1] == pytest.approx(5.0, abs=0.01) and np.all(np.diff(cold) < 0)
    p = d.thermostat_w(21.0, 21.0, np.full(24, 11.0), 3600.0)
    # Steady state: heat loss UA * dT = 80 * 10 W, electric = that / COP.
    assert p == pytest.approx(np.full(24, 800.0 / 3.0), rel=1e-9)
    assert d.simulate_c(21.0, np.full(24, 11.0), p, 3600.0) == pytest.approx(np.full(25, 21.0))
