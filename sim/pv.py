"""Photovoltaic output: NOCT cell temperature and a linear temperature-corrected efficiency.

The model is EnergyTwin's PV agent:

- cell temperature (NOCT model, Ross 1976; Duffie & Beckman, *Solar Engineering of
  Thermal Processes*):  ``t_cell = t_air + (NOCT - 20) / 800 * ghi``;
- efficiency (Evans 1981; review in Skoplaki & Palyvos, Solar Energy 83 (2009) 614-624):
  ``eta = eta_ref * (1 + gamma * (t_cell - 25))``;
- power: ``P = n_panels * area * eta * ghi``.

Defaults are the EnergyTwin campus array (200 panels of 2 m2 at 20 %, gamma -0.004/K).
EnergyTwin does not quote its NOCT; 45 degC is a typical crystalline-silicon datasheet
value. ``ghi_w_m2`` is the irradiance on the modules: GHI for horizontal modules, the
plane-of-array irradiance of ``sim.poa`` for a tilted array (EnergyTwin transposes GHI to
the plane of array; a scenario does so with ``pv.tilt_deg``). No inverter losses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from gridledger.sim.errors import PhysicsInputError
from gridledger.sim.profiles import FloatArray, as_float_array

NOCT_AIR_C = 20.0
"""Air temperature of the NOCT test condition [degC]."""
NOCT_GHI_W_M2 = 800.0
"""Irradiance of the NOCT test condition [W/m2]."""
STC_CELL_C = 25.0
"""Cell temperature of standard test conditions, the reference of ``eta_ref`` [degC]."""
STC_GHI_W_M2 = 1000.0
"""Irradiance of standard test conditions [W/m2]."""


def cell_temperature_noct_c(
    t_air_c: npt.ArrayLike, ghi_w_m2: npt.ArrayLike, noct_c: float = 45.0
) -> FloatArray:
    """Cell temperature by the NOCT model [degC].

    ``t_cell = t_air + (noct - 20) / 800 * ghi``: the cell runs above air temperature in
    proportion to irradiance, calibrated so that it reaches ``noct_c`` at 800 W/m2 and
    20 degC air (1 m/s wind).

    Parameters
    ----------
    t_air_c : air temperature [degC]
    ghi_w_m2 : irradiance on the module [W/m2], >= 0
    noct_c : nominal operating cell temperature from the datasheet [degC]
    """
    t_air = as_float_array(t_air_c)
    ghi = as_float_array(ghi_w_m2)
    return np.asarray(t_air + (noct_c - NOCT_AIR_C) / NOCT_GHI_W_M2 * ghi, dtype=np.float64)


def efficiency_temperature_corrected(
    t_cell_c: npt.ArrayLike, eta_ref: float = 0.20, gamma_per_k: float = -0.004
) -> FloatArray:
    """Module efficiency corrected linearly for cell temperature [-].

    ``eta = eta_ref * (1 + gamma * (t_cell - 25))``, floored at 0 because the linear law
    would otherwise turn negative for absurdly hot cells (above 275 degC at -0.004/K).

    Parameters
    ----------
    t_cell_c : cell temperature [degC]
    eta_ref : efficiency at 25 degC cell temperature [-] (EnergyTwin: 0.20)
    gamma_per_k : temperature coefficient of efficiency [1/K] (EnergyTwin: -0.004)
    """
    t_cell = as_float_array(t_cell_c)
    eta = eta_ref * (1.0 + gamma_per_k * (t_cell - STC_CELL_C))
    return np.asarray(np.maximum(eta, 0.0), dtype=np.float64)


@dataclass(frozen=True, slots=True)
class PvArray:
    """A PV array of identical modules.

    Attributes
    ----------
    n_panels : number of modules [-] (EnergyTwin campus: 200)
    panel_area_m2 : area of one module [m2] (EnergyTwin: 2)
    eta_ref : module efficiency at 25 degC cell temperature [-] (EnergyTwin: 0.20)
    gamma_per_k : temperature coefficient of efficiency [1/K] (EnergyTwin: -0.004)
    noct_c : nominal operating cell temperature [degC] (typical datasheet value, 45)
    """

    n_panels: int = 200
    panel_area_m2: float = 2.0
    eta_ref: float = 0.20
    gamma_per_k: float = -0.004
    noct_c: float = 45.0

    def __post_init__(self) -> None:
        if self.n_panels < 0:
            raise PhysicsInputError(f"n_panels must be >= 0, got {self.n_panels}")
        if self.panel_area_m2 <= 0:
            raise PhysicsInputError(f"panel_area_m2 must be > 0, got {self.panel_area_m2}")
        if not 0.0 < self.eta_ref <= 1.0:
            raise PhysicsInputError(f"eta_ref must be in (0, 1], got {self.eta_ref}")

    @property
    def area_m2(self) -> float:
        """Total module area [m2]."""
        return self.n_panels * self.panel_area_m2

    @property
    def rated_power_w(self) -> float:
        """Output at standard test conditions (1000 W/m2, 25 degC cell) [W]."""
        return self.area_m2 * self.eta_ref * STC_GHI_W_M2


ENERGYTWIN_CAMPUS_PV = PvArray()
"""EnergyTwin's campus array: 200 x 2 m2 at 20 %, gamma -0.004/K (80 kW at STC)."""


def pv_power_w(
    ghi_w_m2: npt.ArrayLike, t_air_c: npt.ArrayLike, array: PvArray = ENERGYTWIN_CAMPUS_PV
) -> FloatArray:
    """Output of a PV array [W], >= 0 (DC, before any inverter loss).

    ``P = n_panels * panel_area * eta(t_cell) * ghi`` with ``t_cell`` from the NOCT model.

    Parameters
    ----------
    ghi_w_m2 : irradiance on the modules [W/m2], >= 0
    t_air_c : air temperature [degC]
    array : the modules (default: EnergyTwin campus)
    """
    ghi = as_float_array(ghi_w_m2)
    if np.any(ghi < 0):
        raise PhysicsInputError("ghi_w_m2 must be >= 0")
    t_cell = cell_temperature_noct_c(t_air_c, ghi, array.noct_c)
    eta = efficiency_temperature_corrected(t_cell, array.eta_ref, array.gamma_per_k)
    return np.asarray(array.area_m2 * eta * ghi, dtype=np.float64)
