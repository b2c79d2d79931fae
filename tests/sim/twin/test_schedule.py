"""The day-ahead scheduler (Eqs. 2-16) with deterministic-equivalent chance constraints."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pytest

from gridledger.sim.twin.flex import FlexibleLoad, LoadFlex, LoadFlexMatrix
from gridledger.sim.twin.schedule import (
    Household,
    Prices,
    Storage,
    Thermal,
    Uncertainty,
    schedule_day,
)
from gridledger.sim.twin.thermal import Dwelling

PRICES = Prices(feed_in_per_kwh=0.08, retail_per_kwh=0.30, grid_fee_per_kwh=0.02)
EXACT = Uncertainty(pv_violation=None, load_violation=None)
T_OUT = np.full(24, 10.0)


def hours(**values: float) -> np.ndarray:
    out = np.zeros(24)
    for key, value in values.items():
        out[int(key[1:])] = value
    return out


def test_hand_solved_two_households() -> None:
    # A exports 1000 Wh of PV at 12:00. B consumes 400 Wh at 12:00 and 400 Wh at 19:00 and
    # may move half of each hour's consumption (FI 0.5). Coordinated, B recovers 200 Wh at
    # noon from 19:00: noon: B takes 600 Wh locally, 400 Wh leave to the grid; 19:00: B
    # imports 200 Wh. Cost = fee * 1 kWh sold by A - (feed-in + fee) * 0.4 + retail * 0.2
    # = 0.02 - 0.04 + 0.06 = 0.04 token (0.08 without shifting).
    a = Household("a", np.zeros(24), hours(h12=1000.0))
    b = Household("b", hours(h12=400.0, h19=400.0), np.zeros(24), flex_index=0.5)
    s = schedule_day([a, b], PRICES, T_OUT, EXACT, coordinated=True)
    assert s.objective_token == pytest.approx(0.04, abs=1e-6)
    assert s.blocks["rec"][1, 12] == pytest.approx(200.0) and s.blocks["shd"][
        1, 19
    ] == pytest.approx(200.0)
    assert s.grid_export_wh[12] == pytest.approx(400.0) and s.grid_import_wh[19] == pytest.approx(
        200.0
    )
    # Each twin alone at flat tariffs: B has no reason to move, A exports, B imports all.
    alone = schedule_day([a, b], PRICES, T_OUT, EXACT, coordinated=False)
    assert alone.objective_token == pytest.approx(-0.08 + 0.30 * 0.8, abs=1e-3)


def full_household(flex: float = 0.3) -> Household:
    pv = 3000.0 * np.clip(np.sin(np.pi * (np.arange(24) - 6) / 12), 0, None)
    load = np.full(24, 300.0) + hours(h7=400.0, h19=900.0)
    lf = LoadFlexMatrix((LoadFlex(FlexibleLoad.DISHWASHER, 0.7, 8, 22, 1200.0, 1200.0, 20),))
    thermal = Thermal(Dwelling(), 21.0, (20.0, 23.0))
    return Household("h", load, pv, Storage(10_000.0, 5000.0), flex, lf, thermal)


def test_schedule_is_feasible_and_keeps_the_comfort_band() -> None:
    h = full_household()
    s = schedule_day([h], PRICES, T_OUT, Uncertainty(), coordinated=False)
    b = {k: v[0] for k, v in s.blocks.items()}
    u = Uncertainty()
    load, pv = u.load_plan_wh(h.load_wh), u.pv_plan_wh(h.pv_wh)
    served = load - b["shd"] + b["rec"] + b["hvac"] + s.appliances_wh[0] + b["ch"] - b["dis"]
    assert b["imp"] - b["exp"] == pytest.approx(served - pv + b["cur"] - b["uns"], abs=1e-6)
    assert b["uns"].max() < 1e-6
    assert b["shd"].sum() == pytest.approx(b["rec"].sum())
    assert np.all(b["shd"] <= 0.3 * load + 1e-6) and np.all(b["rec"] <= 0.3 * load + 1e-6)
    assert s.appliances_wh[0].sum() == pytest.approx(1200.0)
    assert s.appliances_wh[0][:8].sum() == 0 and s.appliances_wh[0][22:].sum() == 0
    assert np.all(b["tin"] >= 20.0 - 1e-6) and np.all(b["tin"] <= 23.0 + 1e-6)
    temps = Dwelling().simulate_c(21.0, T_OUT, b["hvac"], 3600.0)[1:]
    assert temps == pytest.approx(b["tin"], abs=1e-6)
    assert np.all(b["e"] >= 1000.0 - 1e-6) and np.all(b["e"] <= 9500.0 + 1e-6)
    assert b["e"][-1] >= 3000.0 - 1e-6


def test_chance_constraints_plan_conservatively_and_cost_more_at_lower_alpha() -> None:
    u = Uncertainty(pv_violation=0.05, load_violation=0.1)
    assert u.pv_plan_wh(np.array([1000.0]))[0] == pytest.approx(
        1000.0 * (1 + 0.1 * NormalDist().inv_cdf(0.05))
    )
    assert u.load_plan_wh(np.array([1000.0]))[0] == pytest.approx(
        1000.0 * (1 + 0.1 * NormalDist().inv_cdf(0.9))
    )
    costs = [
        schedule_day(
            [full_household()], PRICES, T_OUT, Uncertainty(pv_violation=a, load_violation=a)
        ).objective_token
        for a in (0.01, 0.05, 0.2, 0.5)
    ]
    assert costs == sorted(costs, reverse=True) and costs[0] > costs[-1]
    plain = schedule_day([full_household()], PRICES, T_OUT, EXACT).objective_token
    assert plain == pytest.approx(costs[-1], abs=1e-6)  # alpha 0.5: z = 0, the mean


def test_flexibility_lowers_the_community_cost() -> None:
    rigid = schedule_day([full_household(0.0)], PRICES, T_OUT).objective_token
    flexible = schedule_day([full_household(0.3)], PRICES, T_OUT).objective_token
    assert flexible < rigid
