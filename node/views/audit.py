"""Reading contracts, violations, meter readings and trust from ImportCap, Metering, Trust,
Registry and Regulation.

`from` / `to` of the event queries filter by the reading's interval start [unix s],
from <= intervalStartTs < to. A reading is recorded in a block at or after its interval's
end, so the search starts at the first block whose timestamp is >= from.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address
from web3 import Web3
from web3.types import EventData

from gridledger.contracts.enums import BoundKind
from gridledger.contracts.units import WAD
from gridledger.node.accounting import ContractTerms
from gridledger.node.views import events
from gridledger.node.views.chain import ChainView
from gridledger.node.views.market import DELIVERY_FLAG
from gridledger.node.views.records import (
    ContractKind,
    ContractOut,
    ContractsPage,
    ReadingOut,
    ReadingsOut,
    StatusOut,
    TrustOut,
    ViolationOut,
    ViolationsOut,
)


def contract_kind(contract_id: int) -> ContractKind:
    return ContractKind.DELIVERY if contract_id & DELIVERY_FLAG else ContractKind.IMPORT_CAP


def terms_of(raw: Sequence[Any]) -> ContractTerms:
    """contractTerms(id)'s tuple as the reference model's ContractTerms."""
    return ContractTerms(
        importer=to_checksum_address(raw[0]),
        kind=BoundKind(int(raw[1])),
        window_start_s=int(raw[2]),
        window_end_s=int(raw[3]),
        counterparty=to_checksum_address(raw[4]),
        valid_from_ts=int(raw[5]),
        valid_to_ts=int(raw[6]),
        lower_w=int(raw[7]),
        upper_w=int(raw[8]),
        lambda_units_per_kwh=int(raw[9]),
        beta_wad_per_kwh=int(raw[10]),
    )


def status_out(call: Callable[[Any], Any], cap: Any, contract_id: int) -> StatusOut:
    """contractStatus(id) and penaltyPaidUnits(id) of ImportCap functions `cap`, read with
    `call` (a view call at the head or at an audited block)."""
    violation_wh, total_wh, compliance_wad, penalty_units, trust_wad = call(
        cap.contractStatus(contract_id)
    )
    return StatusOut(
        violation_wh=int(violation_wh),
        total_wh=int(total_wh),
        compliance_wad=int(compliance_wad),
        penalty_units=int(penalty_units),
        penalty_paid_units=int(call(cap.penaltyPaidUnits(contract_id))),
        trust_wad=int(trust_wad),
    )


def _tx(event: EventData) -> str:
    return "0x" + bytes(event["transactionHash"]).hex()


def violation_out(e: EventData) -> ViolationOut:
    """One ViolationRecorded event of ImportCap."""
    return ViolationOut(
        contract_id=int(e["args"]["contractId"]),
        kind=contract_kind(int(e["args"]["contractId"])),
        participant=str(e["args"]["participant"]),
        interval_start_ts=int(e["args"]["intervalStartTs"]),
        violation_wh=int(e["args"]["violationWh"]),
        cumulative_violation_wh=int(e["args"]["cumulativeViolationWh"]),
        block_number=int(e["blockNumber"]),
        tx_hash=_tx(e),
    )


def reading_out(e: EventData) -> ReadingOut:
    """One ReadingAccepted event of Metering."""
    return ReadingOut.accepted(e["args"], int(e["blockNumber"]), _tx(e))


class AuditView:
    """What an auditor reads: contracts with terms and status, violations, readings, trust."""

    def __init__(self, chain: ChainView) -> None:
        self.chain = chain

    def contract(self, contract_id: int) -> ContractOut:
        """Contract `contract_id` (an import cap or a delivery obligation); 404 if unknown."""
        cap = self.chain.contract("ImportCap").functions
        return ContractOut(
            id=contract_id,
            kind=contract_kind(contract_id),
            terms=terms_of(self.chain.call(cap.contractTerms(contract_id))),
            status=status_out(self.chain.call, cap, contract_id),
        )

    def contracts(self, offset: int, limit: int) -> ContractsPage:
        """Import caps offset .. offset + limit - 1 (fewer at the end)."""
        count = int(self.chain.call(self.chain.contract("ImportCap").functions.contractCount()))
        ids = range(offset, min(count, offset + limit))
        return ContractsPage(
            count=count, offset=offset, limit=limit, contracts=[self.contract(i) for i in ids]
        )

    def _scan(
        self,
        contract: str,
        event: str,
        participant: ChecksumAddress | None,
        from_ts: int | None,
        to_ts: int | None,
        limit: int,
    ) -> tuple[list[EventData], bool]:
        filters = {"participant": participant} if participant else {}
        get = events.getter(self.chain.contract(contract), event, filters)
        w3 = self.chain.w3
        head = int(w3.eth.block_number)
        first = events.first_block_at(w3, from_ts) if from_ts is not None else 0

        def keep(e: EventData) -> bool:
            start_ts = int(e["args"]["intervalStartTs"])
            return (from_ts is None or start_ts >= from_ts) and (to_ts is None or start_ts < to_ts)

        return events.scan(get, first, head, keep, limit)

    def violations(
        self,
        participant: ChecksumAddress | None,
        from_ts: int | None,
        to_ts: int | None,
        limit: int,
    ) -> ViolationsOut:
        found, truncated = self._scan(
            "ImportCap", "ViolationRecorded", participant, from_ts, to_ts, limit
        )
        return ViolationsOut(
            violations=[violation_out(e) for e in found],
            truncated=truncated,
        )

    def readings(
        self,
        participant: ChecksumAddress | None,
        from_ts: int | None,
        to_ts: int | None,
        limit: int,
    ) -> ReadingsOut:
        found, truncated = self._scan(
            "Metering", "ReadingAccepted", participant, from_ts, to_ts, limit
        )
        return ReadingsOut(
            readings=[reading_out(e) for e in found],
            truncated=truncated,
        )

    def trust(self, address: str) -> TrustOut:
        who = Web3.to_checksum_address(address)
        call = self.chain.call
        trust_wad = int(call(self.chain.contract("Trust").functions.trustOf(who)))
        cap: Any = self.chain.contract("ImportCap").functions
        min_trust_wad = int(call(self.chain.contract("Regulation").functions.minTrustWad()))
        active = bool(call(self.chain.contract("Registry").functions.isActive(who)))
        return TrustOut(
            address=who,
            trust_wad=trust_wad,
            trust=trust_wad / WAD,
            exposure_wad=int(call(cap.exposureOf(who))),
            min_trust_wad=min_trust_wad,
            active=active,
            may_trade=active and trust_wad >= min_trust_wad,
            active_contract_ids=[int(i) for i in call(cap.activeContractsOf(who))],
        )
