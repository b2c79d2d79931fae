"""Battery: energy-reservoir model with charge/discharge efficiencies and SoC bounds.

The state of charge follows EnergyTwin's model (docs/architecture.md, "Models from the
literature")::

    E[t+1] = E[t] + eta_c * P_ch * dt - P_dis * dt / eta_d - E_self * dt

with ``P_ch, P_dis >= 0`` the terminal powers. Here ``E_self * dt`` is a fraction of the
stored energy lost per step. Sign convention (docs/architecture.md, "Units and signs"):
battery power ``p_w > 0`` is discharge (into the microgrid), ``< 0`` charge.

A requested power is clipped by the power limits and by the energy available between
the SoC bounds within the step; the clipped amount is always returned, never dropped.
Defaults are EnergyTwin's campus battery (100 kWh, eta 0.95 each way, C-rate 1,
self-discharge 1e-3 per hourly tick). EnergyTwin does not quote SoC bounds; its scarcity
KPI counts ticks below 5 % SoC, so the defaults allow the full 0-100 % range.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from gridledger.sim.errors import PhysicsInputError
from gridledger.sim.profiles import SECONDS_PER_HOUR


@dataclass(frozen=True, slots=True)
class BatteryParams:
    """Parameters of one battery.

    Attributes
    ----------
    capacity_wh : stored energy at 100 % SoC [Wh] (EnergyTwin: 100 kWh)
    max_charge_w : largest charging power at the terminals [W] (EnergyTwin: C-rate 1)
    max_discharge_w : largest discharging power at the terminals [W] (EnergyTwin: C-rate 1)
    eta_charge : charging efficiency, stored / drawn [-] (EnergyTwin: 0.95)
    eta_discharge : discharging efficiency, delivered / withdrawn [-] (EnergyTwin: 0.95)
    self_discharge_per_step : fraction of stored energy lost per step [-]
        (EnergyTwin: 1e-3 per hourly tick; see ``self_discharge_per_step`` to rescale)
    soc_min_pct, soc_max_pct : operating SoC bounds [%]
    """

    capacity_wh: float = 100_000.0
    max_charge_w: float = 100_000.0
    max_discharge_w: float = 100_000.0
    eta_charge: float = 0.95
    eta_discharge: float = 0.95
    self_discharge_per_step: float = 1e-3
    soc_min_pct: float = 0.0
    soc_max_pct: float = 100.0

    def __post_init__(self) -> None:
        if not self.capacity_wh > 0:
            raise PhysicsInputError(f"capacity_wh must be > 0, got {self.capacity_wh}")
        if not (self.max_charge_w >= 0 and self.max_discharge_w >= 0):
            raise PhysicsInputError(
                f"power limits must be >= 0, got charge {self.max_charge_w} W, "
                f"discharge {self.max_discharge_w} W"
            )
        for name, eta in (("eta_charge", self.eta_charge), ("eta_discharge", self.eta_discharge)):
            if not 0.0 < eta <= 1.0:
                raise PhysicsInputError(f"{name} must be in (0, 1], got {eta}")
        if not 0.0 <= self.self_discharge_per_step < 1.0:
            raise PhysicsInputError(
                f"self_discharge_per_step must be in [0, 1), got {self.self_discharge_per_step}"
            )
        if not 0.0 <= self.soc_min_pct < self.soc_max_pct <= 100.0:
            raise PhysicsInputError(
                f"need 0 <= soc_min_pct < soc_max_pct <= 100, "
                f"got {self.soc_min_pct}, {self.soc_max_pct}"
            )

    @property
    def e_min_wh(self) -> float:
        """Energy at the lower SoC bound [Wh]."""
        return self.capacity_wh * self.soc_min_pct / 100.0

    @property
    def e_max_wh(self) -> float:
        """Energy at the upper SoC bound [Wh]."""
        return self.capacity_wh * self.soc_max_pct / 100.0


ENERGYTWIN_BATTERY = BatteryParams()
"""EnergyTwin's campus battery; its self-discharge is per 1 h tick."""


class BatteryLimit(StrEnum):
    """Which constraint, if any, cut the requested power in a step."""

    NONE = "none"
    POWER = "power"
    ENERGY = "energy"


@dataclass(frozen=True, slots=True)
class BatteryStep:
    """Outcome of one battery step.

    Attributes
    ----------
    p_delivered_w : power actually exchanged at the terminals [W], > 0 discharge
    e_wh : stored energy at the end of the step [Wh]
    p_clipped_w : requested minus delivered power [W]; 0 when the request was met
    e_self_discharge_wh : energy lost to self-discharge during the step [Wh]
    limit : the constraint that clipped the request
    """

    p_delivered_w: float
    e_wh: float
    p_clipped_w: float
    e_self_discharge_wh: float
    limit: BatteryLimit


def soc_pct(e_wh: float, capacity_wh: float) -> float:
    """State of charge [%] of stored energy ``e_wh`` [Wh] in a battery of ``capacity_wh`` [Wh]."""
    return 100.0 * e_wh / capacity_wh


def self_discharge_per_step(fraction_per_h: float, dt_s: float) -> float:
    """Rescale a self-discharge fraction per hour [1/h] to a step of ``dt_s`` [s] [-].

    Compounded rather than scaled linearly, so that ``n`` steps of ``dt_s`` lose exactly
    what one hour loses when ``n * dt_s = 3600``.
    """
    if not 0.0 <= fraction_per_h < 1.0:
        raise PhysicsInputError(f"fraction_per_h must be in [0, 1), got {fraction_per_h}")
    return 1.0 - math.pow(1.0 - fraction_per_h, dt_s / SECONDS_PER_HOUR)


def battery_step(
    params: BatteryParams, e_wh: float, p_request_w: float, dt_s: float
) -> BatteryStep:
    """Advance a battery by one step of ``dt_s`` under a requested terminal power.

    Order within the step: self-discharge is taken from the stored energy first, then the
    request is clipped to the power limit and to the energy that keeps SoC inside
    ``[soc_min_pct, soc_max_pct]`` at the end of the step, then the SoC model is applied.
    Self-discharge stops at the lower SoC bound: the reserve below ``soc_min_pct`` is
    treated as held by the battery management system (a simplification that keeps the
    bound a true invariant; at 1e-3 per step it moves the reserve by at most 0.1 %).

    Parameters
    ----------
    params : the battery
    e_wh : stored energy at the start of the step [Wh], within ``[0, capacity_wh]``
    p_request_w : requested terminal power [W], > 0 discharge, < 0 charge
    dt_s : step length [s], > 0

    Returns
    -------
    The delivered power, the new stored energy, the clipped power (requested minus
    delivered) and which limit clipped it.
    """
    if not (math.isfinite(e_wh) and 0.0 <= e_wh <= params.capacity_wh):
        raise PhysicsInputError(f"e_wh must be within [0, {params.capacity_wh}], got {e_wh}")
    if not math.isfinite(p_request_w):
        raise PhysicsInputError(f"p_request_w must be finite, got {p_request_w}")
    if not (math.isfinite(dt_s) and dt_s > 0):
        raise PhysicsInputError(f"dt_s must be > 0, got {dt_s}")

    dt_h = dt_s / SECONDS_PER_HOUR
    e_min, e_max = params.e_min_wh, params.e_max_wh
    e_self = min(params.self_discharge_per_step * e_wh, max(e_wh - e_min, 0.0))
    e_after_self = e_wh - e_self

    if p_request_w >= 0.0:
        p_energy_w = max(e_after_self - e_min, 0.0) * params.eta_discharge / dt_h
        p_power_w = params.max_discharge_w
        p_w = min(p_request_w, p_power_w, p_energy_w)
        e_new = e_after_self - p_w * dt_h / params.eta_discharge
    else:
        p_energy_w = max(e_max - e_after_self, 0.0) / (params.eta_charge * dt_h)
        p_power_w = params.max_charge_w
        p_w = -min(-p_request_w, p_power_w, p_energy_w)
        e_new = e_after_self + params.eta_charge * (-p_w) * dt_h

    if abs(p_w) == abs(p_request_w):
        limit = BatteryLimit.NONE
    elif p_power_w <= p_energy_w:
        limit = BatteryLimit.POWER
    else:
        limit = BatteryLimit.ENERGY

    # Only floating-point rounding can push e_new past a bound here (the request was cut to
    # the energy that lands exactly on it); clamp that residue so the bound is an invariant.
    # A start outside the bounds is left where it is rather than teleported inside.
    e_new = min(max(e_new, min(e_min, e_after_self)), max(e_max, e_after_self))

    return BatteryStep(
        p_delivered_w=p_w,
        e_wh=e_new,
        p_clipped_w=p_request_w - p_w,
        e_self_discharge_wh=e_self,
        limit=limit,
    )
