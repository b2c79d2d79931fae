"""The operator's ledger duties as contract calls, shared by the operator's agent on the
simulator's bus (node/operator/agent.py) and the operator service of a node
(node/operator/service.py): admission, funding, the clearing witness of an interval and the
settlement of its orders. Each function builds calls; its caller sends them its own way
(queued with local nonces, or one by one with the node's keys)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gridledger.contracts.enums import Side
from gridledger.market.orders import Order
from gridledger.market.settlement import RELEASE_GRACE_S
from gridledger.market.witness import Witness, witness_for

ADMIT_GAS = 300_000
MINT_GAS = 200_000
CAP_GAS = 600_000
VOID_GAS = 200_000
ABORT_GAS = 200_000
SETTLE_BATCH = 100


def clear_gas(order_count: int) -> int:
    """Gas limit of `clear` for an interval of `order_count` orders (unused gas is not paid)."""
    return 500_000 + 40_000 * order_count


def settle_gas(batch: int) -> int:
    """Gas limit of `settleOrders` for `batch` orders."""
    return 200_000 + 80_000 * batch


def order_id(interval: int, index: int) -> int:
    """(interval << 32) | index, as Market.sol numbers orders."""
    return (interval << 32) | index


@dataclass(frozen=True, slots=True)
class Member:
    """A microgrid's participant account and its meter's address."""

    microgrid: str
    participant: str
    meter: str


def admit_call(registry: Any, member: Member) -> Any:
    return registry.functions.admit(member.participant, member.meter)


def mint_call(token: Any, account: str, amount_units: int) -> Any:
    return token.functions.mint(account, amount_units)


def book_of(market: Any, interval: int) -> list[Order]:
    """The orders of `interval` as stored, by index."""
    m = market.functions
    count = int(m.orderCount(interval).call())
    orders = []
    for index in range(count):
        owner, side, quantity_wh, price = m.orderOf(order_id(interval, index)).call()
        orders.append(Order(index, owner, Side(side), int(quantity_wh), int(price)))
    return orders


def clear_call(market: Any, interval: int, orders: list[Order]) -> tuple[Any, int, Witness]:
    """The one-transaction `clear` of `interval` with the sort witness of `orders`, its gas
    limit and the witness."""
    w = witness_for(orders)
    call = market.functions.clear(interval, w.volume_wh, list(w.buy_ranking), list(w.sell_ranking))
    return call, clear_gas(len(orders)), w


def settle_calls(market: Any, order_ids: list[int]) -> list[tuple[Any, int]]:
    """`settleOrders` calls (with gas limits) for `order_ids`, SETTLE_BATCH at a time."""
    calls = []
    for start in range(0, len(order_ids), SETTLE_BATCH):
        chunk = order_ids[start : start + SETTLE_BATCH]
        calls.append((market.functions.settleOrders(chunk), settle_gas(len(chunk))))
    return calls


RELEASE_GAS = 250_000
"""Gas limit per sell released (unused gas is not paid)."""
RELEASE_BATCH = 32
"""Sells per `release` transaction (the contract takes up to MAX_SETTLE_BATCH)."""


def due_releases(
    market: Any,
    import_cap: Any,
    sell_ids: list[int],
    end_ts: int,
    now_ts: int,
    owners: dict[int, str] | None = None,
) -> tuple[list[int], list[int]]:
    """Of the filled sells `sell_ids` of an interval ending at `end_ts`: those whose held
    proceeds `release` pays now (the seller's readings reach `end_ts`, or the grace period
    ran out at `now_ts`), and those still waiting (not metered yet, or not settled yet).
    Sells with nothing held (unfilled, or released already) are in neither list once their
    seller is metered or the grace ran out. `owners` caches each sell's seller across calls
    (an order's owner never changes), so a waiting sell costs no call of its own until its
    seller's readings reach the interval's end."""
    m = market.functions
    owners = {} if owners is None else owners
    grace_over = now_ts >= end_ts + RELEASE_GRACE_S
    due: list[int] = []
    waiting: list[int] = []
    last_end: dict[str, int] = {}
    for sell_id in sell_ids:
        owner = owners.get(sell_id)
        if owner is None:
            owner = owners[sell_id] = str(m.orderOf(sell_id).call()[0])
        if not grace_over:
            if owner not in last_end:
                last_end[owner] = int(import_cap.functions.lastReadingEndOf(owner).call())
            if last_end[owner] < end_ts:
                waiting.append(sell_id)  # the seller's delivery is not metered yet
                continue
        if not m.isSettled(sell_id).call():
            waiting.append(sell_id)  # the settlement is not mined yet
            continue
        if int(m.heldOf(sell_id).call()) != 0:
            due.append(sell_id)
    return due, waiting


def take_due_releases(
    pending: dict[int, list[int]],
    market: Any,
    import_cap: Any,
    end_ts_of: Callable[[int], int],
    now_ts: int,
    owners: dict[int, str],
) -> list[tuple[int, list[int]]]:
    """The keeper's round over `pending` (interval -> its filled sells with proceeds held):
    takes out of it, per ended interval (its end `end_ts_of(interval)` [unix s]), the sells
    `release` pays at `now_ts`, drops those with nothing held, and keeps the rest; the due
    sells per interval, oldest first. `owners` is the caller's cache for due_releases, pruned
    to the sells still pending."""
    taken: list[tuple[int, list[int]]] = []
    for interval in sorted(pending):
        end_ts = end_ts_of(interval)
        if now_ts < end_ts:
            break
        due, waiting = due_releases(market, import_cap, pending[interval], end_ts, now_ts, owners)
        if due:
            taken.append((interval, due))
        if waiting:
            pending[interval] = waiting
        else:
            del pending[interval]
    still = {sell_id for sells in pending.values() for sell_id in sells}
    for sell_id in [k for k in owners if k not in still]:
        del owners[sell_id]
    return taken


def release_call(market: Any, sell_ids: list[int]) -> tuple[Any, int]:
    """One `release` call for at most RELEASE_BATCH `sell_ids`, with its gas limit."""
    assert 0 < len(sell_ids) <= RELEASE_BATCH, len(sell_ids)
    return market.functions.release(sell_ids), RELEASE_GAS * len(sell_ids)


def release_batches(sell_ids: list[int]) -> list[list[int]]:
    """`sell_ids` in batches of RELEASE_BATCH, one `release` transaction each."""
    return [sell_ids[k : k + RELEASE_BATCH] for k in range(0, len(sell_ids), RELEASE_BATCH)]
