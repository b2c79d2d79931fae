"""Power balance at the point of common coupling (PCC) and its metering.

Sign convention (docs/architecture.md, "Units and signs"; the load convention of pandapower):
PCC power > 0 is import into the microgrid from the grid, < 0 export. Battery power > 0 is
discharge. PV power and load are >= 0.

The meter turns power over a step into non-negative integer energies, the only form in
which a reading reaches the ledger; ``metered_energy_wh`` is the one place where the
float physics becomes integers.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from gridledger.sim.errors import PhysicsInputError
from gridledger.sim.profiles import SECONDS_PER_HOUR, FloatArray, IntArray, as_float_array


def pcc_power_w(
    p_load_w: npt.ArrayLike, p_pv_w: npt.ArrayLike, p_battery_w: npt.ArrayLike
) -> FloatArray:
    """Power drawn from the grid at the PCC [W], > 0 import, < 0 export.

    ``p_pcc = p_load - p_pv - p_battery``: whatever the load needs beyond what the PV and
    the battery supply comes from the grid; a surplus goes out. This expression is the
    definition of the balance, so the balance closes exactly by construction.

    Parameters
    ----------
    p_load_w : consumption [W], >= 0
    p_pv_w : PV generation [W], >= 0
    p_battery_w : battery terminal power [W], > 0 discharge, < 0 charge
    """
    load = as_float_array(p_load_w)
    pv = as_float_array(p_pv_w)
    battery = as_float_array(p_battery_w)
    return np.asarray(load - pv - battery, dtype=np.float64)


def metered_energy_wh(p_pcc_w: npt.ArrayLike, dt_s: float) -> tuple[IntArray, IntArray]:
    """Meter register increments over one step each: (import_wh, export_wh) [Wh], integers.

    ``import_wh = round(max(p_pcc, 0) * dt / 3600)``, ``export_wh`` likewise for the
    negative part; both >= 0 and at most one of them non-zero per step. Rounding is half
    to even (numpy's ``rint``), so the meter has no bias on average.

    Parameters
    ----------
    p_pcc_w : PCC power over each step [W], > 0 import
    dt_s : step length [s], > 0
    """
    if dt_s <= 0:
        raise PhysicsInputError(f"dt_s must be > 0, got {dt_s}")
    p = as_float_array(p_pcc_w)
    import_wh = np.rint(np.maximum(p, 0.0) * dt_s / SECONDS_PER_HOUR).astype(np.int64)
    export_wh = np.rint(np.maximum(-p, 0.0) * dt_s / SECONDS_PER_HOUR).astype(np.int64)
    return import_wh, export_wh


def metered_power_w(import_wh: npt.ArrayLike, export_wh: npt.ArrayLike, dt_s: float) -> FloatArray:
    """Mean PCC power over each step as the ledger sees it [W], from metered energies [Wh]."""
    if dt_s <= 0:
        raise PhysicsInputError(f"dt_s must be > 0, got {dt_s}")
    net_wh = np.asarray(import_wh, dtype=np.int64) - np.asarray(export_wh, dtype=np.int64)
    return np.asarray(net_wh * (SECONDS_PER_HOUR / dt_s), dtype=np.float64)
