"""The operator service on the simulation clock: a testnet of 3 whose blocks are sealed at
simulation ticks (POST /v1/admin/clock, moved 10 s at a time by a background thread). The
service admits and funds the prosumers as the simulation starts, and clears and settles an
interval when the simulation's time passes its gate, with no one else acting."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from gridledger.node.agents.chain_clock import ChainClock
from tests.node.testnet.harness import LocalTestnet, wait_for

STEP_S = 10  # simulated seconds per tick; a 300 s gate lead is 30 ticks (~6 s)
NODES = ("node1", "node2", "node3")


@pytest.fixture
def net(tmp_path: Path) -> Iterator[LocalTestnet]:
    net = LocalTestnet(tmp_path / "sim", 3, clock="sim", operator_service=True).up()
    yield net
    net.down()


@pytest.fixture
def ticking(net: LocalTestnet) -> Iterator[threading.Event]:
    """Moves the simulation clock STEP_S every 0.2 s while the event is set, 1 s while clear."""
    clock = ChainClock(net.data_dir, net.entries)
    clock.now_ts = int(net.w3("node1").eth.get_block("latest")["timestamp"])
    stop, running = threading.Event(), threading.Event()
    running.set()

    def tick() -> None:
        while not stop.wait(0.2):
            clock.advance(clock.now_ts + (STEP_S if running.is_set() else 1), settle_timeout_s=5)

    ticker = threading.Thread(target=tick, daemon=True)
    ticker.start()
    yield running
    stop.set()
    ticker.join(timeout=10)


def get(net: LocalTestnet, node: str, path: str) -> Any:
    reply = requests.get(f"{net.entry(node).url}{path}", timeout=10)
    reply.raise_for_status()
    return reply.json()


def ready(net: LocalTestnet, node: str) -> bool:
    address = get(net, node, "/v1/node")["accounts"]["prosumer"]
    body = get(net, node, f"/v1/balances/{address}")
    return bool(body["active"]) and int(body["token_units"]) > 0


def test_the_operator_clears_and_settles_on_the_simulation_clock(
    net: LocalTestnet, ticking: threading.Event
) -> None:
    for node in ("node2", "node3"):
        wait_for(f"{node}'s prosumer admitted and funded", lambda n=node: ready(net, n), 90)
    ticking.clear()  # 1 s ticks while the orders go in
    market = get(net, "node2", "/v1/market")
    interval = int(market["open_interval"]) + 1
    orders = (
        ("node2", {"side": "buy", "quantity_wh": 800, "limit_price_per_kwh": 250_000}),
        ("node3", {"side": "sell", "quantity_wh": 1_000, "limit_price_per_kwh": 100_000}),
    )
    for node, body in orders:
        reply = net.post(node, "/v1/orders", {**body, "interval": interval}, timeout_s=60)
        assert reply.status_code == 201, reply.text
    ticking.set()

    def settled() -> bool:
        bodies = [get(net, n, f"/v1/market/intervals/{interval}") for n in NODES]
        return all(b["settlement"]["complete"] for b in bodies)

    wait_for("the interval settled on every node", settled, 180)
    bodies = [get(net, n, f"/v1/market/intervals/{interval}") for n in NODES]
    assert all(b == bodies[0] for b in bodies)
    assert bodies[0]["cleared"] and not bodies[0]["voided"]
    assert bodies[0]["volume_wh"] == 800
    assert f"interval {interval} cleared: 2 orders, 800 Wh" in net.log("node1")
