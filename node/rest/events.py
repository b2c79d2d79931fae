"""Event queries that stay within a ledger's log-query limits: block windows that shrink when
the ledger refuses a range as too large, a time -> block search, and the latest event.

Block timestamps never decrease, so the first block at or after a time is found by bisection.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from web3 import Web3
from web3.exceptions import Web3RPCError
from web3.types import EventData

# Blocks per get_logs query; halved (down to one block) when the ledger refuses a range.
WINDOW_BLOCKS = 50_000
# How far back the search for the latest event goes [blocks].
LATEST_SEARCH_BLOCKS = 2_000_000
# Topic values per position in one query (the embedded ledger takes at most 100).
TOPICS_PER_QUERY = 100

Getter = Callable[[int, int], Sequence[EventData]]


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


def getter(contract: Any, event: str, filters: dict[str, Any] | None = None) -> Getter:
    """A (from_block, to_block) -> logs function for `event` of a web3 contract."""
    bound = getattr(contract.events, event)()

    def get(from_block: int, to_block: int) -> Sequence[EventData]:
        logs: Sequence[EventData] = bound.get_logs(
            from_block=from_block, to_block=to_block, argument_filters=filters or {}
        )
        return logs

    return get


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
