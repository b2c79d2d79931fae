"""What the planner needs to know of a battery, as a protocol.

The simulator's ``sim.battery.BatteryParams`` satisfies it (and so can a real battery's
datasheet): market/ plans for any store with these attributes and imports nothing from sim/.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["StorageLimits"]


class StorageLimits(Protocol):
    """A battery's limits, in the units of ``sim.battery`` (docs/nomenclature.md)."""

    @property
    def capacity_wh(self) -> float:
        """Stored energy at 100 % SoC [Wh]."""

    @property
    def max_charge_w(self) -> float:
        """Largest charging power at the terminals [W]."""

    @property
    def max_discharge_w(self) -> float:
        """Largest discharging power at the terminals [W]."""

    @property
    def eta_charge(self) -> float:
        """Charging efficiency, stored / drawn [-]."""

    @property
    def eta_discharge(self) -> float:
        """Discharging efficiency, delivered / withdrawn [-]."""

    @property
    def self_discharge_per_step(self) -> float:
        """Fraction of stored energy lost per step [-]."""

    @property
    def e_min_wh(self) -> float:
        """Lowest stored energy in operation [Wh]."""

    @property
    def e_max_wh(self) -> float:
        """Highest stored energy in operation [Wh]."""
