"""The FED-MGDT experiment: MG1's import cap as contract terms and its metered day as
readings.

Shared by the demo and the scenario test, so both run the same experiment.
"""

from __future__ import annotations

from gridledger.contracts.typed import MeterReading
from gridledger.node.accounting import ContractTerms
from gridledger.node.operator.terms import cap_terms
from gridledger.sim.fedmgdt import Mg1Config, Mg1Day
from gridledger.sim.scenario import CapContract


def fedmgdt_terms(importer: str, counterparty: str, day_ts: int, cap_w: float) -> ContractTerms:
    """MG1's import cap of `cap_w` [W] during its 17:00-20:00 window of the day starting at
    `day_ts`, with FED-MGDT's lambda (1 token per kWh) and beta (0.5 per kWh)."""
    mg1 = Mg1Config()
    cap = CapContract("MG1-cap", "MG1", cap_w, mg1.window_start_s, mg1.window_end_s, 1.0, 0.5)
    return cap_terms(cap, importer, counterparty, day_ts)


def day_readings(day: Mg1Day, meter: str, participant: str, day_ts: int) -> list[MeterReading]:
    """The simulated day as the meter reports it: one reading per step, seq from 1."""
    return [
        MeterReading(meter, participant, day_ts + int(t_s), day.dt_s, int(imp), int(exp_), k + 1)
        for k, (t_s, imp, exp_) in enumerate(
            zip(day.t_s, day.import_wh, day.export_wh, strict=True)
        )
    ]
