"""Scenario files: the built-ins carry the published parameters; bad files are refused by key."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gridledger.sim.errors import ScenarioError
from gridledger.sim.exogenous import compute_exogenous
from gridledger.sim.scenario import BASE_RUN, EventKind, LoadProfile, MarketSpec
from gridledger.sim.scenario_load import load_scenario, parse_scenario, scenario_from_dict
from gridledger.sim.scenarios import builtin_names, resolve
from tests.sim.scenario_helpers import builtin_doc, tiny_doc


def test_builtins_are_listed_and_load() -> None:
    assert builtin_names() == ("energytwin", "fedmgdt", "fedmgdt_demo", "lem27")
    for name in builtin_names():
        assert resolve(name).name == name


def test_fedmgdt_has_the_papers_setup() -> None:
    s = resolve("fedmgdt")
    assert (s.dt_s, s.n_steps) == (60, 1440)
    mg1, mg2, mg3 = s.microgrids
    assert (mg1.name, mg1.load.profile, mg1.controllable) == ("MG1", LoadProfile.RESIDENTIAL, True)
    assert mg1.battery is not None and mg1.battery.max_discharge_w == 6000.0
    assert (mg2.load.profile, mg2.controllable, mg2.battery) == (
        LoadProfile.COMMERCIAL,
        False,
        None,
    )
    assert (mg3.load.profile, mg3.controllable, mg3.battery) == (LoadProfile.CRITICAL, False, None)
    (contract,) = s.contracts
    assert (contract.microgrid, contract.window_start_s, contract.window_end_s) == (
        "MG1",
        17 * 3600,
        20 * 3600,
    )
    assert (contract.lambda_per_kwh, contract.beta_per_kwh) == (1.0, 0.5)
    assert s.default_runs == ("E1", "E2", "E3", "E4")
    caps = [s.for_run(r).contracts[0].cap_w for r in s.default_runs]
    assert caps == [4000.0, 6000.0, 8000.0, 10000.0]


def test_energytwin_has_the_published_campus() -> None:
    s = resolve("energytwin")
    assert (s.dt_s, s.n_steps) == (3600, 336)
    (campus,) = s.microgrids
    pv, battery = campus.pv, campus.battery
    assert pv is not None and battery is not None
    assert (pv.array.n_panels, pv.array.panel_area_m2, pv.array.eta_ref) == (200, 2.0, 0.20)
    assert pv.array.gamma_per_k == -0.004
    assert battery.capacity_wh == 100_000.0
    assert battery.max_charge_w == battery.max_discharge_w == 100_000.0  # C-rate 1
    assert battery.eta_charge == battery.eta_discharge == 0.95
    assert battery.params(3600).self_discharge_per_step == pytest.approx(1e-3)
    assert campus.load.peak_w == 50_000.0 and campus.grid_limit_w == 100_000.0
    outage = s.for_run("pv_outage").events
    spike = s.for_run("load_spike").events
    assert [e.kind for e in outage] == [EventKind.PV_SCALE] and outage[0].factor == 0.0
    assert [e.kind for e in spike] == [EventKind.LOAD_SCALE] and spike[0].factor > 1.0
    assert s.for_run(BASE_RUN).events == ()


def test_lem27_has_27_households_12_with_pv_and_batteries() -> None:
    s = resolve("lem27")
    assert s.dt_s == 3600 and len(s.microgrids) == 27
    with_both = [m for m in s.microgrids if m.pv is not None and m.battery is not None]
    assert len(with_both) == 12
    assert all(m.pv is None and m.battery is None for m in s.microgrids if m not in with_both)
    assert len({m.name for m in s.microgrids}) == 27


def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(doc: dict[str, Any]) -> None:
        target = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


def _delete(path: tuple[Any, ...]) -> Callable[[dict[str, Any]], None]:
    def mutate(doc: dict[str, Any]) -> None:
        target = doc
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return mutate


BAD_FEDMGDT = [
    (
        _set(("microgrids", 0, "battery", "capacity_wh"), -5),
        "microgrids[0].battery.capacity_wh: must be > 0, got -5",
    ),
    (
        _set(("microgrids", 0, "battery", "capcity_wh"), 5.0),
        "microgrids[0].battery.capcity_wh: unknown key",
    ),
    (_set(("scenario", "dt_s"), 60.0), "scenario.dt_s: must be an integer, got a number"),
    (_set(("scenario", "n_steps"), 0), "scenario.n_steps: must be >= 1, got 0"),
    (_delete(("microgrids", 1, "load", "peak_w")), "microgrids[1].load.peak_w: is required"),
    (
        _set(("microgrids", 2, "load", "profile"), "hospital"),
        "microgrids[2].load.profile: must be one of residential, commercial, campus, critical, h0;",
    ),
    (_set(("microgrids", 1, "name"), "MG1"), "microgrids: name 'MG1' is used twice"),
    (
        _set(("microgrids", 1, "controllable"), True),
        "microgrids[1].controllable: needs a battery to dispatch",
    ),
    (
        _set(("microgrids", 0, "battery", "initial_soc_pct"), 99.0),
        "microgrids[0].battery.initial_soc_pct: must be <= 95, got 99.0",
    ),
    (_set(("contracts", 0, "microgrid"), "MG9"), "contracts[0].microgrid: no microgrid named"),
    (
        _set(("contracts", 0, "window_end_s"), 90_000),
        "contracts[0].window_end_s: must be <= 86400, got 90000",
    ),
    (_set(("variants", "E1", "caps_w"), {"nope": 1.0}), "variants.E1.caps_w.nope: no contract"),
    (
        _set(("variants", "E1", "caps_w"), {"MG1-evening-cap": "4 kW"}),
        "variants.E1.caps_w.MG1-evening-cap: must be a number, got a string",
    ),
    (_set(("scenario", "default_runs"), ["E1", "E9"]), "scenario.default_runs[1]: no run named"),
    (_set(("weather", "sunset_h"), 5.0), "weather.sunset_h: must be after sunrise_h"),
    (_set(("microgrids", 0, "pv"), 30), "microgrids[0].pv: must be a table, got an integer"),
    (_delete(("scenario",)), "scenario: is required"),
    (_set(("variants", "base"), {}), "variants.base: 'base' is reserved"),
    (_set(("contracts", 0, "cap_w"), float("nan")), "contracts[0].cap_w: must be finite"),
]


@pytest.mark.parametrize(("mutate", "message"), BAD_FEDMGDT)
def test_bad_values_are_refused_naming_the_key(
    mutate: Callable[[dict[str, Any]], None], message: str
) -> None:
    doc = builtin_doc("fedmgdt")
    scenario_from_dict(builtin_doc("fedmgdt"))  # the unmutated document is fine
    mutate(doc)
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(doc)
    assert str(info.value).startswith(message), str(info.value)


def test_events_must_fit_the_horizon() -> None:
    doc = builtin_doc("energytwin")
    doc["variants"]["pv_outage"]["events"][0]["n_steps"] = 200  # 168 + 200 > 336
    with pytest.raises(
        ScenarioError, match=r"variants\.pv_outage\.events\[0\]\.n_steps: must be <= 168"
    ):
        scenario_from_dict(doc)


def test_count_expands_named_copies() -> None:
    doc = tiny_doc()
    doc["microgrids"][1]["count"] = 3
    names = [m.name for m in scenario_from_dict(doc).microgrids]
    assert names == ["A", "B-01", "B-02", "B-03"]


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text('[scenario]\nname = "x"\ndt_s = \n', encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"broken\.toml: not valid TOML: .*line 3"):
        load_scenario(path)
    with pytest.raises(ScenarioError, match="cannot read the scenario file"):
        load_scenario(tmp_path / "missing.toml")
    with pytest.raises(ScenarioError, match="no built-in scenario 'fedmgd'"):
        resolve("fedmgd")


def test_csv_paths_resolve_against_the_scenario_file(tmp_path: Path) -> None:
    text = (
        '[scenario]\nname = "m"\ndt_s = 3600\nn_steps = 2\n'
        '[[microgrids]]\nname = "A"\n[microgrids.load]\n'
        'csv = { path = "load.csv", column = "p_w" }\n'
    )
    with pytest.raises(ScenarioError, match=r"microgrids\[0\]\.load\.csv\.path: no such file"):
        parse_scenario(text, source=tmp_path / "m.toml")
    (tmp_path / "load.csv").write_text("timestamp,p_w\n0,1\n", encoding="utf-8")
    scenario = parse_scenario(text, source=tmp_path / "m.toml")
    csv = scenario.microgrids[0].load.csv
    assert csv is not None and csv.path == tmp_path / "load.csv"
    both = text.replace('column = "p_w" }', 'column = "p_w" }\npeak_w = 3.0')
    with pytest.raises(ScenarioError, match="give either csv or profile and peak_w"):
        parse_scenario(both, source=tmp_path / "m.toml")


def test_unknown_run_is_refused() -> None:
    with pytest.raises(ScenarioError, match="no run named 'E5'"):
        resolve("fedmgdt").for_run("E5")


def test_noise_as_shares_another_microgrids_load_noise() -> None:
    doc = tiny_doc()
    doc["microgrids"][1]["load"] = dict(doc["microgrids"][0]["load"])
    exo = compute_exogenous(scenario_from_dict(doc))
    assert not np.array_equal(exo.p_load_w["A"], exo.p_load_w["B"])  # own streams differ
    doc["microgrids"][1]["noise_as"] = "A"
    scenario = scenario_from_dict(doc)
    assert scenario.microgrid("B").noise_as == "A"
    exo = compute_exogenous(scenario)
    np.testing.assert_array_equal(exo.p_load_w["A"], exo.p_load_w["B"])


def test_copies_may_share_the_first_copys_noise() -> None:
    doc = tiny_doc()
    doc["microgrids"][1].update(count=3, noise_as="B-01")
    scenario = scenario_from_dict(doc)
    assert [mg.noise_as for mg in scenario.microgrids] == [None, None, "B-01", "B-01"]
    loads = compute_exogenous(scenario).p_load_w
    np.testing.assert_array_equal(loads["B-01"], loads["B-03"])


@pytest.mark.parametrize(
    ("noise_as", "message"),
    [
        ("Z", "microgrids[1].noise_as: no microgrid named 'Z'"),
        (7, "microgrids[1].noise_as: must be a string, got an integer"),
    ],
)
def test_bad_noise_as_is_refused(noise_as: object, message: str) -> None:
    doc = tiny_doc()
    doc["microgrids"][1]["noise_as"] = noise_as
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(doc)
    assert str(info.value) == message


def test_noise_as_names_a_microgrid_drawing_its_own_noise() -> None:
    doc = tiny_doc()
    doc["microgrids"][0]["noise_as"] = "B"
    doc["microgrids"][1]["noise_as"] = "A"
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(doc)
    assert str(info.value) == (
        "microgrids[0].noise_as: 'B' draws its noise from 'A' itself; name 'A'"
    )


def test_a_measured_load_has_no_noise_to_share(tmp_path: Path) -> None:
    (tmp_path / "load.csv").write_text("timestamp,p_w\n0,1\n", encoding="utf-8")
    text = (
        '[scenario]\nname = "m"\ndt_s = 3600\nn_steps = 1\n'
        '[[microgrids]]\nname = "A"\n[microgrids.load]\npeak_w = 1.0\n'
        '[[microgrids]]\nname = "B"\nnoise_as = "A"\n[microgrids.load]\n'
        'csv = { path = "load.csv", column = "p_w" }\n'
    )
    with pytest.raises(ScenarioError, match=r"microgrids\[1\]\.noise_as: a measured load"):
        parse_scenario(text, source=tmp_path / "m.toml")


def test_fedmgdt_demo_is_four_mg1_copies_and_mg2_mg3() -> None:
    demo, fedmgdt = resolve("fedmgdt_demo"), resolve("fedmgdt")
    mg1 = fedmgdt.microgrid("MG1")
    names = [mg.name for mg in demo.microgrids]
    assert names == ["MG1-E1", "MG1-E2", "MG1-E3", "MG1-E4", "MG2", "MG3"]
    for mg in demo.microgrids[:4]:
        assert dataclasses.replace(mg, name="MG1", noise_as=None) == mg1
    assert [mg.noise_as for mg in demo.microgrids] == [None, *["MG1-E1"] * 3, None, None]
    assert demo.microgrids[4:] == fedmgdt.microgrids[1:]
    assert (demo.dt_s, demo.n_steps, demo.start_ts % 86_400, demo.seed) == (60, 1440, 0, 0)
    assert demo.weather == fedmgdt.weather
    assert [(c.cap_w, c.window_start_s, c.window_end_s) for c in demo.contracts] == [
        (cap_w, 61_200, 72_000) for cap_w in (4_000.0, 6_000.0, 8_000.0, 10_000.0)
    ]


def test_with_start_ts_moves_the_run_and_refuses_negative_times() -> None:
    scenario = resolve("fedmgdt")
    assert scenario.with_start_ts(86_400).start_ts == 86_400
    with pytest.raises(ScenarioError, match=r"scenario\.start_ts: must be an integer >= 0, got -1"):
        scenario.with_start_ts(-1)


def test_the_market_table_gives_the_regulated_prices_with_precise_errors() -> None:
    assert resolve("fedmgdt_demo").market == MarketSpec(0.08, 0.28, 0.01)
    assert resolve("fedmgdt").market is None
    base = builtin_doc("fedmgdt")
    for market, message in (
        ({"price_floor_per_kwh": 0.3, "price_ceiling_per_kwh": 0.2}, "must be <= price_ceiling"),
        ({"price_ceiling_per_kwh": 0.2}, "price_floor_per_kwh"),
        ({"price_floor_per_kwh": -1, "price_ceiling_per_kwh": 0.2}, "must be >= 0"),
        ({"price_floor_per_kwh": 0.1, "price_ceiling_per_kwh": 0.2, "x": 1}, "x"),
    ):
        with pytest.raises(ScenarioError, match=message):
            scenario_from_dict({**base, "market": market})
