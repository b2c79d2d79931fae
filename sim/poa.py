"""Plane-of-array irradiance from GHI through pvlib: Erbs decomposition, isotropic transposition.

A tilted array sees neither the horizontal irradiance nor a fixed multiple of it. Given the
global horizontal irradiance ``ghi_w_m2`` of the weather model, the solar position at the site
(``pvlib.solarposition``) splits it into beam and diffuse parts by the Erbs correlation
(``pvlib.irradiance.erbs``; Erbs, Klein & Duffie, Solar Energy 28 (1982) 293-302), and the
isotropic sky model (``pvlib.irradiance.get_total_irradiance``, ``model="isotropic"``; Liu &
Jordan 1963) sums beam, sky diffuse and ground-reflected irradiance on the tilted plane.
EnergyTwin's PV agent converts GHI to plane-of-array irradiance the same way; which
decomposition and sky model it uses is not published, so these two are this project's choice
(docs/reproductions.md).

Times are taken as local solar time at ``longitude_deg`` (the scenario's hours are UTC, so a
site at longitude 0 keeps solar noon at 12:00, where the synthetic weather puts it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from gridledger.sim.errors import SimError
from gridledger.sim.profiles import FloatArray, as_float_array


@dataclass(frozen=True, slots=True)
class ArrayOrientation:
    """Where and how an array is mounted.

    Attributes
    ----------
    latitude_deg, longitude_deg : site [deg north, deg east]
    tilt_deg : module tilt from horizontal [deg], 0-90
    azimuth_deg : direction the modules face [deg clockwise from north], 180 = south
    albedo : ground reflectance [-]
    """

    latitude_deg: float
    longitude_deg: float
    tilt_deg: float
    azimuth_deg: float = 180.0
    albedo: float = 0.2

    def __post_init__(self) -> None:
        if not -90.0 <= self.latitude_deg <= 90.0:
            raise ValueError(f"latitude_deg must be in [-90, 90], got {self.latitude_deg}")
        if not 0.0 <= self.tilt_deg <= 90.0:
            raise ValueError(f"tilt_deg must be in [0, 90], got {self.tilt_deg}")
        if not 0.0 <= self.albedo <= 1.0:
            raise ValueError(f"albedo must be in [0, 1], got {self.albedo}")


def poa_global_w_m2(
    ghi_w_m2: npt.ArrayLike, time_ts: npt.ArrayLike, orientation: ArrayOrientation
) -> FloatArray:
    """Plane-of-array global irradiance [W/m2], >= 0, for GHI ``ghi_w_m2`` [W/m2] at the
    instants ``time_ts`` [unix s] (the middle of each step is the caller's choice).

    With ``tilt_deg = 0`` the plane is horizontal and the result equals ``ghi_w_m2``.
    """
    try:
        from pvlib import irradiance, solarposition
    except ImportError as exc:  # pragma: no cover - pvlib is a dependency
        raise SimError("plane-of-array irradiance needs pvlib: pip install pvlib") from exc
    ghi = as_float_array(ghi_w_m2)
    if np.any(ghi < 0):
        raise ValueError("ghi_w_m2 must be >= 0")
    times = pd.DatetimeIndex(pd.to_datetime(np.asarray(time_ts, dtype=np.int64), unit="s"))
    times = times.tz_localize("UTC")
    sun = solarposition.get_solarposition(
        times, orientation.latitude_deg, orientation.longitude_deg, method="nrel_numpy"
    )
    zenith = sun["apparent_zenith"].to_numpy()
    split = irradiance.erbs(ghi, zenith, np.asarray(times.day_of_year))
    total = irradiance.get_total_irradiance(
        orientation.tilt_deg,
        orientation.azimuth_deg,
        zenith,
        sun["azimuth"].to_numpy(),
        dni=np.asarray(split["dni"]),
        ghi=ghi,
        dhi=np.asarray(split["dhi"]),
        albedo=orientation.albedo,
        model="isotropic",
    )
    poa = np.nan_to_num(np.asarray(total["poa_global"], dtype=np.float64))
    return np.asarray(np.maximum(poa, 0.0), dtype=np.float64)
