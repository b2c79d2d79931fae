"""A parsed scenario: frozen dataclasses, one per TOML table (see ``sim.scenario_load``).

A scenario fixes everything a run needs: the time base (``dt_s``, ``n_steps``,
``start_ts``), the weather, the microgrids (load, PV, battery, grid limit, whether the
operator dispatches the battery), the import-cap contracts, stress events, named variants
and the root seed. Units are in the names (docs/nomenclature.md); the sign convention is
docs/architecture.md's (PCC > 0 import, battery > 0 discharge).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from gridledger.sim.battery import BatteryParams, self_discharge_per_step
from gridledger.sim.errors import ScenarioError
from gridledger.sim.pv import PvArray


class LoadProfile(StrEnum):
    """The load archetypes of ``sim.loads``."""

    RESIDENTIAL = "residential"
    COMMERCIAL = "commercial"
    CAMPUS = "campus"
    CRITICAL = "critical"
    H0 = "h0"


class EventKind(StrEnum):
    """Stress events: scale a microgrid's PV or load over a span of steps."""

    PV_SCALE = "pv_scale"
    LOAD_SCALE = "load_scale"


@dataclass(frozen=True, slots=True)
class CsvSeries:
    """A measured series in a CSV file: a timestamp column and a value column.

    ``path`` is absolute (the loader resolves it against the scenario file's folder).
    """

    path: Path
    column: str
    timestamp_column: str = "timestamp"


@dataclass(frozen=True, slots=True)
class WeatherSpec:
    """Synthetic weather (``sim.weather``), or measured series replacing either part.

    Attributes
    ----------
    peak_ghi_w_m2 : clear-sky irradiance at solar noon [W/m2]
    sunrise_h, sunset_h : [h since 00:00 UTC]
    ghi_noise_std_w_m2 : daylight irradiance noise [W/m2]
    t_air_mean_c, t_air_amplitude_c, t_air_peak_h : air temperature [degC], [K], [h]
    t_air_noise_std_c : air temperature noise [K]
    ghi_csv, t_air_csv : measured irradiance [W/m2] / air temperature [degC] instead
    latitude_deg, longitude_deg : the site [deg north, deg east], needed by tilted arrays
        (``PvSpec.tilt_deg``); the scenario's UTC hours are local solar time at longitude 0
    """

    peak_ghi_w_m2: float = 800.0
    sunrise_h: float = 6.0
    sunset_h: float = 18.0
    ghi_noise_std_w_m2: float = 0.0
    t_air_mean_c: float = 15.0
    t_air_amplitude_c: float = 6.0
    t_air_peak_h: float = 15.0
    t_air_noise_std_c: float = 0.0
    ghi_csv: CsvSeries | None = None
    t_air_csv: CsvSeries | None = None
    latitude_deg: float | None = None
    longitude_deg: float = 0.0


@dataclass(frozen=True, slots=True)
class LoadSpec:
    """A load: an archetype profile (``sim.loads``) scaled to ``peak_w`` [W] with relative
    noise ``noise_frac`` [-], or a measured series ``csv`` [W]."""

    profile: LoadProfile
    peak_w: float
    noise_frac: float = 0.0
    csv: CsvSeries | None = None


@dataclass(frozen=True, slots=True)
class PvSpec:
    """A PV array (``sim.pv.PvArray``), or its measured output ``csv`` [W]; `model` "builtin"
    (``sim.pv``) or "pvlib" (``sim.pv_pvlib``, the same physics through pvlib).

    ``tilt_deg`` [deg] (None: horizontal modules, irradiance = GHI), ``azimuth_deg`` [deg
    clockwise from north] and ``albedo`` [-]: a tilted array sees the plane-of-array
    irradiance of ``sim.poa`` at the weather's site.
    """

    array: PvArray
    csv: CsvSeries | None = None
    model: str = "builtin"
    tilt_deg: float | None = None
    azimuth_deg: float = 180.0
    albedo: float = 0.2


@dataclass(frozen=True, slots=True)
class BatterySpec:
    """A battery (``sim.battery``).

    Attributes
    ----------
    capacity_wh : [Wh]; max_charge_w, max_discharge_w : terminal power limits [W]
    eta_charge, eta_discharge : efficiencies [-]
    self_discharge_per_h : fraction of stored energy lost per hour [1/h]
    soc_min_pct, soc_max_pct, initial_soc_pct : bounds and start [%]
    """

    capacity_wh: float
    max_charge_w: float
    max_discharge_w: float
    eta_charge: float = 0.95
    eta_discharge: float = 0.95
    self_discharge_per_h: float = 1e-3
    soc_min_pct: float = 0.0
    soc_max_pct: float = 100.0
    initial_soc_pct: float = 50.0

    def params(self, dt_s: float) -> BatteryParams:
        """The battery's step model for steps of ``dt_s`` [s]."""
        return BatteryParams(
            capacity_wh=self.capacity_wh,
            max_charge_w=self.max_charge_w,
            max_discharge_w=self.max_discharge_w,
            eta_charge=self.eta_charge,
            eta_discharge=self.eta_discharge,
            self_discharge_per_step=self_discharge_per_step(self.self_discharge_per_h, dt_s),
            soc_min_pct=self.soc_min_pct,
            soc_max_pct=self.soc_max_pct,
        )

    @property
    def initial_e_wh(self) -> float:
        """Stored energy at the first step [Wh]."""
        return self.capacity_wh * self.initial_soc_pct / 100.0


@dataclass(frozen=True, slots=True)
class MicrogridSpec:
    """One microgrid behind one PCC and one meter.

    ``controllable``: the operator dispatches its battery (FED-MGDT's controlled MG1);
    otherwise a battery runs the local self-consumption rule. ``grid_limit_w`` [W] bounds
    the PCC power both ways (None: unbounded); beyond it load goes unserved or PV is
    curtailed. ``noise_as``: the microgrid whose load-noise stream this one draws (None:
    its own), so copies of a microgrid see the same load.
    """

    name: str
    load: LoadSpec
    pv: PvSpec | None = None
    battery: BatterySpec | None = None
    controllable: bool = False
    grid_limit_w: float | None = None
    noise_as: str | None = None


@dataclass(frozen=True, slots=True)
class CapContract:
    """An upper import cap (FED-MGDT): ``V = max(0, P_pcc - cap_w)`` during the daily window
    ``[window_start_s, window_end_s)`` [s since 00:00 UTC], penalty ``lambda_per_kwh``
    [token/kWh], trust sensitivity ``beta_per_kwh`` [1/kWh]."""

    name: str
    microgrid: str
    cap_w: float
    window_start_s: int
    window_end_s: int
    lambda_per_kwh: float = 1.0
    beta_per_kwh: float = 0.5


@dataclass(frozen=True, slots=True)
class Event:
    """Scale ``microgrid``'s PV or load by ``factor`` [-] on steps
    ``[start_step, start_step + n_steps)``."""

    kind: EventKind
    microgrid: str
    start_step: int
    n_steps: int
    factor: float


@dataclass(frozen=True, slots=True)
class Variant:
    """A named change of the base scenario: contract caps replaced, events added."""

    name: str
    description: str = ""
    caps_w: tuple[tuple[str, float], ...] = ()
    events: tuple[Event, ...] = ()


BASE_RUN = "base"
"""The run name of the scenario without any variant."""


@dataclass(frozen=True, slots=True)
class MarketSpec:
    """The local market's regulated prices [token/kWh]: the band orders must lie in (floor: the
    feed-in tariff, ceiling: the retail tariff) and the network charge on sellers (the grid
    fee). The regulator sets them on chain (Regulation) from the scenario.

    With ``mechanisms`` named (market/mechanisms.py names), ``sim run`` clears the market of
    the microgrids every ``interval_s`` [s] by each of them (sim/market_loop.py), the grid
    taking the rest; the feeder limits [W] cap the community's net import and export.
    ``bid_spread_frac`` [-]: how far into the band households' limit prices are drawn
    (0: buyers at the retail tariff, sellers at feed-in + fee; 1: anywhere in the band)."""

    price_floor_per_kwh: float
    price_ceiling_per_kwh: float
    network_charge_per_kwh: float = 0.0
    mechanisms: tuple[str, ...] = ()
    interval_s: int = 3600
    feeder_import_limit_w: float | None = None
    feeder_export_limit_w: float | None = None
    bid_spread_frac: float = 0.5

    @property
    def in_the_loop(self) -> bool:
        """Whether `sim run` clears the market every interval (some mechanism is named)."""
        return bool(self.mechanisms)


@dataclass(frozen=True, slots=True)
class Scenario:
    """A whole scenario. ``default_runs`` are the runs ``sim run`` makes when none is named;
    ``kpi_from_step`` is the first step the summary's battery KPIs score (``sim.kpis``;
    EnergyTwin: 168, its planner's activation)."""

    name: str
    dt_s: int
    n_steps: int
    start_ts: int
    seed: int
    weather: WeatherSpec
    microgrids: tuple[MicrogridSpec, ...]
    description: str = ""
    contracts: tuple[CapContract, ...] = ()
    events: tuple[Event, ...] = ()
    variants: tuple[Variant, ...] = ()
    default_runs: tuple[str, ...] = (BASE_RUN,)
    source: Path | None = None
    market: MarketSpec | None = None
    kpi_from_step: int = 0

    def microgrid(self, name: str) -> MicrogridSpec:
        """The microgrid called ``name``."""
        for mg in self.microgrids:
            if mg.name == name:
                return mg
        raise ScenarioError("microgrids", f"no microgrid named {name!r}", self.source)

    def run_names(self) -> tuple[str, ...]:
        """Every run this scenario can make: the base and each variant."""
        return (BASE_RUN, *(v.name for v in self.variants))

    def with_seed(self, seed: int) -> Scenario:
        """The same scenario under another root seed."""
        return dataclasses.replace(self, seed=seed)

    def with_start_ts(self, start_ts: int) -> Scenario:
        """The same scenario starting at ``start_ts`` [unix s]. Times of day (weather, PV,
        load profiles, contract windows) follow UTC, so only a start at the scenario's UTC
        time of day keeps its day as it is; measured series must cover the new horizon."""
        if isinstance(start_ts, bool) or not isinstance(start_ts, int) or start_ts < 0:
            raise ScenarioError("scenario.start_ts", f"must be an integer >= 0, got {start_ts!r}")
        return dataclasses.replace(self, start_ts=start_ts)

    def for_run(self, run: str) -> Scenario:
        """The scenario of run ``run``: the base, or a variant's caps and events applied."""
        if run == BASE_RUN:
            return self
        for variant in self.variants:
            if variant.name == run:
                caps = dict(variant.caps_w)
                contracts = tuple(
                    dataclasses.replace(c, cap_w=caps.get(c.name, c.cap_w)) for c in self.contracts
                )
                return dataclasses.replace(
                    self, contracts=contracts, events=self.events + variant.events
                )
        known = ", ".join(self.run_names())
        raise ScenarioError("variants", f"no run named {run!r} (known: {known})", self.source)
