"""Daily electrical load profiles: residential, commercial, campus, critical infrastructure.

Each profile is a piecewise-linear curve through 24 hourly shape factors in [0, 1] whose
maximum is exactly 1, scaled by ``peak_w`` [W], with optional multiplicative Gaussian
noise ``P = peak * f(t) * (1 + N(0, noise_frac^2))`` clipped at 0.

The shapes are illustrative archetypes, not measured data: FED-MGDT publishes no hourly
profile, and EnergyTwin gives its campus load as a 50 kW peak with fractions by period of
the day, not an hourly curve. What the sources fix is the character of each class (FED-MGDT
MG1 residential with an evening peak, MG2 commercial, MG3 critical infrastructure; the
EnergyTwin campus with a 50 kW peak), and that is what the shapes keep.
``profile_w`` takes any 24 hourly factors, for example ones fitted to measured CSV data.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from gridledger.sim.errors import PhysicsInputError
from gridledger.sim.profiles import FloatArray, gaussian_noise, periodic_hourly_interp

# Hourly factors at 00:00, 01:00, ..., 23:00.
# Residential: night trough, a breakfast bump, a daytime lull, the evening peak at 19:00
# (cooking, lighting, heating/EV) that makes a 17:00-20:00 import cap bind.
RESIDENTIAL_FACTORS: tuple[float, ...] = (
    0.30, 0.25, 0.22, 0.22, 0.23, 0.28, 0.40, 0.55, 0.50, 0.40, 0.35, 0.35,
    0.38, 0.36, 0.35, 0.40, 0.55, 0.80, 0.95, 1.00, 0.90, 0.70, 0.50, 0.38,
)  # fmt: skip
# Commercial: a business-hours plateau 09:00-16:00, low base outside (refrigeration, IT).
COMMERCIAL_FACTORS: tuple[float, ...] = (
    0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.35, 0.60, 0.90, 1.00, 1.00, 1.00,
    1.00, 1.00, 1.00, 1.00, 1.00, 0.85, 0.60, 0.45, 0.35, 0.30, 0.28, 0.26,
)  # fmt: skip
# Campus: a teaching-day plateau with a long evening tail (labs, residences).
CAMPUS_FACTORS: tuple[float, ...] = (
    0.38, 0.36, 0.35, 0.35, 0.35, 0.37, 0.42, 0.55, 0.80, 0.95, 1.00, 1.00,
    1.00, 1.00, 1.00, 1.00, 0.95, 0.85, 0.75, 0.70, 0.65, 0.55, 0.45, 0.40,
)  # fmt: skip
# Critical infrastructure (hospital, water pumping): flat with a high base; it cannot shed.
CRITICAL_FACTORS: tuple[float, ...] = (
    0.85, 0.85, 0.85, 0.85, 0.85, 0.86, 0.88, 0.92, 0.96, 0.98, 1.00, 1.00,
    1.00, 1.00, 1.00, 0.99, 0.98, 0.96, 0.94, 0.92, 0.90, 0.88, 0.87, 0.86,
)  # fmt: skip
# German household standard load profile (BDEW H0, VDEW 1999), transition-period working
# day: an hourly approximation of its shape (night trough, morning rise, midday plateau, the
# 20:00 evening peak), scaled to a maximum of 1; not the official quarter-hour table, which
# a scenario can use instead through ``load.csv``. At 1,000 kWh/a the peak is about 180 W.
H0_FACTORS: tuple[float, ...] = (
    0.46, 0.34, 0.31, 0.29, 0.29, 0.31, 0.43, 0.62, 0.71, 0.72, 0.73, 0.78,
    0.86, 0.81, 0.71, 0.64, 0.63, 0.70, 0.86, 0.99, 1.00, 0.92, 0.78, 0.60,
)  # fmt: skip


def profile_w(
    t_s: npt.ArrayLike,
    hourly_factors: Sequence[float],
    *,
    peak_w: float,
    noise_frac: float = 0.0,
    seed: int | None = None,
) -> FloatArray:
    """Load [W] following 24 hourly shape factors, with multiplicative Gaussian noise.

    Parameters
    ----------
    t_s : time of day [s since 00:00 UTC]
    hourly_factors : 24 shape factors [-], >= 0, at 00:00 ... 23:00
    peak_w : load where the shape factor is 1 [W], >= 0
    noise_frac : standard deviation of the relative noise [-] (0.05 = 5 %)
    seed : seed of the noise generator; required when ``noise_frac > 0``

    Returns
    -------
    Load [W], >= 0, same shape as ``t_s``.
    """
    if peak_w < 0:
        raise PhysicsInputError(f"peak_w must be >= 0, got {peak_w}")
    if min(hourly_factors) < 0:
        raise PhysicsInputError("hourly factors must be >= 0")
    shape = periodic_hourly_interp(t_s, hourly_factors)
    noise = gaussian_noise(shape.shape, noise_frac, seed)
    # Multiplicative noise: a load's variability scales with the load itself.
    return np.asarray(np.maximum(peak_w * shape * (1.0 + noise), 0.0), dtype=np.float64)


def residential_load_w(
    t_s: npt.ArrayLike, *, peak_w: float, noise_frac: float = 0.0, seed: int | None = None
) -> FloatArray:
    """Residential feeder load [W]: evening peak (``peak_w`` at 19:00), night trough 22 %.

    Parameters as ``profile_w``; FED-MGDT MG1 is of this class.
    """
    return profile_w(t_s, RESIDENTIAL_FACTORS, peak_w=peak_w, noise_frac=noise_frac, seed=seed)


def commercial_load_w(
    t_s: npt.ArrayLike, *, peak_w: float, noise_frac: float = 0.0, seed: int | None = None
) -> FloatArray:
    """Commercial load [W]: ``peak_w`` plateau 09:00-16:00, 25 % base at night.

    Parameters as ``profile_w``; FED-MGDT MG2 is of this class.
    """
    return profile_w(t_s, COMMERCIAL_FACTORS, peak_w=peak_w, noise_frac=noise_frac, seed=seed)


def campus_load_w(
    t_s: npt.ArrayLike,
    *,
    peak_w: float = 50_000.0,
    noise_frac: float = 0.0,
    seed: int | None = None,
) -> FloatArray:
    """University campus load [W]: teaching-day plateau, evening tail, 35 % night base.

    Parameters as ``profile_w``; the default peak is EnergyTwin's 50 kW.
    """
    return profile_w(t_s, CAMPUS_FACTORS, peak_w=peak_w, noise_frac=noise_frac, seed=seed)


def critical_load_w(
    t_s: npt.ArrayLike, *, peak_w: float, noise_frac: float = 0.0, seed: int | None = None
) -> FloatArray:
    """Critical-infrastructure load [W]: nearly flat, never below 85 % of ``peak_w``.

    Parameters as ``profile_w``; FED-MGDT MG3 is of this class.
    """
    return profile_w(t_s, CRITICAL_FACTORS, peak_w=peak_w, noise_frac=noise_frac, seed=seed)
