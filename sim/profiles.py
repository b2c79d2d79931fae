"""Shared helpers for daily profiles: time of day, periodic interpolation, seeded noise.

Every profile in ``sim`` is a function of the time of day in seconds [s] since 00:00 UTC.
Inputs beyond one day wrap (``t_s % 86400``), so a multi-day array of seconds works
unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from gridledger.contracts.units import SECONDS_PER_DAY
from gridledger.sim.errors import PhysicsInputError

FloatArray = npt.NDArray[np.float64]
"""A numpy array of float64, the type of every physical array in ``sim``."""

IntArray = npt.NDArray[np.int64]
"""A numpy array of int64, the type of metered integer energies."""

SECONDS_PER_HOUR = 3600


def as_float_array(x: npt.ArrayLike) -> FloatArray:
    """``x`` as a float64 array (0-d for a scalar), refusing NaN and infinities."""
    arr = np.asarray(x, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise PhysicsInputError("physical inputs must be finite (got NaN or inf)")
    return arr


def hour_of_day(t_s: npt.ArrayLike) -> FloatArray:
    """Fractional hour of day [h] in [0, 24) for time of day ``t_s`` [s since 00:00]."""
    return np.mod(as_float_array(t_s), SECONDS_PER_DAY) / SECONDS_PER_HOUR


def periodic_hourly_interp(t_s: npt.ArrayLike, hourly_factors: Sequence[float]) -> FloatArray:
    """Piecewise-linear daily profile through 24 hourly values, wrapping at midnight.

    Parameters
    ----------
    t_s : time of day [s since 00:00]
    hourly_factors : 24 values [-], the profile at 00:00, 01:00, ..., 23:00

    Returns
    -------
    The profile at ``t_s`` [-]. Between 23:00 and 24:00 it runs back to the 00:00 value,
    so the day joins itself without a jump.
    """
    factors = np.asarray(hourly_factors, dtype=np.float64)
    if factors.shape != (24,):
        raise PhysicsInputError(f"need 24 hourly factors, got shape {factors.shape}")
    hours = np.arange(25, dtype=np.float64)
    closed = np.append(factors, factors[0])
    return np.asarray(np.interp(hour_of_day(t_s), hours, closed), dtype=np.float64)


def gaussian_noise(shape: tuple[int, ...], std: float, seed: int | None) -> FloatArray:
    """Zero-mean Gaussian noise of standard deviation ``std`` from a generator seeded by ``seed``.

    ``std == 0`` returns zeros and needs no seed. Any ``std > 0`` needs an explicit integer
    seed: noise without a seed would make a run irreproducible, so that is refused rather
    than silently drawn from OS entropy.
    """
    if std < 0 or not np.isfinite(std):
        raise PhysicsInputError(f"noise std must be finite and >= 0, got {std}")
    if std == 0:
        return np.zeros(shape, dtype=np.float64)
    if seed is None:
        raise PhysicsInputError("noise with std > 0 needs an explicit integer seed")
    return np.random.default_rng(seed).normal(0.0, std, size=shape)


def in_window(t_s: npt.ArrayLike, start_s: float, end_s: float) -> npt.NDArray[np.bool_]:
    """Mask of times of day inside the daily window ``[start_s, end_s)`` [s since 00:00].

    A window with ``start_s > end_s`` wraps midnight (for example 22:00-06:00).
    """
    tod_s = np.mod(as_float_array(t_s), SECONDS_PER_DAY)
    if start_s <= end_s:
        return np.asarray((tod_s >= start_s) & (tod_s < end_s))
    return np.asarray((tod_s >= start_s) | (tod_s < end_s))
