"""The lem27 households as consumer digital twins: the scenario's H0 loads, PV and batteries
(sim/scenarios/lem27.toml) plus, per household, a flexibility class, its LF and TF rows and
a dwelling with HVAC.

Per class (drawn from the seed, sim/twin/flex.py):
- non-flexible: FI 0, dishwasher and washing machine at their preferred hours, comfort
  tolerance 0.3 PMV;
- low: FI 0.1, appliances within evening windows, tolerance 0.5 PMV;
- full: FI 0.3, appliances anywhere in the day's waking hours, tolerance 0.8 PMV.
The LF weights come from each class's AHP comparison "shifting the dishwasher vs the
washing machine". Without a twin every household behaves as non-flexible with a thermostat
holding its comfort setpoint (the band's middle, +-0.05 K).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from gridledger.sim.errors import TwinError
from gridledger.sim.exogenous import compute_exogenous
from gridledger.sim.profiles import SECONDS_PER_HOUR, FloatArray
from gridledger.sim.scenario import Scenario
from gridledger.sim.twin.flex import (
    FLEX_INDEX,
    FlexClass,
    FlexibleLoad,
    LoadFlex,
    LoadFlexMatrix,
    ThermalFlex,
    draw_classes,
)
from gridledger.sim.twin.schedule import Household, Storage, Thermal
from gridledger.sim.twin.thermal import Dwelling, comfort_band_c

THERMOSTAT_HALF_BAND_K = 0.05
"""Without a twin the room is held at the setpoint within this much [K]."""

# (load, energy [Wh], power [W], preferred hour) of the two appliances every household has.
APPLIANCES: tuple[tuple[FlexibleLoad, float, float, int], ...] = (
    (FlexibleLoad.DISHWASHER, 1200.0, 1200.0, 20),
    (FlexibleLoad.WASHING_MACHINE, 900.0, 900.0, 18),
)
WINDOWS: dict[FlexClass, tuple[tuple[int, int], ...]] = {
    FlexClass.LOW: ((18, 23), (16, 21)),
    FlexClass.FULL: ((7, 23), (7, 21)),
}
"""LF time windows [start_hour, end_hour) of the appliances, per class."""
AHP_ANSWER: dict[FlexClass, float] = {
    FlexClass.NON_FLEXIBLE: 1.0,
    FlexClass.LOW: 3.0,
    FlexClass.FULL: 5.0,
}
"""How much more readily the class shifts the dishwasher than the washing machine (a_12)."""
TF_ROWS: dict[FlexClass, ThermalFlex] = {
    FlexClass.NON_FLEXIBLE: ThermalFlex(0.0, 0.3),
    FlexClass.LOW: ThermalFlex(0.0, 0.5),
    FlexClass.FULL: ThermalFlex(0.0, 0.8),
}


def _lf(cls: FlexClass, with_twin: bool) -> LoadFlexMatrix:
    rows = []
    for k, (load, energy_wh, power_w, preferred) in enumerate(APPLIANCES):
        if with_twin and cls in WINDOWS:
            start, end = WINDOWS[cls][k]
        else:
            start, end = preferred, preferred + math.ceil(energy_wh / power_w)
        rows.append(LoadFlex(load, 0.5, start, end, energy_wh, power_w, preferred))
    return LoadFlexMatrix.from_ahp(rows, [[1.0, AHP_ANSWER[cls]], [1.0 / AHP_ANSWER[cls], 1.0]])


DWELLING = Dwelling()
"""Every household's dwelling and HVAC (sim/twin/thermal.py defaults)."""


def households_of(
    scenario: Scenario, with_twin: bool, dwelling: Dwelling = DWELLING
) -> tuple[tuple[Household, ...], tuple[FlexClass, ...], FloatArray]:
    """The scenario's microgrids as households for the day-ahead scheduler, their classes
    and the outdoor temperature [degC] per hour (the scenario must be hourly, 24 steps)."""
    if scenario.dt_s != SECONDS_PER_HOUR or scenario.n_steps != 24:
        raise TwinError(
            f"the day-ahead schedule needs 24 hourly steps, scenario {scenario.name!r} has "
            f"{scenario.n_steps} steps of {scenario.dt_s} s"
        )
    exo = compute_exogenous(scenario)
    classes = draw_classes(len(scenario.microgrids), scenario.seed)
    out = []
    for mg, cls in zip(scenario.microgrids, classes, strict=True):
        low, high = comfort_band_c(TF_ROWS[cls].comfort_pmv, TF_ROWS[cls].tolerance_pmv)
        setpoint = round((low + high) / 2, 2)
        band = (low, high) if with_twin else (
            setpoint - THERMOSTAT_HALF_BAND_K, setpoint + THERMOSTAT_HALF_BAND_K
        )  # fmt: skip
        b = mg.battery
        storage = None
        if b is not None:
            storage = Storage(
                b.capacity_wh, min(b.max_charge_w, b.max_discharge_w), b.eta_charge,
                b.eta_discharge, b.self_discharge_per_h, b.soc_min_pct, b.soc_max_pct,
                b.initial_soc_pct,
            )  # fmt: skip
        out.append(
            Household(
                name=mg.name,
                load_wh=np.asarray(exo.p_load_w[mg.name], dtype=np.float64),
                pv_wh=np.asarray(exo.p_pv_w[mg.name], dtype=np.float64),
                storage=storage,
                flex_index=FLEX_INDEX[cls] if with_twin else 0.0,
                lf=_lf(cls, with_twin),
                thermal=Thermal(dwelling, setpoint, band),
            )
        )
    return tuple(out), classes, np.asarray(exo.t_air_c, dtype=np.float64)


def scaled(households: tuple[Household, ...], n: int, seed: int = 0) -> tuple[Household, ...]:
    """``n`` households cycling through ``households`` (renamed), each load and PV scaled by
    its own factor in [0.8, 1.2] drawn from ``seed`` so no two are identical (the benchmark's
    larger communities)."""
    factors = np.random.default_rng([seed, 27]).uniform(0.8, 1.2, size=(n, 2))
    return tuple(
        dataclasses.replace(
            households[i % len(households)],
            name=f"h{i:05d}",
            load_wh=households[i % len(households)].load_wh * factors[i, 0],
            pv_wh=households[i % len(households)].pv_wh * factors[i, 1],
        )
        for i in range(n)
    )
