"""Thermal comfort and a dwelling's thermal model.

Comfort: Fanger's PMV/PPD (ISO 7730, ASHRAE 55) through `pythermalcomfort`. A household's
thermal-flexibility row (current comfort, tolerance; sim/twin/flex.py) becomes a band of
indoor temperatures: those whose PMV lies within the tolerance of the current comfort, for
given metabolic rate, clothing, humidity and air speed (mean radiant = air temperature).

Dwelling: a first-order RC model (one thermal resistance R [K/W] to outdoors, one capacity
C [J/K]) heated by an HVAC heat pump of coefficient of performance COP:
    C dT/dt = (T_out - T) / R + COP * P_hvac
discretised exactly over a step dt with T_out and P_hvac held:
    T[k+1] = a T[k] + (1 - a) (T_out[k] + R COP P_hvac[k]),   a = exp(-dt / (R C)).
Linear in T and P_hvac, so the scheduler takes it as equality constraints.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt

from gridledger.sim.errors import TwinError
from gridledger.sim.profiles import FloatArray

BAND_GRID_C = np.round(np.arange(10.0, 35.0, 0.01), 2)
"""Indoor temperatures [degC] the comfort band is searched over (0.01 K steps)."""


@dataclass(frozen=True, slots=True)
class Occupant:
    """The PMV inputs besides temperature: metabolic rate [met], clothing [clo], relative
    humidity [%], air speed [m/s]. Defaults: seated light activity, indoor winter clothing."""

    met: float = 1.2
    clo: float = 1.0
    rh_pct: float = 50.0
    v_m_s: float = 0.1


def pmv_ppd(t_c: npt.ArrayLike, occupant: Occupant = Occupant()) -> tuple[FloatArray, FloatArray]:
    """PMV [-] and PPD [%] at indoor temperature ``t_c`` [degC] (ASHRAE 55-2023 model)."""
    from pythermalcomfort.models import pmv_ppd_ashrae  # noqa: PLC0415 (1.5 s to import)

    t = np.asarray(t_c, dtype=np.float64)
    result = pmv_ppd_ashrae(
        tdb=t,
        tr=t,
        vr=occupant.v_m_s,
        rh=occupant.rh_pct,
        met=occupant.met,
        clo=occupant.clo,
        limit_inputs=False,
        round_output=False,
    )
    return np.asarray(result.pmv, dtype=np.float64), np.asarray(result.ppd, dtype=np.float64)


@cache
def comfort_band_c(
    comfort_pmv: float, tolerance_pmv: float, occupant: Occupant = Occupant()
) -> tuple[float, float]:
    """The indoor temperatures [degC] with |PMV - comfort_pmv| <= tolerance_pmv: (low, high)."""
    if tolerance_pmv <= 0:
        raise TwinError(f"comfort tolerance must be > 0 PMV, got {tolerance_pmv}")
    pmv, _ = pmv_ppd(BAND_GRID_C, occupant)
    inside = np.abs(pmv - comfort_pmv) <= tolerance_pmv
    if not inside.any():
        raise TwinError(
            f"no indoor temperature in 10-35 degC gives PMV {comfort_pmv:+.2f} "
            f"+- {tolerance_pmv:.2f} for {occupant}"
        )
    temps = BAND_GRID_C[inside]
    return float(temps.min()), float(temps.max())


@dataclass(frozen=True, slots=True)
class Dwelling:
    """A dwelling's RC model and its HVAC heat pump.

    r_k_per_w: resistance to outdoors [K/W] (1 / UA); c_j_per_k: thermal capacity [J/K];
    cop: heating coefficient of performance [-]; hvac_max_w: electrical HVAC limit [W].
    Defaults: a well-insulated German single-family house (UA 80 W/K, 10 MJ/K, tau ~35 h).
    """

    r_k_per_w: float = 1.0 / 80.0
    c_j_per_k: float = 10e6
    cop: float = 3.0
    hvac_max_w: float = 2000.0

    def __post_init__(self) -> None:
        for name in ("r_k_per_w", "c_j_per_k", "cop", "hvac_max_w"):
            if not getattr(self, name) > 0:
                raise TwinError(f"dwelling {name} must be > 0, got {getattr(self, name)}")

    def decay(self, dt_s: float) -> float:
        """a = exp(-dt / (R C)) [-]."""
        return math.exp(-dt_s / (self.r_k_per_w * self.c_j_per_k))

    def gain_k_per_w(self, dt_s: float) -> float:
        """Temperature rise per W of HVAC power held over one step [K/W]: (1 - a) R COP."""
        return (1.0 - self.decay(dt_s)) * self.r_k_per_w * self.cop

    def simulate_c(
        self, t0_c: float, t_out_c: npt.ArrayLike, p_hvac_w: npt.ArrayLike, dt_s: float
    ) -> FloatArray:
        """Indoor temperature [degC] at the start of every step and after the last one."""
        t_out = np.asarray(t_out_c, dtype=np.float64)
        p = np.asarray(p_hvac_w, dtype=np.float64)
        a, g = self.decay(dt_s), self.gain_k_per_w(dt_s)
        out = np.empty(len(t_out) + 1)
        out[0] = t0_c
        for k in range(len(t_out)):
            out[k + 1] = a * out[k] + (1.0 - a) * t_out[k] + g * p[k]
        return out

    def thermostat_w(
        self, setpoint_c: float, t0_c: float, t_out_c: npt.ArrayLike, dt_s: float
    ) -> FloatArray:
        """HVAC power [W] a thermostat without a twin draws to bring the room to
        ``setpoint_c`` at the end of every step (heating only, within the limit)."""
        t_out = np.asarray(t_out_c, dtype=np.float64)
        a, g = self.decay(dt_s), self.gain_k_per_w(dt_s)
        t, out = t0_c, np.empty(len(t_out))
        for k in range(len(t_out)):
            need = (setpoint_c - a * t - (1.0 - a) * t_out[k]) / g
            out[k] = min(max(need, 0.0), self.hvac_max_w)
            t = a * t + (1.0 - a) * t_out[k] + g * out[k]
        return out
