"""Event logs decoded straight from their ABI with eth_abi, for scans over a whole history.

web3's contract events normalise every value through several generic layers (about 2 ms per
ReadingAccepted log under a profiler, 63 % of an audit's time); the events the audit reads
carry only static types, which eth_abi decodes in about 20 us. The result carries the
EventData fields node.rest.events and node.rest.audit_view read: args, address, blockNumber,
logIndex, transactionHash.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any, cast

from eth_abi.abi import decode, encode
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from hexbytes import HexBytes
from web3 import Web3
from web3.types import EventData, FilterParams, LogReceipt

from contracts.artifacts import load_artifact
from node.rest.events import Getter

# A history names few distinct addresses; checksumming (a keccak each) is the next cost.
_checksum = lru_cache(maxsize=4096)(to_checksum_address)


class LogDecoder:
    """Decoder of event `event` of contract `contract` (by its committed ABI)."""

    def __init__(self, contract: str, event: str) -> None:
        (abi,) = [
            e
            for e in load_artifact(contract).abi
            if e["type"] == "event" and e.get("name") == event
        ]
        inputs = abi["inputs"]
        self.event = event
        self.types = {str(i["name"]): str(i["type"]) for i in inputs}
        self.indexed = [str(i["name"]) for i in inputs if i["indexed"]]
        self.data = [str(i["name"]) for i in inputs if not i["indexed"]]
        signature = f"{event}({','.join(str(i['type']) for i in inputs)})"
        self.topic0 = HexBytes(keccak(text=signature))

    def topics(self, filters: Mapping[str, Any]) -> list[Any]:
        """eth_getLogs topics matching `filters` (indexed argument name -> value)."""
        unknown = set(filters) - set(self.indexed)
        if unknown:
            raise ValueError(f"{self.event} has no indexed argument(s) {sorted(unknown)}")
        out: list[Any] = [self.topic0]
        for name in self.indexed:
            value = filters.get(name)
            out.append(None if value is None else HexBytes(encode([self.types[name]], [value])))
        while out[-1] is None:
            out.pop()
        return out

    def _value(self, name: str, value: Any) -> Any:
        return _checksum(value) if self.types[name] == "address" else value

    def decode(self, log: LogReceipt) -> EventData | None:
        """The decoded log, or None if it is not this event (another signature or layout)."""
        topics = log["topics"]
        if not topics or HexBytes(topics[0]) != self.topic0 or len(topics) != 1 + len(self.indexed):
            return None
        args: dict[str, Any] = {}
        for name, topic in zip(self.indexed, topics[1:], strict=True):
            (value,) = decode([self.types[name]], bytes(topic))
            args[name] = self._value(name, value)
        try:
            values = decode([self.types[n] for n in self.data], bytes(log["data"]))
        except Exception:  # data of another layout under the same signature hash
            return None
        for name, value in zip(self.data, values, strict=True):
            args[name] = self._value(name, value)
        return cast(
            EventData,
            {
                "event": self.event,
                "args": args,
                "address": _checksum(log["address"]),
                "blockNumber": int(log["blockNumber"]),
                "blockHash": log["blockHash"],
                "logIndex": int(log["logIndex"]),
                "transactionHash": log["transactionHash"],
                "transactionIndex": int(log["transactionIndex"]),
            },
        )


def getter(
    w3: Web3, decoder: LogDecoder, address: str | None, filters: Mapping[str, Any]
) -> Getter:
    """A (from_block, to_block) -> decoded logs function; `address` None: any emitter."""
    topics = decoder.topics(filters)

    def get(from_block: int, to_block: int) -> Sequence[EventData]:
        params: FilterParams = {"fromBlock": from_block, "toBlock": to_block, "topics": topics}
        if address is not None:
            params["address"] = to_checksum_address(address)
        decoded = (decoder.decode(log) for log in w3.eth.get_logs(params))
        return [e for e in decoded if e is not None]

    return get
