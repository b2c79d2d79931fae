"""The built-in scenarios, shipped as TOML data files next to this module.

``sim run NAME`` accepts each file's stem (``fedmgdt``, ``energytwin``, ``lem27``) or a
path to any scenario file.
"""

from __future__ import annotations

from pathlib import Path

from gridledger.sim.errors import ScenarioError
from gridledger.sim.scenario import Scenario
from gridledger.sim.scenario_load import load_scenario

SCENARIO_DIR = Path(__file__).resolve().parent


def builtin_names() -> tuple[str, ...]:
    """Names of the built-in scenarios."""
    return tuple(sorted(p.stem for p in SCENARIO_DIR.glob("*.toml")))


def resolve(name_or_path: str | Path) -> Scenario:
    """The built-in scenario ``name_or_path``, or the scenario file at that path."""
    text = str(name_or_path)
    if text in builtin_names():
        return load_scenario(SCENARIO_DIR / f"{text}.toml")
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        return load_scenario(path)
    known = ", ".join(builtin_names())
    raise ScenarioError("", f"no built-in scenario {text!r} (built in: {known}) and no such file")
