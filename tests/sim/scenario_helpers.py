"""Small scenario documents for tests (dicts in the TOML file's shape)."""

from __future__ import annotations

import copy
import tomllib
from typing import Any

from gridledger.sim.scenarios import SCENARIO_DIR


def builtin_doc(name: str) -> dict[str, Any]:
    """A fresh, mutable copy of a built-in scenario file as parsed TOML."""
    with (SCENARIO_DIR / f"{name}.toml").open("rb") as handle:
        return copy.deepcopy(tomllib.load(handle))


def tiny_doc(n_steps: int = 48, dt_s: int = 1800, seed: int = 3) -> dict[str, Any]:
    """Two microgrids, one with a controllable battery under a cap, one with a local one."""
    return {
        "scenario": {"name": "tiny", "dt_s": dt_s, "n_steps": n_steps, "seed": seed},
        "weather": {"ghi_noise_std_w_m2": 30.0, "t_air_noise_std_c": 0.5},
        "microgrids": [
            {
                "name": "A",
                "controllable": True,
                "load": {"profile": "residential", "peak_w": 9000.0, "noise_frac": 0.1},
                "pv": {"n_panels": 20},
                "battery": {"capacity_wh": 12000.0, "max_power_w": 4000.0, "soc_min_pct": 10.0},
            },
            {
                "name": "B",
                "grid_limit_w": 5000.0,
                "load": {"profile": "commercial", "peak_w": 7000.0, "noise_frac": 0.1},
                "pv": {"n_panels": 30},
                "battery": {"capacity_wh": 8000.0, "initial_soc_pct": 90.0},
            },
        ],
        "contracts": [
            {
                "name": "A-cap",
                "microgrid": "A",
                "cap_w": 4000.0,
                "window_start_s": 61200,
                "window_end_s": 72000,
            }
        ],
    }
