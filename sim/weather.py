"""Synthetic weather: diurnal irradiance and air temperature, sinusoid plus Gaussian noise.

The model is EnergyTwin's weather agent (sinusoidal daily cycle with additive Gaussian
noise). EnergyTwin publishes its campus day (sunrise 06:00, sunset 18:00, peak irradiance
1000 W/m2; ``sim/scenarios/energytwin.toml`` uses them); it does not publish its noise or
temperature parameters. The defaults here are generic mid-latitude equinox values; each
scenario sets its own.

All functions are vectorised over an array of time-of-day seconds [s since 00:00 UTC];
noise comes from ``numpy.random.default_rng(seed)`` and is therefore reproducible.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from gridledger.sim.errors import PhysicsInputError
from gridledger.sim.profiles import FloatArray, gaussian_noise, hour_of_day


def ghi_w_m2(
    t_s: npt.ArrayLike,
    *,
    peak_ghi_w_m2: float = 800.0,
    sunrise_h: float = 6.0,
    sunset_h: float = 18.0,
    noise_std_w_m2: float = 0.0,
    seed: int | None = None,
) -> FloatArray:
    """Global horizontal irradiance as a half-sine between sunrise and sunset, zero at night.

    ``ghi = peak * sin(pi * (h - sunrise) / (sunset - sunrise))`` for sunrise < h < sunset,
    plus Gaussian noise (clouds, haze) during daylight only, clipped at 0. Night stays
    exactly 0 so that PV output at night is exactly 0, noise or not.

    Parameters
    ----------
    t_s : time of day [s since 00:00 UTC]
    peak_ghi_w_m2 : clear-sky irradiance at solar noon [W/m2]
    sunrise_h, sunset_h : sunrise and sunset [h since 00:00 UTC], ``sunrise_h < sunset_h``
    noise_std_w_m2 : standard deviation of the additive daylight noise [W/m2]
    seed : seed of the noise generator; required when ``noise_std_w_m2 > 0``

    Returns
    -------
    GHI [W/m2], >= 0, same shape as ``t_s``.
    """
    if not 0.0 <= sunrise_h < sunset_h <= 24.0:
        raise PhysicsInputError(
            f"need 0 <= sunrise_h < sunset_h <= 24, got {sunrise_h}, {sunset_h}"
        )
    if peak_ghi_w_m2 < 0:
        raise PhysicsInputError(f"peak_ghi_w_m2 must be >= 0, got {peak_ghi_w_m2}")
    h = hour_of_day(t_s)
    daylight = (h > sunrise_h) & (h < sunset_h)
    phase = np.pi * (h - sunrise_h) / (sunset_h - sunrise_h)
    clear_sky = np.where(daylight, peak_ghi_w_m2 * np.sin(phase), 0.0)
    noisy = clear_sky + gaussian_noise(h.shape, noise_std_w_m2, seed)
    return np.asarray(np.where(daylight, np.maximum(noisy, 0.0), 0.0), dtype=np.float64)


def air_temperature_c(
    t_s: npt.ArrayLike,
    *,
    mean_c: float = 15.0,
    amplitude_c: float = 6.0,
    peak_h: float = 15.0,
    noise_std_c: float = 0.0,
    seed: int | None = None,
) -> FloatArray:
    """Air temperature as a 24 h cosine peaking at ``peak_h``, plus Gaussian noise.

    ``t_air = mean + amplitude * cos(2 pi (h - peak_h) / 24) + N(0, noise_std^2)``.
    The afternoon peak (about 15:00) reflects the lag of air temperature behind
    irradiance.

    Parameters
    ----------
    t_s : time of day [s since 00:00 UTC]
    mean_c : daily mean air temperature [degC]
    amplitude_c : half the daily swing [K], >= 0
    peak_h : hour of the daily maximum [h since 00:00 UTC]
    noise_std_c : standard deviation of the additive noise [K]
    seed : seed of the noise generator; required when ``noise_std_c > 0``

    Returns
    -------
    Air temperature [degC], same shape as ``t_s``.
    """
    if amplitude_c < 0:
        raise PhysicsInputError(f"amplitude_c must be >= 0, got {amplitude_c}")
    h = hour_of_day(t_s)
    cycle = mean_c + amplitude_c * np.cos(2.0 * np.pi * (h - peak_h) / 24.0)
    return np.asarray(cycle + gaussian_noise(h.shape, noise_std_c, seed), dtype=np.float64)
