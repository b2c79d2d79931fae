"""The exogenous inputs of a run, computed for all steps at once: weather, PV, loads, events.

Nothing here depends on control decisions, so it is vectorised over the whole horizon; only
the batteries are stepped one tick at a time (``sim.model``).

Seeding: one root seed per scenario; ``numpy.random.SeedSequence(seed).generate_state(2 +
n_microgrids)`` gives the irradiance seed, the air-temperature seed and one load seed per
microgrid in file order. The stream is prefix-stable, so the first microgrid of a scenario
sees exactly the noise of ``sim.fedmgdt.simulate_mg1_day`` with the same root seed. A
microgrid with ``noise_as`` draws the load seed of the microgrid it names instead of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gridledger.contracts.units import SECONDS_PER_DAY
from gridledger.sim.errors import SimError
from gridledger.sim.loads import (
    CAMPUS_FACTORS,
    COMMERCIAL_FACTORS,
    CRITICAL_FACTORS,
    H0_FACTORS,
    RESIDENTIAL_FACTORS,
    profile_w,
)
from gridledger.sim.measured import read_series_csv
from gridledger.sim.poa import ArrayOrientation, poa_global_w_m2
from gridledger.sim.profiles import FloatArray, IntArray
from gridledger.sim.pv import pv_power_w
from gridledger.sim.pv_pvlib import pv_power_pvlib_w
from gridledger.sim.scenario import EventKind, LoadProfile, MicrogridSpec, Scenario
from gridledger.sim.weather import air_temperature_c, ghi_w_m2

_FACTORS = {
    LoadProfile.RESIDENTIAL: RESIDENTIAL_FACTORS,
    LoadProfile.COMMERCIAL: COMMERCIAL_FACTORS,
    LoadProfile.CAMPUS: CAMPUS_FACTORS,
    LoadProfile.CRITICAL: CRITICAL_FACTORS,
    LoadProfile.H0: H0_FACTORS,
}


@dataclass(frozen=True, slots=True)
class Exogenous:
    """Per-step inputs of a run (each array has ``n_steps`` entries, read-only).

    Attributes
    ----------
    time_ts : start of each step [unix s]
    t_day_s : the same instants as seconds since 00:00 UTC of the first day [s]
    ghi_w_m2 : irradiance [W/m2]; t_air_c : air temperature [degC]
    p_load_w, p_pv_w : per microgrid (by name) load and PV output [W], events applied
    """

    time_ts: IntArray
    t_day_s: FloatArray
    ghi_w_m2: FloatArray
    t_air_c: FloatArray
    p_load_w: dict[str, FloatArray]
    p_pv_w: dict[str, FloatArray]


def step_seeds(seed: int, n_microgrids: int) -> tuple[int, int, tuple[int, ...]]:
    """(irradiance seed, air-temperature seed, load seed per microgrid) from a root seed."""
    state = [int(s) for s in np.random.SeedSequence(seed).generate_state(2 + n_microgrids)]
    return state[0], state[1], tuple(state[2:])


def _load_w(mg: MicrogridSpec, scenario: Scenario, t_day_s: FloatArray, seed: int) -> FloatArray:
    if mg.load.csv is not None:
        return read_series_csv(mg.load.csv, scenario.start_ts, scenario.dt_s, scenario.n_steps)
    return profile_w(
        t_day_s,
        _FACTORS[mg.load.profile],
        peak_w=mg.load.peak_w,
        noise_frac=mg.load.noise_frac,
        seed=seed,
    )


def _pv_w(
    mg: MicrogridSpec, scenario: Scenario, ghi: FloatArray, t_air: FloatArray, time_ts: IntArray
) -> FloatArray:
    if mg.pv is None:
        return np.zeros_like(ghi)
    if mg.pv.csv is not None:
        return read_series_csv(mg.pv.csv, scenario.start_ts, scenario.dt_s, scenario.n_steps)
    irradiance = ghi
    if mg.pv.tilt_deg is not None:
        latitude = scenario.weather.latitude_deg
        if latitude is None:
            raise SimError(f"microgrid {mg.name!r}: a tilted array needs weather.latitude_deg")
        orientation = ArrayOrientation(
            latitude, scenario.weather.longitude_deg, mg.pv.tilt_deg, mg.pv.azimuth_deg,
            mg.pv.albedo,
        )  # fmt: skip
        irradiance = poa_global_w_m2(ghi, time_ts, orientation)
    if mg.pv.model == "pvlib":
        return pv_power_pvlib_w(irradiance, t_air, mg.pv.array)
    return pv_power_w(irradiance, t_air, mg.pv.array)


def compute_exogenous(scenario: Scenario) -> Exogenous:
    """Weather, PV and load of every microgrid over the scenario's horizon, events applied."""
    n, dt_s = scenario.n_steps, scenario.dt_s
    time_ts = scenario.start_ts + dt_s * np.arange(n, dtype=np.int64)
    t_day_s = (scenario.start_ts % SECONDS_PER_DAY) + dt_s * np.arange(n, dtype=np.float64)
    ghi_seed, t_air_seed, load_seeds = step_seeds(scenario.seed, len(scenario.microgrids))
    w = scenario.weather
    if w.ghi_csv is not None:
        ghi = read_series_csv(w.ghi_csv, scenario.start_ts, dt_s, n)
    else:
        ghi = ghi_w_m2(
            t_day_s,
            peak_ghi_w_m2=w.peak_ghi_w_m2,
            sunrise_h=w.sunrise_h,
            sunset_h=w.sunset_h,
            noise_std_w_m2=w.ghi_noise_std_w_m2,
            seed=ghi_seed,
        )
    if w.t_air_csv is not None:
        t_air = read_series_csv(w.t_air_csv, scenario.start_ts, dt_s, n, allow_negative=True)
    else:
        t_air = air_temperature_c(
            t_day_s,
            mean_c=w.t_air_mean_c,
            amplitude_c=w.t_air_amplitude_c,
            peak_h=w.t_air_peak_h,
            noise_std_c=w.t_air_noise_std_c,
            seed=t_air_seed,
        )
    seed_of = {mg.name: seed for mg, seed in zip(scenario.microgrids, load_seeds, strict=True)}
    loads = {}
    pvs = {}
    for mg in scenario.microgrids:
        loads[mg.name] = _load_w(mg, scenario, t_day_s, seed_of[mg.noise_as or mg.name])
        pvs[mg.name] = _pv_w(mg, scenario, ghi, t_air, time_ts)
    for event in scenario.events:
        target = pvs if event.kind is EventKind.PV_SCALE else loads
        span = slice(event.start_step, event.start_step + event.n_steps)
        scaled = target[event.microgrid].copy()
        scaled[span] *= event.factor
        target[event.microgrid] = scaled
    for arr in (time_ts, t_day_s, ghi, t_air, *loads.values(), *pvs.values()):
        arr.flags.writeable = False
    return Exogenous(time_ts, t_day_s, ghi, t_air, loads, pvs)
