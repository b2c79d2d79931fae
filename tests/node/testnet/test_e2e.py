"""End to end with real processes: a bid posted to node 2 by REST appears on every node,
clears in its interval (the operator's witness), settles, and shows in
GET /v1/market/intervals/{n} on node 3. The testnet runs on a simulation clock that a
background thread moves a minute at a time, so a 15-minute interval passes in seconds."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from eth_account import Account

from gridledger.node import testnet
from gridledger.node.agents.chain_clock import ChainClock
from gridledger.node.agents.ledger_client import LedgerClient
from gridledger.node.agents.market_clock import MarketClock
from gridledger.node.ledger.deploy import Deployment
from gridledger.node.operator.agent import Member, OperatorAgent
from tests.node.testnet.harness import LocalTestnet, wait_for

TICK_S = 60


@pytest.fixture
def net(tmp_path: Path) -> Iterator[LocalTestnet]:
    net = LocalTestnet(tmp_path / "e2e", 3, clock="sim").up()
    yield net
    net.down()


@pytest.fixture
def running(net: LocalTestnet) -> Iterator[threading.Event]:
    """Moves the simulation clock a minute every 0.2 s while the event is set, and a second
    (still a block) while the test holds it clear: orders must reach their interval before its
    gate closes, however slow a loaded machine is."""
    clock = ChainClock(net.data_dir, net.entries)
    clock.now_ts = int(net.w3("node1").eth.get_block("latest")["timestamp"])
    stop, running = threading.Event(), threading.Event()
    running.set()

    def tick() -> None:
        while not stop.wait(0.2):
            step_s = TICK_S if running.is_set() else 1
            clock.advance(clock.now_ts + step_s, settle_timeout_s=5)

    ticker = threading.Thread(target=tick, daemon=True)
    ticker.start()
    yield running
    stop.set()
    ticker.join(timeout=10)


def post_order(net: LocalTestnet, node: str, body: dict[str, object]) -> dict[str, object]:
    reply = net.post(node, "/v1/orders", body, timeout_s=60)
    assert reply.status_code == 201, reply.text
    result: dict[str, object] = reply.json()
    return result


def test_a_rest_bid_on_node2_clears_settles_and_shows_on_node3(
    net: LocalTestnet, running: threading.Event
) -> None:
    deployment = Deployment(testnet.status(net.data_dir)["contracts"])
    operator = OperatorAgent(
        LedgerClient(f"{net.entry('node1').url}/rpc", net.account("node1", "operator"), deployment)
    )
    buyer, seller = net.account("node2", "prosumer"), net.account("node3", "prosumer")
    meters = [Account.create().address for _ in range(2)]
    operator.admit_and_fund(
        [
            Member("MG-buyer", buyer.address, meters[0]),
            Member("MG-seller", seller.address, meters[1]),
        ]
    )
    for name, participant in (("node2", buyer.address), ("node3", seller.address)):
        # Mined on node 1 is not yet seen by the others: each prosumer's own node must have
        # the admission and the funds before it bids (its REST API checks on its replica).
        registry = deployment.contract(net.w3(name), "Registry")
        token = deployment.contract(net.w3(name), "GridToken")
        wait_for(
            f"{name} to see its prosumer admitted and funded",
            lambda r=registry, t=token, a=participant: (
                bool(r.functions.isActive(a).call()) and t.functions.balanceOf(a).call() > 0
            ),
            30,
        )
    market = MarketClock.of(deployment.contract(net.w3("node1"), "Market"))
    running.clear()
    now_ts = int(net.w3("node1").eth.get_block("latest")["timestamp"])
    interval = market.next_open(now_ts + 4 * TICK_S)
    sell = post_order(
        net,
        "node3",
        {
            "side": "sell",
            "quantity_wh": 1_000,
            "limit_price_per_kwh": 100_000,
            "interval": interval,
        },
    )
    buy = post_order(
        net,
        "node2",
        {"side": "buy", "quantity_wh": 800, "limit_price_per_kwh": 250_000, "interval": interval},
    )
    order_id = buy["order_id"]
    for name in ("node1", "node2", "node3"):  # the bid is on every replica
        wait_for(
            f"order {order_id} on {name}",
            lambda n=name: requests.get(f"{net.entry(n).url}/v1/orders/{order_id}", timeout=5).ok,
            30,
        )
        order = requests.get(f"{net.entry(name).url}/v1/orders/{order_id}", timeout=5).json()
        assert order["owner"] == buyer.address and order["quantity_wh"] == 800
    running.set()
    gate_ts = market.gate_closure_ts(interval)
    wait_for(
        "the gate to close on chain",
        lambda: int(net.w3("node1").eth.get_block("latest")["timestamp"]) >= gate_ts,
        60,
    )
    assert operator.clear(interval)
    operator.client.wait(operator.client.sent[-2:], timeout_s=60)
    url = f"{net.entry('node3').url}/v1/market/intervals/{interval}"
    wait_for(
        "node3 to see the interval settled",
        lambda: requests.get(url, timeout=5).json()["settlement"]["complete"],
        60,
    )
    view = requests.get(url, timeout=5).json()
    assert view["volume_wh"] == 800
    assert 100_000 <= view["price_per_kwh"] <= 250_000
    assert {o["order_id"] for o in view["orders"]} == {sell["order_id"], order_id}
    assert view["trades"], view
    settlement = view["settlement"]
    assert settlement["order_count"] == settlement["settled_count"] == 2, settlement
    assert settlement["complete"] is True
