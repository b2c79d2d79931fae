"""A scenario's import cap as on-chain contract terms: the operator turns each cap of the
scenario (sim.scenario.CapContract) into the ContractTerms it creates on ImportCap."""

from __future__ import annotations

from gridledger.contracts.enums import BoundKind
from gridledger.contracts.units import TOKEN_UNITS, WAD
from gridledger.node.accounting import ContractTerms
from gridledger.sim.scenario import CapContract


def cap_terms(contract: CapContract, participant: str, operator: str, day_ts: int) -> ContractTerms:
    """The on-chain terms of a scenario cap for the day starting at `day_ts` [unix s]."""
    return ContractTerms(
        importer=participant,
        kind=BoundKind.UPPER,
        window_start_s=contract.window_start_s,
        window_end_s=contract.window_end_s,
        counterparty=operator,
        valid_from_ts=day_ts,
        valid_to_ts=day_ts + 86_400,
        lower_w=0,
        upper_w=round(contract.cap_w),
        lambda_units_per_kwh=round(contract.lambda_per_kwh * TOKEN_UNITS),
        beta_wad_per_kwh=round(contract.beta_per_kwh * WAD),
    )
