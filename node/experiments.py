"""The FED-MGDT experiment on chain: terms of MG1's import cap and its metered day as readings.

Shared by the demo and the scenario test, so both run the same experiment.
"""

from __future__ import annotations

from contracts.typed import MeterReading
from node.accounting import WAD, BoundKind, ContractTerms
from sim.fedmgdt import Mg1Day

WINDOW_START_S = 61_200  # 17:00 UTC
WINDOW_END_S = 72_000  # 20:00 UTC
LAMBDA_UNITS_PER_KWH = 10**6  # FED-MGDT lambda = 1.0 token per kWh
BETA_WAD_PER_KWH = WAD // 2  # FED-MGDT beta = 0.5 per kWh


def fedmgdt_terms(importer: str, counterparty: str, day_ts: int, cap_w: float) -> ContractTerms:
    """MG1's import cap of `cap_w` [W] during 17:00-20:00 of the day starting at `day_ts`."""
    return ContractTerms(
        importer=importer,
        kind=BoundKind.UPPER,
        window_start_s=WINDOW_START_S,
        window_end_s=WINDOW_END_S,
        counterparty=counterparty,
        valid_from_ts=day_ts,
        valid_to_ts=day_ts + 86_400,
        lower_w=0,
        upper_w=int(cap_w),
        lambda_units_per_kwh=LAMBDA_UNITS_PER_KWH,
        beta_wad_per_kwh=BETA_WAD_PER_KWH,
    )


def day_readings(day: Mg1Day, meter: str, participant: str, day_ts: int) -> list[MeterReading]:
    """The simulated day as the meter reports it: one reading per step, seq from 1."""
    return [
        MeterReading(meter, participant, day_ts + int(t_s), day.dt_s, int(imp), int(exp_), k + 1)
        for k, (t_s, imp, exp_) in enumerate(
            zip(day.t_s, day.import_wh, day.export_wh, strict=True)
        )
    ]
