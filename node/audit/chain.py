"""What the chain says about the audited contracts, read at one block so that calls and event
queries see the same state even while new blocks arrive.

Contracts: import caps 0 .. contractCount() - 1 and the delivery obligations of cleared sells
(Market OrderPlaced events whose sell has a fill). Readings: Metering's ReadingAccepted events;
when the Metering address is unknown, every contract emitting that event whose sink() is the
audited ImportCap counts as one.
"""

from __future__ import annotations

import sys
from typing import Any

from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address
from web3 import Web3
from web3.contract import Contract
from web3.types import EventData

from gridledger.contracts.artifacts import load_artifact
from gridledger.contracts.enums import Side
from gridledger.node.accounting import ContractTerms
from gridledger.node.audit.locate import AuditInputError, Located
from gridledger.node.errors import ContractRevertError
from gridledger.node.ledger.reverts import decoded_reverts
from gridledger.node.views import events
from gridledger.node.views.audit import reading_out, status_out, terms_of, violation_out
from gridledger.node.views.market import delivery_id, split_order_id
from gridledger.node.views.records import ReadingOut, StatusOut, ViolationOut

ZERO_ADDRESS = "0x" + "00" * 20
ALL = sys.maxsize  # no limit on scanned events
READING_ACCEPTED = events.LogDecoder(load_artifact("Metering").abi, "ReadingAccepted")
VIOLATION_RECORDED = events.LogDecoder(load_artifact("ImportCap").abi, "ViolationRecorded")
ORDER_PLACED = events.LogDecoder(load_artifact("Market").abi, "OrderPlaced")


def _chain_order(e: EventData) -> tuple[int, int]:
    return int(e["blockNumber"]), int(e["logIndex"])


class ChainReader:
    """The audited contracts on `w3` at block `block`."""

    def __init__(self, w3: Web3, located: Located, block: int) -> None:
        self.w3 = w3
        self.located = located
        self.block = block
        self.import_cap = self._bind("ImportCap", located.import_cap)
        self._meterings: dict[str, bool] = {}
        self._check_import_cap()
        if located.metering is not None and not self._is_metering(located.metering):
            raise AuditInputError(
                f"Metering {located.metering} does not forward readings to ImportCap "
                f"{located.import_cap} (its sink() differs or it is not a Metering contract)"
            )

    # ------------------------------------------------------------ setup

    def _bind(self, name: str, address: str) -> Contract:
        return self.w3.eth.contract(
            address=to_checksum_address(address), abi=load_artifact(name).abi
        )

    def call(self, fn: Any) -> Any:
        """`fn` at the audited block; reverts raise ContractRevertError."""
        with decoded_reverts():
            return fn.call(block_identifier=self.block)

    def _check_import_cap(self) -> None:
        address = self.located.import_cap
        chain_id = int(self.w3.eth.chain_id)
        if not self.w3.eth.get_code(address, block_identifier=self.block):
            raise AuditInputError(
                f"no contract at ImportCap address {address} on chain {chain_id} at block "
                f"{self.block}: wrong address or wrong endpoint?"
            )
        try:
            self.call(self.import_cap.functions.contractCount())
        except Exception as exc:
            raise AuditInputError(
                f"{address} does not answer ImportCap.contractCount() ({type(exc).__name__}): "
                "not an ImportCap contract"
            ) from exc

    def _is_metering(self, address: str) -> bool:
        if address not in self._meterings:
            metering = self._bind("Metering", address)
            try:
                sink = str(self.call(metering.functions.sink()))
            except Exception:
                sink = ZERO_ADDRESS
            self._meterings[address] = sink.lower() == self.located.import_cap.lower()
        return self._meterings[address]

    # ------------------------------------------------------------ contracts

    def import_cap_ids(self) -> list[int]:
        return list(range(int(self.call(self.import_cap.functions.contractCount()))))

    def delivery_ids(self, participant: ChecksumAddress | None) -> list[int]:
        """Ids of delivery obligations (cleared sells with a fill) of `participant` (or all)."""
        market_address = str(self.call(self.import_cap.functions.market()))
        if int(market_address, 16) == 0:
            return []
        market = self._bind("Market", market_address)
        filters = {"owner": participant} if participant else {}
        get = events.log_getter(self.w3, ORDER_PLACED, market.address, filters)
        placed, _ = events.scan(get, 0, self.block, lambda _: True, ALL)
        ids = []
        for e in placed:
            if Side(int(e["args"]["side"])) is not Side.SELL:
                continue
            interval, index = split_order_id(int(e["args"]["orderId"]))
            filled_wh = int(self.call(market.functions.deliveryOf(interval, index))[0])
            if filled_wh > 0:
                ids.append(delivery_id(str(e["args"]["owner"]), interval))
        return ids

    def terms(self, contract_id: int) -> ContractTerms:
        return terms_of(self.call(self.import_cap.functions.contractTerms(contract_id)))

    def status(self, contract_id: int) -> StatusOut:
        return status_out(self.call, self.import_cap.functions, contract_id)

    def exposure_wad(self, participant: str) -> int:
        return int(self.call(self.import_cap.functions.exposureOf(participant)))

    def trust_wad(self, participant: str) -> int | None:
        """Trust.trustOf(participant), or None when the Trust address is unknown."""
        if self.located.trust is None:
            return None
        trust = self._bind("Trust", self.located.trust)
        return int(self.call(trust.functions.trustOf(participant)))

    def token_decimals(self) -> int:
        token = self._bind("GridToken", str(self.call(self.import_cap.functions.token())))
        return int(self.call(token.functions.decimals()))

    # ------------------------------------------------------------ events

    def violations(self, participant: ChecksumAddress | None) -> list[ViolationOut]:
        """ViolationRecorded events (of `participant`, or all), in chain order."""
        filters = {"participant": participant} if participant else {}
        get = events.log_getter(self.w3, VIOLATION_RECORDED, self.located.import_cap, filters)
        found, _ = events.scan(get, 0, self.block, lambda _: True, ALL)
        return [violation_out(e) for e in sorted(found, key=_chain_order)]

    def readings(self, participant: ChecksumAddress | None) -> list[ReadingOut]:
        """ReadingAccepted events (of `participant`, or all) of the Metering contracts that
        feed the audited ImportCap, in chain order."""
        filters = {"participant": participant} if participant else {}
        get = events.log_getter(self.w3, READING_ACCEPTED, self.located.metering, filters)
        found, _ = events.scan(
            get, 0, self.block, lambda e: self._is_metering(str(e["address"])), ALL
        )
        return [reading_out(e) for e in sorted(found, key=_chain_order)]


def open_reader(w3: Web3, located: Located, block: int | None) -> ChainReader:
    """A reader at `block` (default: the head when called)."""
    head = int(w3.eth.block_number)
    if block is not None and not 0 <= block <= head:
        raise AuditInputError(f"--block {block} is not in 0..{head} (the endpoint's head)")
    try:
        return ChainReader(w3, located, head if block is None else block)
    except ContractRevertError as exc:
        raise AuditInputError(f"reading ImportCap {located.import_cap} failed: {exc}") from exc
