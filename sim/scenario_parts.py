"""Parsers of the scenario file's component tables: measured-series references, weather,
load, PV and battery (``sim.scenario_load`` assembles them and checks cross references).

Each takes a ``sim.tomlcheck.Table`` and returns the frozen spec, raising ``ScenarioError``
with the key path of the first bad value; unknown keys are refused.
"""

from __future__ import annotations

from pathlib import Path

from gridledger.sim.pv import PvArray
from gridledger.sim.scenario import (
    BatterySpec,
    CsvSeries,
    LoadProfile,
    LoadSpec,
    PvSpec,
    WeatherSpec,
)
from gridledger.sim.tomlcheck import Table


def csv_series(table: Table, key: str) -> CsvSeries | None:
    """The measured series ``{path, column, timestamp_column}`` at ``key``; the path is
    resolved against the scenario file's folder and must exist."""
    sub = table.table(key)
    if sub is None:
        return None
    raw = sub.string("path")
    base = sub.source.parent if sub.source is not None else Path.cwd()
    path = (base / raw).resolve()
    if not path.is_file():
        raise sub.error("path", f"no such file: {path}")
    series = CsvSeries(
        path=path,
        column=sub.string("column"),
        timestamp_column=sub.string("timestamp_column", "timestamp"),
    )
    sub.done()
    return series


def weather(table: Table | None) -> WeatherSpec:
    """The ``[weather]`` table (defaults of ``WeatherSpec`` when absent)."""
    if table is None:
        return WeatherSpec()
    d = WeatherSpec()
    spec = WeatherSpec(
        peak_ghi_w_m2=table.number("peak_ghi_w_m2", d.peak_ghi_w_m2, ge=0),
        sunrise_h=table.number("sunrise_h", d.sunrise_h, ge=0, lt=24),
        sunset_h=table.number("sunset_h", d.sunset_h, gt=0, le=24),
        ghi_noise_std_w_m2=table.number("ghi_noise_std_w_m2", d.ghi_noise_std_w_m2, ge=0),
        t_air_mean_c=table.number("t_air_mean_c", d.t_air_mean_c, ge=-90, le=60),
        t_air_amplitude_c=table.number("t_air_amplitude_c", d.t_air_amplitude_c, ge=0),
        t_air_peak_h=table.number("t_air_peak_h", d.t_air_peak_h, ge=0, lt=24),
        t_air_noise_std_c=table.number("t_air_noise_std_c", d.t_air_noise_std_c, ge=0),
        ghi_csv=csv_series(table, "ghi_csv"),
        t_air_csv=csv_series(table, "t_air_csv"),
        latitude_deg=(
            table.number("latitude_deg", ge=-90, le=90) if table.has("latitude_deg") else None
        ),
        longitude_deg=table.number("longitude_deg", 0.0, ge=-180, le=180),
    )
    if spec.sunrise_h >= spec.sunset_h:
        raise table.error(
            "sunset_h", f"must be after sunrise_h ({spec.sunrise_h:g}), got {spec.sunset_h:g}"
        )
    table.done()
    return spec


def load(table: Table) -> LoadSpec:
    """A ``load`` table: ``profile`` + ``peak_w`` [W] + ``noise_frac``, or ``csv`` [W]."""
    csv = csv_series(table, "csv")
    if csv is not None and (table.has("profile") or table.has("peak_w")):
        raise table.error("csv", "give either csv or profile and peak_w, not both")
    profiles = tuple(p.value for p in LoadProfile)
    profile = table.string("profile", LoadProfile.RESIDENTIAL.value, choices=profiles)
    peak_w = 0.0 if csv is not None else table.number("peak_w", ge=0)
    spec = LoadSpec(
        profile=LoadProfile(profile),
        peak_w=peak_w,
        noise_frac=table.number("noise_frac", 0.0, ge=0, lt=1),
        csv=csv,
    )
    table.done()
    return spec


PV_MODELS = ("builtin", "pvlib")


def pv(table: Table | None) -> PvSpec | None:
    """A ``pv`` table (``sim.pv.PvArray`` fields, or a measured ``csv`` [W]); None if absent."""
    if table is None:
        return None
    d = PvArray()
    array = PvArray(
        n_panels=table.integer("n_panels", ge=0),
        panel_area_m2=table.number("panel_area_m2", d.panel_area_m2, gt=0),
        eta_ref=table.number("eta_ref", d.eta_ref, gt=0, le=1),
        gamma_per_k=table.number("gamma_per_k", d.gamma_per_k, ge=-0.1, le=0.1),
        noct_c=table.number("noct_c", d.noct_c, ge=20, le=80),
    )
    model = table.string("model", "builtin", choices=PV_MODELS)
    spec = PvSpec(
        array=array,
        csv=csv_series(table, "csv"),
        model=model,
        tilt_deg=table.number("tilt_deg", ge=0, le=90) if table.has("tilt_deg") else None,
        azimuth_deg=table.number("azimuth_deg", 180.0, ge=0, lt=360),
        albedo=table.number("albedo", 0.2, ge=0, le=1),
    )
    table.done()
    return spec


def battery(table: Table | None) -> BatterySpec | None:
    """A ``battery`` table; ``max_power_w`` [W] sets both limits (default: C-rate 1)."""
    if table is None:
        return None
    capacity_wh = table.number("capacity_wh", gt=0)
    max_power_w = table.number("max_power_w", capacity_wh, ge=0)  # C-rate 1 by default
    soc_min_pct = table.number("soc_min_pct", 0.0, ge=0, lt=100)
    soc_max_pct = table.number("soc_max_pct", 100.0, gt=soc_min_pct, le=100)
    spec = BatterySpec(
        capacity_wh=capacity_wh,
        max_charge_w=table.number("max_charge_w", max_power_w, ge=0),
        max_discharge_w=table.number("max_discharge_w", max_power_w, ge=0),
        eta_charge=table.number("eta_charge", 0.95, gt=0, le=1),
        eta_discharge=table.number("eta_discharge", 0.95, gt=0, le=1),
        self_discharge_per_h=table.number("self_discharge_per_h", 1e-3, ge=0, lt=1),
        soc_min_pct=soc_min_pct,
        soc_max_pct=soc_max_pct,
        initial_soc_pct=table.number("initial_soc_pct", 50.0, ge=soc_min_pct, le=soc_max_pct),
    )
    table.done()
    return spec
