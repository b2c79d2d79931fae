"""Pure-Python reference model of the on-chain import-cap accounting (FED-MGDT).

Mirrors ImportCap.sol integer for integer, so an auditor can recompute every contract's
status from the ReadingAccepted events and compare. Per reading k whose interval start lies
in the contract's validity and daily window (UTC):

    P_k dt  = (import_wh - export_wh) * 3600                         [J]
    V_k dt  = max(0, P_k dt - upper_w * dt) (+ max(0, lower_w * dt - P_k dt))  [J]
    E_viol += V_k dt,   E_total += |P_k dt|

then violation_wh = E_viol // 3600, compliance = 1 - E_viol / E_total (wad, floor, clamped),
penalty = lambda * E_viol[kWh] (floor), exposure = beta * E_viol[kWh] (wad, floor) and
trust = exp(-exposure). The float trust uses math.exp; the chain uses PRBMath, which agrees
to 1e-12 absolute (tested).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace

from gridledger.contracts.enums import BoundKind
from gridledger.contracts.typed import MeterReading
from gridledger.contracts.units import J_PER_KWH, J_PER_WH, SECONDS_PER_DAY, WAD

# PRBMath's exp() returns 0 below this exponent (exp(-41.44...) < 1e-18).
MAX_EXPOSURE_WAD = 41_446531673892822322


@dataclass(frozen=True, slots=True)
class ContractTerms:
    """Terms C = {P_i, P_j, T, Phi} (field order of the Solidity struct).

    Window [window_start_s, window_end_s) in seconds after 00:00 UTC (equal: all day;
    end < start: wraps midnight), validity [valid_from_ts, valid_to_ts) in unix seconds,
    bounds in W, lambda in units per kWh of violation, beta in wad per kWh.
    """

    importer: str
    kind: BoundKind
    window_start_s: int
    window_end_s: int
    counterparty: str
    valid_from_ts: int
    valid_to_ts: int
    lower_w: int
    upper_w: int
    lambda_units_per_kwh: int
    beta_wad_per_kwh: int

    def as_abi(self) -> tuple[str, int, int, int, str, int, int, int, int, int, int]:
        """The ContractTerms tuple the contract ABI takes."""
        return (
            self.importer,
            int(self.kind),
            self.window_start_s,
            self.window_end_s,
            self.counterparty,
            self.valid_from_ts,
            self.valid_to_ts,
            self.lower_w,
            self.upper_w,
            self.lambda_units_per_kwh,
            self.beta_wad_per_kwh,
        )

    def applies_at(self, interval_start_ts: int) -> bool:
        """Whether a reading starting at `interval_start_ts` [unix s] is inside the contract."""
        if not self.valid_from_ts <= interval_start_ts < self.valid_to_ts:
            return False
        tod_s = interval_start_ts % SECONDS_PER_DAY
        start, end = self.window_start_s, self.window_end_s
        if start == end:
            return True
        if start < end:
            return start <= tod_s < end
        return tod_s >= start or tod_s < end


@dataclass(frozen=True, slots=True)
class Accumulators:
    """Exact accumulators of one contract [J]."""

    violation_j: int = 0
    total_j: int = 0


@dataclass(frozen=True, slots=True)
class ContractStatus:
    """What contractStatus(id) returns, plus the float trust for comparison."""

    violation_wh: int
    total_wh: int
    compliance_wad: int
    penalty_units: int
    exposure_wad: int
    trust: float


def violation_j(terms: ContractTerms, net_j: int, duration_s: int) -> int:
    """Violation energy V dt [J] of one reading with net PCC energy `net_j` [J]."""
    v_j = 0
    if terms.kind != BoundKind.LOWER:
        v_j += max(0, net_j - terms.upper_w * duration_s)
    if terms.kind != BoundKind.UPPER:
        v_j += max(0, terms.lower_w * duration_s - net_j)
    return v_j


def account(
    terms: ContractTerms, acc: Accumulators, readings: Iterable[MeterReading]
) -> Accumulators:
    """Apply `readings` of the importer to one contract's accumulators."""
    for r in readings:
        if not terms.applies_at(r.interval_start_ts):
            continue
        net_j = (r.import_wh - r.export_wh) * J_PER_WH
        acc = replace(
            acc,
            violation_j=acc.violation_j + violation_j(terms, net_j, r.duration_s),
            total_j=acc.total_j + abs(net_j),
        )
    return acc


def sequence_breaks(readings: Iterable[MeterReading]) -> list[tuple[int, int]]:
    """(seq, expected seq) of each reading that breaks Metering's rule for one meter's
    accepted readings: seq 1, 2, 3, ... without gaps, so that no reading can be withheld while
    a later one is accepted (docs/contracts.md, "Withheld readings")."""
    breaks = []
    expected = 1
    for r in readings:
        if r.seq != expected:
            breaks.append((r.seq, expected))
        expected = r.seq + 1
    return breaks


def exposure_wad(beta_wad_per_kwh: int, violation_j_: int) -> int:
    """beta * E_viol[kWh] as a wad, rounded down like TrustMath.exposureWad."""
    return beta_wad_per_kwh * violation_j_ // J_PER_KWH


def trust_from_exposure(exposure: int) -> float:
    """exp(-exposure / 1e18); 0 beyond the range the chain's exp represents."""
    if exposure > MAX_EXPOSURE_WAD:
        return 0.0
    return math.exp(-exposure / WAD)


def delivery_penalty_due_units(terms: ContractTerms, acc: Accumulators, paid_units: int) -> int:
    """Penalty of a contract still outstanding after `paid_units` [units]: what ImportCap's
    chargeDeliveryPenalty takes from a seller's held proceeds (at most what is held) when the
    Market releases them, and what collectPenalty pulls otherwise."""
    return status(terms, acc).penalty_units - paid_units


def status(terms: ContractTerms, acc: Accumulators) -> ContractStatus:
    """The contract status the chain reports for these accumulators."""
    v_j, tot_j = acc.violation_j, acc.total_j
    if tot_j == 0:
        compliance = WAD if v_j == 0 else 0
    elif v_j >= tot_j:
        compliance = 0
    else:
        compliance = (tot_j - v_j) * WAD // tot_j
    exposure = exposure_wad(terms.beta_wad_per_kwh, v_j)
    return ContractStatus(
        violation_wh=v_j // J_PER_WH,
        total_wh=tot_j // J_PER_WH,
        compliance_wad=compliance,
        penalty_units=terms.lambda_units_per_kwh * v_j // J_PER_KWH,
        exposure_wad=exposure,
        trust=trust_from_exposure(exposure),
    )
