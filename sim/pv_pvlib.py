"""The PV array through pvlib (optional): Ross/NOCT cell temperature and the PVWatts DC model.

pvlib's `temperature.ross` with `noct` is the NOCT cell temperature of `sim.pv`, and its
`pvsystem.pvwatts_dc` with pdc0 = n_panels * panel_area * eta_ref * 1000 W/m2 and
gamma_pdc = gamma is the temperature-corrected efficiency model of `sim.pv`, so both give the
same power (tested); choose this one in a scenario with `pv.model = "pvlib"` to cross-check
against the reference library, or as the starting point for pvlib's richer models
(transposition, IAM, inverter). Needs `pip install pvlib` (the `pvlib` extra).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from gridledger.sim.errors import PhysicsInputError, SimError
from gridledger.sim.profiles import FloatArray, as_float_array
from gridledger.sim.pv import ENERGYTWIN_CAMPUS_PV, PvArray


def pv_power_pvlib_w(
    ghi_w_m2: npt.ArrayLike, t_air_c: npt.ArrayLike, array: PvArray = ENERGYTWIN_CAMPUS_PV
) -> FloatArray:
    """Output of a PV array [W] computed by pvlib.

    Parameters
    ----------
    ghi_w_m2 : irradiance on the modules [W/m2], >= 0
    t_air_c : air temperature [degC]
    array : the modules (default: EnergyTwin campus)
    """
    try:
        from pvlib.pvsystem import pvwatts_dc
        from pvlib.temperature import ross
    except ImportError as exc:
        raise SimError("pv.model = 'pvlib' needs pvlib: pip install 'gridledger[pvlib]'") from exc
    ghi = as_float_array(ghi_w_m2)
    if np.any(ghi < 0):
        raise PhysicsInputError("ghi_w_m2 must be >= 0")
    t_cell_c = ross(ghi, as_float_array(t_air_c), noct=array.noct_c)
    power_w = pvwatts_dc(ghi, t_cell_c, pdc0=array.rated_power_w, gamma_pdc=array.gamma_per_k)
    return np.asarray(np.maximum(power_w, 0.0), dtype=np.float64)
