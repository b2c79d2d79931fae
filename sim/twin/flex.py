"""Flexibility of a consumer: the load-flexibility matrix LF, the thermal-flexibility matrix TF
and the flexibility classes of the LEM-CDT study.

LF has one row per flexible load: its weight (the consumer's AHP priority of shifting that
load, sim/twin/ahp.py), its time window [start_hour, end_hour) of the day (wrapping midnight
when start > end), the energy it needs per day [Wh], its power limit [W] and the hour it
would start without a twin. TF has one row per thermal zone: the current comfort (the PMV the
occupant feels right, usually 0) and the tolerance (how far from it, in PMV, they accept);
sim/twin/thermal.py turns it into a band of indoor temperatures.

Flexibility class: non-flexible, low or full; the flexibility index FI of each class bounds
the share of a household's base consumption the scheduler may shift from an hour (and
recover in another). Classes are drawn per household from the run's seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from gridledger.sim.errors import TwinError
from gridledger.sim.twin.ahp import priorities

HOURS_PER_DAY = 24


class FlexibleLoad(StrEnum):
    """The flexible loads the study lists."""

    HVAC = "hvac"
    HEAT_PUMP = "heat-pump"
    EV_CHARGER = "ev-charger"
    BATTERY = "battery"
    DISHWASHER = "dishwasher"
    WASHING_MACHINE = "washing-machine"


class FlexClass(StrEnum):
    """How much of its base consumption a household lets its twin move."""

    NON_FLEXIBLE = "non-flexible"
    LOW = "low"
    FULL = "full"


FLEX_INDEX: dict[FlexClass, float] = {
    FlexClass.NON_FLEXIBLE: 0.0,
    FlexClass.LOW: 0.1,
    FlexClass.FULL: 0.3,
}
"""The flexibility index FI of each class [-]: shiftable share of the base load per hour."""


def window_mask(start_hour: int, end_hour: int) -> np.ndarray:
    """24 booleans, True in the daily window [start_hour, end_hour) (wrapping midnight)."""
    for name, hour in (("start_hour", start_hour), ("end_hour", end_hour)):
        if not 0 <= hour < HOURS_PER_DAY:
            raise TwinError(f"{name} {hour} outside 0..23")
    hours = np.arange(HOURS_PER_DAY)
    if start_hour < end_hour:
        return (hours >= start_hour) & (hours < end_hour)
    if start_hour == end_hour:
        return np.ones(HOURS_PER_DAY, dtype=bool)
    return (hours >= start_hour) | (hours < end_hour)


@dataclass(frozen=True, slots=True)
class LoadFlex:
    """One row of LF (see the module docstring); energy in Wh per day, power in W."""

    load: FlexibleLoad
    weight: float
    start_hour: int
    end_hour: int
    energy_wh: float
    max_power_w: float
    preferred_hour: int

    def __post_init__(self) -> None:
        if not 0.0 <= self.weight <= 1.0:
            raise TwinError(f"{self.load}: weight {self.weight} outside [0, 1]")
        if self.energy_wh < 0 or self.max_power_w <= 0:
            raise TwinError(
                f"{self.load}: energy {self.energy_wh} Wh must be >= 0 and power "
                f"{self.max_power_w} W > 0"
            )
        mask = self.mask()
        if not mask[self.preferred_hour % HOURS_PER_DAY]:
            raise TwinError(
                f"{self.load}: preferred hour {self.preferred_hour} outside its window "
                f"[{self.start_hour}, {self.end_hour})"
            )
        if self.energy_wh > mask.sum() * self.max_power_w:
            raise TwinError(
                f"{self.load}: {self.energy_wh} Wh do not fit {mask.sum()} h at "
                f"{self.max_power_w} W"
            )

    def mask(self) -> np.ndarray:
        """The hours the load may run."""
        return window_mask(self.start_hour, self.end_hour)

    def fixed_profile_wh(self) -> np.ndarray:
        """The load without a twin: full power from the preferred hour until done [Wh]."""
        out = np.zeros(HOURS_PER_DAY)
        left, hour = self.energy_wh, self.preferred_hour
        while left > 1e-9:
            out[hour % HOURS_PER_DAY] = min(left, self.max_power_w)
            left -= out[hour % HOURS_PER_DAY]
            hour += 1
        return out


@dataclass(frozen=True, slots=True)
class LoadFlexMatrix:
    """LF: the flexible loads of one household (one row each, distinct loads)."""

    rows: tuple[LoadFlex, ...]

    def __post_init__(self) -> None:
        loads = [r.load for r in self.rows]
        if len(set(loads)) != len(loads):
            raise TwinError(f"a load appears twice in LF: {[str(x) for x in loads]}")

    @classmethod
    def from_ahp(
        cls, rows: Sequence[LoadFlex], pairwise: Sequence[Sequence[float]]
    ) -> LoadFlexMatrix:
        """LF whose weights are the AHP priorities of ``pairwise`` over the rows' loads."""
        names = [str(r.load) for r in rows]
        weights = priorities(names, pairwise).weights
        return cls(
            tuple(
                LoadFlex(r.load, w, r.start_hour, r.end_hour, r.energy_wh, r.max_power_w,
                         r.preferred_hour)
                for r, w in zip(rows, weights, strict=True)
            )
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class ThermalFlex:
    """One row of TF: the current comfort [PMV] and the tolerance around it [PMV, > 0]."""

    comfort_pmv: float = 0.0
    tolerance_pmv: float = 0.5

    def __post_init__(self) -> None:
        if not -3.0 <= self.comfort_pmv <= 3.0 or not 0.0 < self.tolerance_pmv <= 3.0:
            raise TwinError(
                f"TF row: comfort {self.comfort_pmv} PMV must lie in [-3, 3] and tolerance "
                f"{self.tolerance_pmv} PMV in (0, 3]"
            )


def draw_classes(
    n: int, seed: int, shares: tuple[float, float, float] = (1 / 3, 1 / 3, 1 / 3)
) -> tuple[FlexClass, ...]:
    """Flexibility classes of ``n`` households drawn with ``shares`` (non, low, full)."""
    if min(shares) < 0 or not np.isclose(sum(shares), 1.0):
        raise TwinError(f"class shares {shares} must be >= 0 and sum to 1")
    rng = np.random.default_rng([seed, 26])
    picks = rng.choice(3, size=n, p=np.asarray(shares) / sum(shares))
    classes = (FlexClass.NON_FLEXIBLE, FlexClass.LOW, FlexClass.FULL)
    return tuple(classes[int(k)] for k in picks)
