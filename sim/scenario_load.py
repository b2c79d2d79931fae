"""Loading and validating scenario TOML files into ``sim.scenario.Scenario``.

Every value is checked for type and range, unknown keys are refused, and cross references
(contracts and events to microgrids, variants to contracts, default runs to variants) are
resolved; the first problem raises ``ScenarioError`` naming its key path, for example
``microgrids[1].battery.capacity_wh: must be > 0, got -5``. The file format is documented by
the built-in scenarios in ``sim/scenarios/``.
"""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path
from typing import Any

from gridledger.contracts.units import SECONDS_PER_DAY
from gridledger.market.mechanisms import MECHANISMS
from gridledger.sim import scenario_parts as parts
from gridledger.sim.errors import ScenarioError
from gridledger.sim.scenario import (
    BASE_RUN,
    CapContract,
    Event,
    EventKind,
    MarketSpec,
    MicrogridSpec,
    Scenario,
    Variant,
)
from gridledger.sim.tomlcheck import Table

DEFAULT_START_TS = 1_800_057_600
"""2027-01-16 00:00:00 UTC, the sandbox chain's day 0 (``node.ledger.stack.DAY0_TS``)."""


def load_scenario(path: Path) -> Scenario:
    """Parse and validate the scenario file at ``path``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError("", f"cannot read the scenario file: {exc.strerror}", path) from exc
    return parse_scenario(text, source=path)


def parse_scenario(text: str, source: Path | None = None) -> Scenario:
    """Parse and validate scenario TOML ``text``; relative CSV paths resolve against the
    folder of ``source`` (the working directory without one)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError("", f"not valid TOML: {exc}", source) from exc
    return _scenario(Table(data, "", source))


def _microgrids(root: Table) -> tuple[MicrogridSpec, ...]:
    out: list[MicrogridSpec] = []
    noise_tables: dict[str, Table] = {}
    for table in root.tables("microgrids"):
        name = table.string("name")
        count = table.integer("count", 1, ge=1, le=10_000)
        spec_battery = parts.battery(table.table("battery"))
        controllable = table.boolean("controllable", False)
        if controllable and spec_battery is None:
            raise table.error("controllable", "needs a battery to dispatch")
        limit_w = table.number("grid_limit_w", 0.0, gt=0) if table.has("grid_limit_w") else None
        spec = MicrogridSpec(
            name=name,
            load=parts.load(table.required_table("load")),
            pv=parts.pv(table.table("pv")),
            battery=spec_battery,
            controllable=controllable,
            grid_limit_w=limit_w,
            noise_as=table.string("noise_as") if table.has("noise_as") else None,
        )
        if spec.noise_as is not None and spec.load.csv is not None:
            raise table.error("noise_as", "a measured load (load.csv) has no noise to share")
        table.done()
        copies = [spec]
        if count > 1:
            copies = [
                dataclasses.replace(spec, name=f"{name}-{i:02d}") for i in range(1, count + 1)
            ]
        for copy in copies:
            noise_tables[copy.name] = table
        out.extend(copies)
    if not out:
        raise ScenarioError("microgrids", "at least one [[microgrids]] is required", root.source)
    seen: set[str] = set()
    for mg in out:
        if mg.name in seen:
            raise ScenarioError("microgrids", f"name {mg.name!r} is used twice", root.source)
        seen.add(mg.name)
    return tuple(_resolve_noise_as(mg, out, noise_tables[mg.name]) for mg in out)


def _resolve_noise_as(
    mg: MicrogridSpec, all_mgs: list[MicrogridSpec], table: Table
) -> MicrogridSpec:
    """``mg`` with ``noise_as`` checked: another microgrid drawing its own noise (naming
    itself, as the first of ``count`` copies may, means its own stream: None)."""
    if mg.noise_as is None or mg.noise_as == mg.name:
        return dataclasses.replace(mg, noise_as=None)
    target = next((m for m in all_mgs if m.name == mg.noise_as), None)
    if target is None:
        raise table.error("noise_as", f"no microgrid named {mg.noise_as!r}")
    if target.noise_as not in (None, target.name):
        raise table.error(
            "noise_as",
            f"{target.name!r} draws its noise from {target.noise_as!r} itself; "
            f"name {target.noise_as!r}",
        )
    return mg


def _window_s(table: Table, key: str) -> int:
    return table.integer(key, ge=0, le=SECONDS_PER_DAY)


def _contracts(root: Table, names: set[str]) -> tuple[CapContract, ...]:
    out: list[CapContract] = []
    for table in root.tables("contracts"):
        contract = CapContract(
            name=table.string("name"),
            microgrid=_microgrid_ref(table, names),
            cap_w=table.number("cap_w", ge=0),
            window_start_s=_window_s(table, "window_start_s"),
            window_end_s=_window_s(table, "window_end_s"),
            lambda_per_kwh=table.number("lambda_per_kwh", 1.0, ge=0),
            beta_per_kwh=table.number("beta_per_kwh", 0.5, ge=0),
        )
        if contract.name in {c.name for c in out}:
            raise table.error("name", f"contract name {contract.name!r} is used twice")
        if contract.microgrid in {c.microgrid for c in out}:
            raise table.error("microgrid", f"{contract.microgrid!r} already has a contract")
        table.done()
        out.append(contract)
    return tuple(out)


def _microgrid_ref(table: Table, names: set[str]) -> str:
    name = table.string("microgrid")
    if name not in names:
        raise table.error("microgrid", f"no microgrid named {name!r}")
    return name


def _events(parent: Table, names: set[str], n_steps: int) -> tuple[Event, ...]:
    out = []
    for table in parent.tables("events"):
        kinds = tuple(k.value for k in EventKind)
        kind = EventKind(table.string("kind", choices=kinds))
        microgrid = _microgrid_ref(table, names)
        start_step = table.integer("start_step", ge=0, le=n_steps - 1)
        length = table.integer("n_steps", ge=1, le=n_steps - start_step)
        factor = table.number("factor", ge=0)
        table.done()
        out.append(Event(kind, microgrid, start_step, length, factor))
    return tuple(out)


def _variants(root: Table, names: set[str], contracts: set[str], n: int) -> tuple[Variant, ...]:
    out = []
    for name, table in root.subtables("variants").items():
        if name == BASE_RUN:
            raise ScenarioError(
                table.path, f"{BASE_RUN!r} is reserved for the scenario itself", root.source
            )
        caps = table.numbers_by_name("caps_w")
        for contract, cap_w in caps.items():
            if contract not in contracts:
                raise table.error(f"caps_w.{contract}", "no contract of that name")
            if cap_w < 0:
                raise table.error(f"caps_w.{contract}", f"must be >= 0, got {cap_w:g}")
        variant = Variant(
            name=name,
            description=table.string("description", ""),
            caps_w=tuple(caps.items()),
            events=_events(table, names, n),
        )
        table.done()
        out.append(variant)
    return tuple(out)


def _scenario(root: Table) -> Scenario:
    head = root.required_table("scenario")
    name = head.string("name")
    dt_s = head.integer("dt_s", ge=1, le=SECONDS_PER_DAY)
    n_steps = head.integer("n_steps", ge=1, le=10_000_000)
    start_ts = head.integer("start_ts", DEFAULT_START_TS, ge=0)
    seed = head.integer("seed", 0, ge=0, le=2**63 - 1)
    description = head.string("description", "")
    default_runs = head.strings("default_runs", (BASE_RUN,))
    kpi_from_step = head.integer("kpi_from_step", 0, ge=0, le=n_steps - 1)
    weather = parts.weather(root.table("weather"))
    microgrids = _microgrids(root)
    for i, mg in enumerate(microgrids):
        if mg.pv is not None and mg.pv.tilt_deg is not None and weather.latitude_deg is None:
            raise ScenarioError(
                f"microgrids[{i}].pv.tilt_deg",
                "a tilted array needs the site: set weather.latitude_deg",
                root.source,
            )
    mg_names = {mg.name for mg in microgrids}
    contracts = _contracts(root, mg_names)
    events = _events(root, mg_names, n_steps)
    variants = _variants(root, mg_names, {c.name for c in contracts}, n_steps)
    known_runs = (BASE_RUN, *(v.name for v in variants))
    for i, run in enumerate(default_runs):
        if run not in known_runs:
            raise head.error(f"default_runs[{i}]", f"no run named {run!r}")
    market = _market(root.table("market"), dt_s)
    head.done()
    root.done()
    return Scenario(
        name=name,
        dt_s=dt_s,
        n_steps=n_steps,
        start_ts=start_ts,
        seed=seed,
        weather=weather,
        microgrids=microgrids,
        description=description,
        contracts=contracts,
        events=events,
        variants=variants,
        default_runs=default_runs,
        source=root.source,
        market=market,
        kpi_from_step=kpi_from_step,
    )


def _market(table: Table | None, dt_s: int) -> MarketSpec | None:
    """The optional [market] table: the regulated price band and network charge."""
    if table is None:
        return None
    floor = table.number("price_floor_per_kwh", ge=0)
    ceiling = table.number("price_ceiling_per_kwh", gt=0, le=1_000)
    charge = table.number("network_charge_per_kwh", 0.0, ge=0)
    if floor > ceiling:
        raise table.error("price_floor_per_kwh", f"must be <= price_ceiling_per_kwh ({ceiling:g})")
    if charge > floor:
        raise table.error("network_charge_per_kwh", f"must be <= price_floor_per_kwh ({floor:g})")
    mechanisms = table.strings("mechanisms", ())
    for i, name in enumerate(mechanisms):
        if name not in MECHANISMS:
            known = ", ".join(MECHANISMS)
            raise table.error(f"mechanisms[{i}]", f"no mechanism {name!r} (known: {known})")
    interval_s = table.integer("interval_s", 3600, ge=1, le=SECONDS_PER_DAY)
    if interval_s % dt_s:
        raise table.error(
            "interval_s", f"must be a multiple of scenario.dt_s ({dt_s}), got {interval_s}"
        )
    imp = (
        table.number("feeder_import_limit_w", gt=0) if table.has("feeder_import_limit_w") else None
    )
    exp = (
        table.number("feeder_export_limit_w", gt=0) if table.has("feeder_export_limit_w") else None
    )
    spread = table.number("bid_spread_frac", 0.5, ge=0, le=1)
    table.done()
    return MarketSpec(floor, ceiling, charge, mechanisms, interval_s, imp, exp, spread)


def scenario_from_dict(data: dict[str, Any], source: Path | None = None) -> Scenario:
    """Validate an already-parsed TOML document (tests and programmatic use)."""
    return _scenario(Table(data, "", source))
