"""The signing meters of a federated run: one per microgrid a federate represents.

Each claimed microgrid gets a ``sim.meter.Meter`` with a fresh key from the OS's entropy,
registered to the participant the federate declared and signing for that federate's
Metering domain. After each step, ``read_step`` meters the step's PCC power exactly as the
run's tables do (``sim.pcc.pcc_power_w``, ``sim.tables.grid_limited``, then the one Wh
conversion ``sim.pcc.metered_energy_wh`` inside ``Meter.read_power``).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from gridledger.contracts.typed import SignedReading
from gridledger.sim.errors import FederationError
from gridledger.sim.federation.bus import Registration
from gridledger.sim.meter import Meter
from gridledger.sim.model import GridModel
from gridledger.sim.pcc import pcc_power_w
from gridledger.sim.scenario import Scenario
from gridledger.sim.tables import grid_limited


class RunMeters:
    """Meters for the microgrids ``registrations`` claim, in the scenario's order."""

    def __init__(self, scenario: Scenario, registrations: Iterable[Registration]) -> None:
        claims = {
            mg: (participant, reg)
            for reg in registrations
            for mg, participant in reg.participants.items()
        }
        self._meters: dict[str, Meter] = {}
        self._grid_limits_w: dict[str, float | None] = {}
        for spec in scenario.microgrids:
            if spec.name not in claims:
                continue
            participant, reg = claims.pop(spec.name)
            if reg.metering is None:
                raise FederationError(f"{reg.name!r} represents {spec.name!r} without metering")
            self._meters[spec.name] = Meter.generate(participant, reg.metering.separator)
            self._grid_limits_w[spec.name] = spec.grid_limit_w
        if claims:
            raise FederationError(f"claimed microgrids not in the scenario: {sorted(claims)}")

    @property
    def addresses(self) -> dict[str, str]:
        """Meter address (checksummed) by microgrid."""
        return {mg: m.address for mg, m in self._meters.items()}

    @property
    def participants(self) -> dict[str, str]:
        """Participant address by microgrid."""
        return {mg: m.participant for mg, m in self._meters.items()}

    def read_step(self, model: GridModel, k: int) -> dict[str, SignedReading]:
        """The signed readings of step ``k`` (completed) of ``model``, by microgrid."""
        if not 0 <= k < model.tick:
            raise FederationError(f"step {k} is not complete (the model is at tick {model.tick})")
        dt_s = model.scenario.dt_s
        start_ts = int(model.exo.time_ts[k])
        out = {}
        for name, meter in self._meters.items():
            span = slice(k, k + 1)
            pv = model.exo.p_pv_w[name][span]
            trace = model.batteries.get(name)
            battery = np.zeros(1) if trace is None else trace.p_w[span]
            p_pcc, _, _ = grid_limited(
                pcc_power_w(model.exo.p_load_w[name][span], pv, battery),
                pv,
                self._grid_limits_w[name],
            )
            out[name] = meter.read_power(start_ts, dt_s, float(p_pcc[0]))
        return out
