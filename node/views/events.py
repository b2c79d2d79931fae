"""Event queries that stay within a ledger's log-query limits: block windows that shrink when
the ledger refuses a range as too large, a time -> block search, and the latest event.

Block timestamps never decrease, so the first block at or after a time is found by bisection.

Logs are decoded straight from their ABI with eth_abi: the events read here carry only static
types, and web3's contract-event layer, which normalises every value through several generic
layers, takes about 7 times as long per log (docs/audit.md). A decoded log carries the
EventData fields callers read: event, args, address, blockNumber, blockHash, logIndex,
transactionHash, transactionIndex.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any, cast

from eth_abi.abi import decode, encode
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import Web3RPCError
from web3.types import EventData, FilterParams, LogReceipt

# Blocks per get_logs query; halved (down to one block) when the ledger refuses a range.
WINDOW_BLOCKS = 50_000
# How far back the search for the latest event goes [blocks].
LATEST_SEARCH_BLOCKS = 2_000_000
# Topic values per position in one query (the embedded ledger takes at most 100).
TOPICS_PER_QUERY = 100

Getter = Callable[[int, int], Sequence[EventData]]

# A history names few distinct addresses; checksumming (a keccak each) is the next cost.
_checksum = lru_cache(maxsize=4096)(to_checksum_address)


class LogDecoder:
    """Decoder of event `event` of a contract ABI `abi`."""

    def __init__(self, abi: Sequence[Mapping[str, Any]], event: str) -> None:
        (item,) = [e for e in abi if e["type"] == "event" and e.get("name") == event]
        inputs = item["inputs"]
        self.event = event
        self.types = {str(i["name"]): str(i["type"]) for i in inputs}
        self.indexed = [str(i["name"]) for i in inputs if i["indexed"]]
        self.data = [str(i["name"]) for i in inputs if not i["indexed"]]
        signature = f"{event}({','.join(str(i['type']) for i in inputs)})"
        self.topic0 = HexBytes(keccak(text=signature))

    def _topic(self, name: str, value: Any) -> HexBytes:
        return HexBytes(encode([self.types[name]], [value]))

    def topics(self, filters: Mapping[str, Any]) -> list[Any]:
        """eth_getLogs topics matching `filters` (indexed argument name -> value, or a list
        of values any of which matches)."""
        unknown = set(filters) - set(self.indexed)
        if unknown:
            raise ValueError(f"{self.event} has no indexed argument(s) {sorted(unknown)}")
        out: list[Any] = [self.topic0]
        for name in self.indexed:
            value = filters.get(name)
            if value is None:
                out.append(None)
            elif isinstance(value, list | tuple):
                out.append([self._topic(name, v) for v in value])
            else:
                out.append(self._topic(name, value))
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


def _hex(topic: Any) -> Any:
    if isinstance(topic, list):
        return [_hex(t) for t in topic]
    return None if topic is None else HexBytes(topic).to_0x_hex()


def log_getter(
    w3: Web3, decoder: LogDecoder, address: str | None, filters: Mapping[str, Any]
) -> Getter:
    """A (from_block, to_block) -> decoded logs function; `address` None: any emitter."""
    # As 0x-hex strings: the embedded ledger takes the params as they are, not as JSON.
    topics = [_hex(t) for t in decoder.topics(filters)]

    def get(from_block: int, to_block: int) -> Sequence[EventData]:
        params: FilterParams = {"fromBlock": from_block, "toBlock": to_block, "topics": topics}
        if address is not None:
            params["address"] = to_checksum_address(address)
        decoded = (decoder.decode(log) for log in w3.eth.get_logs(params))
        return [e for e in decoded if e is not None]

    return get


def first_block_at(w3: Web3, ts: int) -> int:
    """The first block whose timestamp is >= `ts` [unix s]; head + 1 if there is none."""
    lo, hi = 0, int(w3.eth.block_number) + 1
    while lo < hi:
        mid = (lo + hi) // 2
        if int(w3.eth.get_block(mid)["timestamp"]) >= ts:
            hi = mid
        else:
            lo = mid + 1
    return lo


def _range_too_large(exc: Web3RPCError) -> bool:
    """Whether the ledger refused a log query for its size (EIP-1474 -32005 "limit exceeded";
    other ledgers say so in the message)."""
    error = (exc.rpc_response or {}).get("error")
    code = error.get("code") if isinstance(error, dict) else None
    text = exc.message.lower()
    return code == -32005 or any(w in text for w in ("limit", "too many", "more than", "range"))


def _windowed(get: Getter, from_block: int, to_block: int) -> Sequence[EventData]:
    """`get(from, to)`, split into halves while the ledger refuses the range as too large."""
    try:
        return get(from_block, to_block)
    except Web3RPCError as exc:
        if from_block >= to_block or not _range_too_large(exc):
            raise
        mid = (from_block + to_block) // 2
        return [*_windowed(get, from_block, mid), *_windowed(get, mid + 1, to_block)]


def scan(
    get: Getter,
    from_block: int,
    to_block: int,
    keep: Callable[[EventData], bool],
    limit: int,
) -> tuple[list[EventData], bool]:
    """Events in [from_block, to_block] for which `keep` holds, oldest first, at most `limit`;
    the flag says whether more matched."""
    found: list[EventData] = []
    start = from_block
    while start <= to_block:
        end = min(to_block, start + WINDOW_BLOCKS - 1)
        for event in _windowed(get, start, end):
            if keep(event):
                if len(found) == limit:
                    return found, True
                found.append(event)
        start = end + 1
    return found, False


def recent(get: Getter, head: int, limit: int) -> list[EventData]:
    """The `limit` most recent events `get` returns up to block `head`, oldest first, searched
    back from `head` window by window (no more of the history than it takes)."""
    found: list[EventData] = []
    end = head
    while end >= 0 and len(found) < limit:
        start = max(0, end - WINDOW_BLOCKS + 1)
        found = list(_windowed(get, start, end)) + found
        end = start - 1
    return found[-limit:]


def latest(get: Getter, head: int) -> EventData | None:
    """The most recent event `get` returns, searching back from `head`."""
    end = head
    floor = max(0, head - LATEST_SEARCH_BLOCKS)
    while end >= floor:
        start = max(floor, end - WINDOW_BLOCKS + 1)
        events = _windowed(get, start, end)
        if events:
            return events[-1]
        end = start - 1
    return None


def getter(contract: Any, event: str, filters: Mapping[str, Any] | None = None) -> Getter:
    """A (from_block, to_block) -> logs function for `event` of a web3 contract."""
    return log_getter(contract.w3, LogDecoder(contract.abi, event), contract.address, filters or {})


def by_values(
    contract: Any, event: str, name: str, values: Sequence[int], head: int
) -> list[EventData]:
    """All `event` logs whose indexed argument `name` is one of `values`, in chunks of
    TOPICS_PER_QUERY values per query."""
    out: list[EventData] = []
    for i in range(0, len(values), TOPICS_PER_QUERY):
        chunk = list(values[i : i + TOPICS_PER_QUERY])
        out.extend(_windowed(getter(contract, event, {name: chunk}), 0, head))
    return out
