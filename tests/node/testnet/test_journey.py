"""The journey on a network that runs by itself, with real processes: `testnet up --nodes 4`
(node1 runs the operator service) -> the operator admits and funds every node's prosumer ->
a buy on node 2 and a crossing sell on node 3 through REST -> the interval clears and settles
by itself when its gate closes -> balances change -> GET /v1/market/intervals/{n} answers the
same on every node. The second test kills the operator's node (SIGKILL) in the middle and
restarts it: the interval is still cleared once and every order settled once."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from gridledger.node import testnet
from gridledger.node.ledger.deploy import Deployment
from tests.node.testnet.harness import LocalTestnet, wait_for

INTERVAL_S = 30
GATE_LEAD_S = 18
BUY_WH, BUY_PRICE = 2_000, 210_000
SELL_WH, SELL_PRICE = 1_500, 100_000
NODES = ("node1", "node2", "node3", "node4")


@pytest.fixture
def net(tmp_path: Path) -> Iterator[LocalTestnet]:
    net = LocalTestnet(
        tmp_path / "journey",
        4,
        operator_service=True,
        interval_length_s=INTERVAL_S,
        gate_closure_lead_s=GATE_LEAD_S,
    ).up()
    yield net
    net.down()


def get(net: LocalTestnet, node: str, path: str) -> Any:
    reply = requests.get(f"{net.entry(node).url}{path}", timeout=10)
    reply.raise_for_status()
    return reply.json()


def prosumer(net: LocalTestnet, node: str) -> str:
    address: str = get(net, node, "/v1/node")["accounts"]["prosumer"]
    return address


def admitted_and_funded(net: LocalTestnet, node: str) -> bool:
    """Whether `node`'s own replica sees its prosumer admitted and funded."""
    body = get(net, node, f"/v1/balances/{prosumer(net, node)}")
    return bool(body["active"]) and int(body["token_units"]) > 0


def next_interval(net: LocalTestnet, node: str, margin_s: int = 8) -> int:
    """The first interval whose gate closes at least `margin_s` from the chain's now."""
    market = get(net, node, "/v1/market")
    interval = int(market["open_interval"])
    while (
        market["epoch_start_ts"] + interval * INTERVAL_S - GATE_LEAD_S - market["now_ts"] < margin_s
    ):
        interval += 1
    return interval


def place(net: LocalTestnet) -> int:
    """A buy on node 2 and a crossing sell on node 3, both through REST; their interval."""
    for node in ("node2", "node3"):
        wait_for(
            f"{node}'s prosumer admitted and funded", lambda n=node: admitted_and_funded(net, n), 90
        )
    interval = next_interval(net, "node2")
    buy = {
        "side": "buy",
        "quantity_wh": BUY_WH,
        "limit_price_per_kwh": BUY_PRICE,
        "interval": interval,
    }
    sell = {
        "side": "sell",
        "quantity_wh": SELL_WH,
        "limit_price_per_kwh": SELL_PRICE,
        "interval": interval,
    }
    for node, body in (("node2", buy), ("node3", sell)):
        reply = net.post(node, "/v1/orders", body, timeout_s=60)
        assert reply.status_code == 201, reply.text
    return interval


def settled_everywhere(net: LocalTestnet, interval: int) -> bool:
    try:
        bodies = [get(net, n, f"/v1/market/intervals/{interval}") for n in NODES]
    except requests.RequestException:
        return False
    return all(b["cleared"] and b["settlement"]["complete"] for b in bodies)


def event_count(net: LocalTestnet, event: str, **filters: Any) -> int:
    w3 = net.w3("node2")
    contracts = testnet.status(net.data_dir)["contracts"]
    market = Deployment(contracts).contract(w3, "Market")
    logs = getattr(market.events, event)().get_logs(from_block=0, argument_filters=filters)
    return len(logs)


def check_settled_once(net: LocalTestnet, interval: int) -> dict[str, Any]:
    bodies = [get(net, n, f"/v1/market/intervals/{interval}") for n in NODES]
    assert all(b == bodies[0] for b in bodies), "the nodes disagree on the interval"
    body = bodies[0]
    assert body["cleared"] and not body["voided"]
    assert body["volume_wh"] == SELL_WH
    assert body["price_per_kwh"] == (BUY_PRICE + SELL_PRICE) // 2
    assert [o["side"] for o in body["orders"]] == ["buy", "sell"]
    assert body["settlement"] == {
        "order_count": 2,
        "settled_count": 2,
        "complete": True,
        "dust_units": body["settlement"]["dust_units"],
    }
    assert event_count(net, "IntervalCleared", interval=interval) == 1
    for order in body["orders"]:
        assert event_count(net, "OrderSettled", orderId=order["order_id"]) == 1
    return body


def test_a_rest_buy_and_sell_clear_and_settle_by_themselves_the_same_on_every_node(
    net: LocalTestnet,
) -> None:
    interval = place(net)
    buyer, seller = prosumer(net, "node2"), prosumer(net, "node3")
    wait_for(
        "the interval cleared and settled on every node",
        lambda: settled_everywhere(net, interval),
        120,
    )
    body = check_settled_once(net, interval)
    price = body["price_per_kwh"]
    cost = -(-SELL_WH * price // 1000)
    escrow = -(-BUY_WH * BUY_PRICE // 1000)
    charge = SELL_WH * body["network_charge_per_kwh"] // 1000
    buyer_balance = get(net, "node4", f"/v1/balances/{buyer}")
    seller_balance = get(net, "node4", f"/v1/balances/{seller}")
    assert buyer_balance["claimable_units"] == escrow - cost
    # the seller's net proceeds are held until its delivery is metered (docs/contracts.md,
    # "Held proceeds"): nothing is claimable yet
    assert seller_balance["claimable_units"] == 0
    credits = {o["side"]: o["credited_units"] for o in body["orders"]}
    assert credits == {"buy": escrow - cost, "sell": 0}
    held = {o["side"]: o["held_units"] for o in body["orders"]}
    assert held == {"buy": None, "sell": SELL_WH * price // 1000 - charge}


def test_the_operator_node_killed_mid_way_still_settles_the_interval_once(
    net: LocalTestnet,
) -> None:
    interval = place(net)
    gate_ts = get(net, "node2", f"/v1/market/intervals/{interval}")["gate_closure_ts"]
    # kill the operator's node a second before the gate closes: the restarted service finds
    # the interval gate-closed and clears it from its cursor (or, if it is back only after the
    # delivery started, voids it and refunds: either way once). The in-process tests cover a
    # service stopped between clearing and settlement, and a half-done clearing.
    wait_for(
        "the gate closure", lambda: get(net, "node2", "/v1/market")["now_ts"] >= gate_ts - 1, 90
    )
    pid = net.pid("node1")
    assert pid is not None
    os.kill(pid, signal.SIGKILL)

    wait_for("node1 gone", lambda: net.pid("node1") is None, 20)
    time.sleep(2)
    net.up()  # restarts node1 alone; its operator service resumes from its cursor
    wait_for(
        "the interval cleared and settled on every node",
        lambda: settled_everywhere(net, interval),
        150,
    )
    body = get(net, "node2", f"/v1/market/intervals/{interval}")
    if body["voided"]:  # node1 was back only after the delivery started: voided, refunded once
        assert event_count(net, "IntervalVoided", interval=interval) == 1
        assert all(
            event_count(net, "OrderSettled", orderId=o["order_id"]) == 1 for o in body["orders"]
        )
        assert "voided" in net.log("node1")
    else:
        check_settled_once(net, interval)
