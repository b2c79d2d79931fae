"""The horizon LP (market.planning.lp): hard constraints, a brute-force optimum, bad starts."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridledger.market.errors import MarketPlanningError
from gridledger.market.planning.lp import PlanInputs, PlannerCosts, check_plan, solve_plan
from gridledger.sim.battery import BatteryParams

CAMPUS = BatteryParams(soc_min_pct=10.0, soc_max_pct=90.0)
LOSSLESS = BatteryParams(
    capacity_wh=10_000.0,
    max_charge_w=4_000.0,
    max_discharge_w=4_000.0,
    eta_charge=1.0,
    eta_discharge=1.0,
    self_discharge_per_step=0.0,
    soc_min_pct=20.0,
)

kw = st.floats(-150.0, 150.0, allow_nan=False).map(lambda v: 1000.0 * v)


@settings(max_examples=60, deadline=None)
@given(
    net=st.lists(kw, min_size=1, max_size=6),
    soc=st.floats(0.0, 100.0),
    limit_kw=st.one_of(st.none(), st.floats(5.0, 120.0)),
    reserve=st.booleans(),
)
def test_every_plan_keeps_the_hard_constraints(
    net: list[float], soc: float, limit_kw: float | None, reserve: bool
) -> None:
    net_w = np.asarray(net)
    pv_w = np.maximum(-net_w, 0.0) + 5_000.0
    inputs = PlanInputs(
        p_net_w=net_w,
        p_pv_w=pv_w,
        e_wh=CAMPUS.capacity_wh * soc / 100.0,  # may start outside [10 %, 90 %]
        dt_s=3600,
        grid_limit_w=None if limit_kw is None else 1000.0 * limit_kw,
        reserve_w=np.full(net_w.shape, 8_000.0) if reserve else None,
    )
    plan = solve_plan(CAMPUS, inputs)
    assert check_plan(CAMPUS, inputs, plan) == []


def _brute_force(net_w: np.ndarray, e0_wh: float, costs: PlannerCosts) -> float:
    """Every sequence of whole-kW battery powers; the LP objective of the best feasible one."""
    b = LOSSLESS
    best = np.inf
    powers = np.arange(-b.max_charge_w, b.max_discharge_w + 1.0, 1000.0)
    for seq in itertools.product(powers, repeat=len(net_w)):
        e, cost = e0_wh, 0.0
        for p, n in zip(seq, net_w, strict=True):
            e -= p  # lossless, 1 h ticks
            if not 0.0 <= e <= b.capacity_wh:
                break
            cost += max(n - p, 0.0) + costs.cycle_cost * abs(p)
            cost += costs.soc_penalty * max(b.e_min_wh - e, 0.0)
        else:
            target = b.capacity_wh * costs.soc_target_pct / 100.0
            best = min(best, cost + costs.target_penalty * max(target - e, 0.0))
    return best


@pytest.mark.parametrize("seed", range(12))
def test_small_horizons_match_a_brute_force_search(seed: int) -> None:
    rng = np.random.default_rng(seed)
    h = 1 + seed % 3
    net_w = 1000.0 * rng.integers(-6, 7, size=h).astype(float)
    e0_wh = 1000.0 * float(rng.integers(0, 11))
    costs = PlannerCosts()
    inputs = PlanInputs(net_w, np.maximum(-net_w, 0.0), e0_wh, 3600)
    plan = solve_plan(LOSSLESS, inputs, costs)
    assert plan.objective == pytest.approx(_brute_force(net_w, e0_wh, costs), abs=1e-6)


def test_a_start_below_the_minimum_is_planned_not_refused() -> None:
    inputs = PlanInputs(np.array([20_000.0, 20_000.0]), np.zeros(2), 2_000.0, 3600)
    plan = solve_plan(CAMPUS, inputs)  # 2 % against a 10 % minimum
    assert check_plan(CAMPUS, inputs, plan) == []
    assert np.all(plan.p_discharge_w == 0.0)  # nothing is drawn below the minimum
    assert plan.e_wh[-1] > 2_000.0 * 0.99  # and the battery is refilled towards the target


def test_a_forecast_beyond_the_grid_limit_leaves_load_unserved() -> None:
    inputs = PlanInputs(np.array([250_000.0]), np.zeros(1), 50_000.0, 3600, 100_000.0)
    plan = solve_plan(CAMPUS, inputs)
    assert check_plan(CAMPUS, inputs, plan) == []
    assert plan.p_import_w[0] == pytest.approx(100_000.0)
    # 40 kWh above the 10 % minimum, after self-discharge, times eta_d
    usable_w = (50_000.0 * (1 - 1e-3) - 10_000.0) * 0.95
    assert plan.p_unserved_w[0] == pytest.approx(250_000.0 - 100_000.0 - usable_w)


def test_malformed_inputs_are_refused_with_numbers() -> None:
    with pytest.raises(MarketPlanningError, match=r"e_wh must be within \[0, 100000.0\] Wh"):
        solve_plan(CAMPUS, PlanInputs(np.zeros(2), np.zeros(2), -1.0, 3600))
    with pytest.raises(MarketPlanningError, match=r"got \(2,\) and \(3,\)"):
        solve_plan(CAMPUS, PlanInputs(np.zeros(2), np.zeros(3), 0.0, 3600))
