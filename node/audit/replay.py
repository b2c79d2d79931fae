"""The auditor: recompute every contract from the readings on chain and compare.

For each contract (an import cap or a market delivery obligation), the reference model
(node/accounting.py) replays its importer's ReadingAccepted events in chain order and yields
the accumulators and the ViolationRecorded events ImportCap must have emitted. Compared with
the chain: E_viol and E_total [Wh], compliance and penalty exactly, trust within
TRUST_TOLERANCE (PRBMath's exp against math.exp, docs/contracts.md), and every violation event
field by field. Per participant, ImportCap's exposure must equal the sum of its contracts'
exposures, and Trust.trustOf (when Trust is known) exp(-exposure); its accepted readings must
be numbered 1, 2, 3, ... (Metering refuses a gap, so no reading can be withheld).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from eth_typing import ChecksumAddress

from gridledger.contracts.typed import MeterReading
from gridledger.contracts.units import J_PER_WH, WAD
from gridledger.node.accounting import (
    Accumulators,
    ContractStatus,
    ContractTerms,
    account,
    sequence_breaks,
    status,
    trust_from_exposure,
)
from gridledger.node.views.audit import contract_kind
from gridledger.node.views.records import ContractKind, ReadingOut, StatusOut, ViolationOut

# PRBMath's exp agrees with math.exp to 1e-12 absolute over its range (docs/contracts.md).
TRUST_TOLERANCE = 1e-12
# Past this many differing events per contract the rest are summarised in one line.
MAX_EVENT_MISMATCHES = 10
# ReadingAccepted does not carry the meter's address; the reference model ignores it.
UNKNOWN_METER = "0x" + "00" * 20
EVENT_FIELDS = ("participant", "interval_start_ts", "violation_wh", "cumulative_violation_wh")


class AuditSource(Protocol):
    """What the auditor reads from a chain (node.audit.chain.ChainReader implements it)."""

    block: int

    def import_cap_ids(self) -> list[int]: ...

    def delivery_ids(self, participant: ChecksumAddress | None) -> list[int]: ...

    def terms(self, contract_id: int) -> ContractTerms: ...

    def status(self, contract_id: int) -> StatusOut: ...

    def violations(self, participant: ChecksumAddress | None) -> list[ViolationOut]: ...

    def readings(self, participant: ChecksumAddress | None) -> list[ReadingOut]: ...

    def exposure_wad(self, participant: str) -> int: ...

    def trust_wad(self, participant: str) -> int | None: ...

    def token_decimals(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Mismatch:
    """One value where the chain and the reference model differ."""

    subject: str
    field: str
    chain: object
    reference: object

    def __str__(self) -> str:
        return f"{self.subject}: {self.field}: chain {self.chain}, reference {self.reference}"


@dataclass(frozen=True, slots=True)
class ExpectedViolation:
    """A ViolationRecorded event the reference model expects [Wh]."""

    participant: str
    interval_start_ts: int
    violation_wh: int
    cumulative_violation_wh: int


@dataclass(frozen=True, slots=True)
class Replay:
    """The reference model's result for one contract over its importer's readings."""

    accumulators: Accumulators
    violations: tuple[ExpectedViolation, ...]
    readings_in_window: int


@dataclass(frozen=True, slots=True)
class ContractAudit:
    contract_id: int
    kind: ContractKind
    terms: ContractTerms
    chain: StatusOut
    reference: ContractStatus
    violations: tuple[ViolationOut, ...]
    readings_in_window: int
    mismatches: tuple[Mismatch, ...]


@dataclass(frozen=True, slots=True)
class ParticipantAudit:
    address: str
    contract_ids: tuple[int, ...]
    exposure_wad: int
    reference_exposure_wad: int
    trust_wad: int | None
    reference_trust: float
    mismatches: tuple[Mismatch, ...]


@dataclass(frozen=True, slots=True)
class AuditReport:
    block: int
    participant: str | None
    token_decimals: int
    contracts: tuple[ContractAudit, ...]
    participants: tuple[ParticipantAudit, ...]
    # Differences that belong to no audited contract (events of unknown contract ids).
    orphans: tuple[Mismatch, ...]

    def mismatches(self) -> list[Mismatch]:
        found = [m for c in self.contracts for m in c.mismatches]
        found += [m for p in self.participants for m in p.mismatches]
        return found + list(self.orphans)


def replay(terms: ContractTerms, readings: Iterable[MeterReading]) -> Replay:
    """Feed the importer's `readings` (chain order) one by one to the reference model."""
    acc = Accumulators()
    expected: list[ExpectedViolation] = []
    inside = 0
    for r in readings:
        if not terms.applies_at(r.interval_start_ts):
            continue
        inside += 1
        after = account(terms, acc, [r])
        violation_j = after.violation_j - acc.violation_j
        if violation_j:
            expected.append(
                ExpectedViolation(
                    terms.importer,
                    r.interval_start_ts,
                    violation_j // J_PER_WH,
                    after.violation_j // J_PER_WH,
                )
            )
        acc = after
    return Replay(acc, tuple(expected), inside)


def trust_differs(trust_wad: int, reference: float) -> bool:
    return abs(trust_wad / WAD - reference) > TRUST_TOLERANCE


def compare_status(subject: str, chain: StatusOut, ref: ContractStatus) -> list[Mismatch]:
    """contractStatus against the reference: exact, trust within TRUST_TOLERANCE."""
    out = [
        Mismatch(subject, name, getattr(chain, name), getattr(ref, name))
        for name in ("violation_wh", "total_wh", "compliance_wad", "penalty_units")
        if getattr(chain, name) != getattr(ref, name)
    ]
    if trust_differs(chain.trust_wad, ref.trust):
        out.append(Mismatch(subject, "trust", chain.trust_wad / WAD, ref.trust))
    return out


def compare_events(
    subject: str, chain: Sequence[ViolationOut], expected: Sequence[ExpectedViolation]
) -> list[Mismatch]:
    """The contract's ViolationRecorded events against the expected ones, in order; event i
    is the contract's i-th (from 0)."""
    out: list[Mismatch] = []
    if len(chain) != len(expected):
        out.append(Mismatch(subject, "violation events", len(chain), len(expected)))
    differing = 0
    for i, (got, want) in enumerate(zip(chain, expected, strict=False)):
        fields = [f for f in EVENT_FIELDS if _norm(getattr(got, f)) != _norm(getattr(want, f))]
        if not fields:
            continue
        differing += 1
        if differing <= MAX_EVENT_MISMATCHES:
            out += [
                Mismatch(subject, f"violation event {i} {f}", getattr(got, f), getattr(want, f))
                for f in fields
            ]
    if differing > MAX_EVENT_MISMATCHES:
        field = f"violation events differing (first {MAX_EVENT_MISMATCHES} listed)"
        out.append(Mismatch(subject, field, differing, 0))
    return out


def _norm(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def audit_contract(
    contract_id: int,
    terms: ContractTerms,
    chain: StatusOut,
    events: Sequence[ViolationOut],
    readings: Sequence[MeterReading],
) -> ContractAudit:
    """Replay `readings` (the importer's, chain order) and compare with the chain's values."""
    result = replay(terms, readings)
    ref = status(terms, result.accumulators)
    subject = f"contract {contract_id}"
    mismatches = compare_status(subject, chain, ref) + compare_events(
        subject, events, result.violations
    )
    return ContractAudit(
        contract_id=contract_id,
        kind=contract_kind(contract_id),
        terms=terms,
        chain=chain,
        reference=ref,
        violations=tuple(events),
        readings_in_window=result.readings_in_window,
        mismatches=tuple(mismatches),
    )


def audit_participant(
    source: AuditSource,
    address: str,
    contracts: Sequence[ContractAudit],
    readings: Sequence[MeterReading] = (),
) -> ParticipantAudit:
    """ImportCap's exposure of `address` against the sum over its contracts; Trust.trustOf;
    its accepted `readings` (chain order) numbered 1, 2, 3, ... as Metering requires."""
    ref_exposure = sum(c.reference.exposure_wad for c in contracts)
    ref_trust = trust_from_exposure(ref_exposure)
    exposure = source.exposure_wad(address)
    trust_wad = source.trust_wad(address)
    subject = f"participant {address}"
    mismatches = []
    if exposure != ref_exposure:
        mismatches.append(Mismatch(subject, "exposure_wad", exposure, ref_exposure))
    if trust_wad is not None and trust_differs(trust_wad, ref_trust):
        mismatches.append(Mismatch(subject, "trust", trust_wad / WAD, ref_trust))
    breaks = sequence_breaks(readings)
    mismatches += [Mismatch(subject, "reading seq", s, e) for s, e in breaks[:MAX_EVENT_MISMATCHES]]
    return ParticipantAudit(
        address=address,
        contract_ids=tuple(c.contract_id for c in contracts),
        exposure_wad=exposure,
        reference_exposure_wad=ref_exposure,
        trust_wad=trust_wad,
        reference_trust=ref_trust,
        mismatches=tuple(mismatches),
    )


def audit(source: AuditSource, participant: ChecksumAddress | None = None) -> AuditReport:
    """Audit every contract (of `participant`, if given) that `source` holds."""
    ids = source.import_cap_ids() + source.delivery_ids(participant)
    terms = {i: source.terms(i) for i in ids}
    if participant is not None:
        terms = {i: t for i, t in terms.items() if t.importer.lower() == participant.lower()}
    readings: dict[str, list[MeterReading]] = defaultdict(list)
    for r in source.readings(participant):
        readings[r.participant.lower()].append(r.reading(UNKNOWN_METER))
    events: dict[int, list[ViolationOut]] = defaultdict(list)
    for v in source.violations(participant):
        events[v.contract_id].append(v)

    contracts = tuple(
        audit_contract(i, t, source.status(i), events.pop(i, []), readings[t.importer.lower()])
        for i, t in terms.items()
    )
    by_importer: dict[str, list[ContractAudit]] = defaultdict(list)
    for c in contracts:
        by_importer[c.terms.importer].append(c)
    participants = tuple(
        audit_participant(source, a, cs, readings[a.lower()]) for a, cs in by_importer.items()
    )
    orphans = tuple(
        Mismatch(f"contract {i}", "violation events of a contract not audited", len(v), 0)
        for i, v in events.items()
    )
    return AuditReport(
        block=source.block,
        participant=participant,
        token_decimals=source.token_decimals(),
        contracts=contracts,
        participants=participants,
        orphans=orphans,
    )
