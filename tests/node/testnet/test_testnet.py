"""The testnet with real processes: agreement, restart, SIGKILLed minorities, a partition."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from gridledger.node import testnet
from gridledger.node.keys.api_key import load_or_create_api_key
from tests.node.nodeproc import start_node, write_config
from tests.node.testnet.harness import LocalTestnet, transfer, wait_for


@pytest.fixture
def net3(tmp_path: Path) -> Iterator[LocalTestnet]:
    net = LocalTestnet(tmp_path / "tn", 3).up()
    yield net
    net.down()


@pytest.fixture
def net4(tmp_path: Path) -> Iterator[LocalTestnet]:
    net = LocalTestnet(tmp_path / "tn", 4).up()
    yield net
    net.down()


def names(net: LocalTestnet) -> list[str]:
    return [e.name for e in net.entries]


def block_at(net: LocalTestnet, name: str, number: int) -> bytes | None:
    try:
        return bytes(net.w3(name).eth.get_block(number)["hash"])
    except Exception:
        return None


def converged(net: LocalTestnet, at_least: int) -> bool:
    """Every node's finalized height is >= `at_least` and they agree on that block."""
    finals = [net.health(n).get("finalized") or 0 for n in names(net)]
    if min(finals) < at_least:
        return False
    return len({block_at(net, n, at_least) for n in names(net)}) == 1


def test_a_transaction_sent_to_any_node_lands_identically_everywhere(net3: LocalTestnet) -> None:
    sender = net3.account("node2")
    tx_hash = transfer(net3, "node2", sender, nonce=0)
    receipts = [
        net3.w3(n).eth.wait_for_transaction_receipt(tx_hash, timeout=30) for n in names(net3)
    ]
    assert len({(r["blockHash"], r["status"], r["gasUsed"]) for r in receipts}) == 1
    number = receipts[0]["blockNumber"]
    roots = {bytes(net3.w3(n).eth.get_block(number)["stateRoot"]) for n in names(net3)}
    assert len(roots) == 1
    wait_for("the block to be final", lambda: converged(net3, number), 30)
    assert net3.w3("node3").eth.get_block("finalized")["number"] >= number
    # The CLI's status reads the same.
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "gridledger.node.cli",
            "testnet",
            "status",
            "--json",
            "--data-dir",
            str(net3.data_dir),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    doc = json.loads(out.stdout)
    assert [n["name"] for n in doc["nodes"]] == ["node1", "node2", "node3"]
    assert all(n["pid"] and n["state"] == "ok" for n in doc["nodes"])
    assert doc["nodes"][0]["role"] == "operator" and doc["nodes"][1]["role"] == "prosumer"
    assert set(doc["contracts"]) >= {"Registry", "Metering", "ImportCap", "Market"}
    assert all(len(n["peers"]) == 2 for n in doc["nodes"])


def test_down_keeps_the_chain_and_up_resumes_it_restarting_only_missing_nodes(
    net3: LocalTestnet,
) -> None:
    wait_for("a few blocks", lambda: (net3.health("node1").get("finalized") or 0) >= 3, 30)
    genesis = block_at(net3, "node1", 0)
    pid = net3.pid("node3")
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    pids = (net3.pid("node1"), net3.pid("node2"))
    net3.up()
    assert (net3.pid("node1"), net3.pid("node2")) == pids  # only node3 was restarted
    assert any("node1 already running" in line for line in net3.lines)
    head = net3.health("node2").get("head") or 0
    net3.down()
    assert all(net3.pid(n) is None for n in names(net3))
    net3.up()
    assert block_at(net3, "node2", 0) == genesis
    assert (net3.health("node2").get("head") or 0) >= head


def test_killing_a_minority_repeatedly_loses_nothing(net4: LocalTestnet) -> None:
    rng = random.Random(4)
    sender = net4.account("node1")
    acknowledged: list[bytes] = []
    nonce = 0
    for _ in range(3):
        alive = [n for n in names(net4) if net4.pid(n) is not None]
        for _ in range(3):
            # Consecutive nonces to random nodes: a node that has not yet seen the previous
            # one (gossip, or its catch-up after a restart) queues this one until it has.
            via = rng.choice(alive)
            acknowledged.append(transfer(net4, via, sender, nonce))
            nonce += 1
        victim = rng.choice(names(net4))
        time.sleep(rng.uniform(0.0, 1.5))
        pid = net4.pid(victim)
        assert pid is not None, victim
        os.kill(pid, signal.SIGKILL)
        survivor = next(n for n in names(net4) if n != victim)
        before = net4.health(survivor).get("finalized") or 0
        wait_for(
            "the others to keep finalizing",
            lambda s=survivor, b=before: (net4.health(s).get("finalized") or 0) >= b + 2,
            30,
        )
        net4.up()  # restarts the killed node; it catches up from its peers
    target = max(net4.health(n).get("head") or 0 for n in names(net4))
    wait_for("all heads to converge", lambda: converged(net4, target), 60)
    for name in names(net4):
        w3 = net4.w3(name)
        for tx_hash in acknowledged:
            assert w3.eth.get_transaction_receipt(tx_hash)["status"] == 1


def test_a_partitioned_node_stops_finalizing_and_converges_after_healing(
    net4: LocalTestnet,
) -> None:
    wait_for("finality", lambda: (net4.health("node4").get("finalized") or 0) >= 2, 30)
    others = ["node1", "node2", "node3"]
    net4.admin("node4", "/v1/admin/links", {"drop": others})
    isolated_final = net4.health("node4").get("finalized") or 0
    majority_final = net4.health("node1").get("finalized") or 0
    wait_for(
        "the majority to finalize",
        lambda: (net4.health("node1").get("finalized") or 0) >= majority_final + 4,
        30,
    )
    assert (net4.health("node4").get("finalized") or 0) <= isolated_final + 1
    assert net4.health("node4").get("peers") == []
    net4.admin("node4", "/v1/admin/links", {"restore": True})
    target = net4.health("node1").get("finalized") or 0
    wait_for("the isolated node to converge", lambda: converged(net4, target), 60)
    assert (net4.health("node4").get("reorgs") or 0) >= 1
    assert "reorg at block" in net4.log("node4")


def test_status_and_down_name_a_missing_testnet(tmp_path: Path) -> None:
    with pytest.raises(testnet.TestnetError, match="holds no testnet"):
        testnet.status(tmp_path)


def test_a_simulation_clock_testnet_seals_at_the_ticks_it_is_given(tmp_path: Path) -> None:
    net = LocalTestnet(tmp_path / "sim", 3, clock="sim").up()
    try:
        genesis_ts = json.loads((net.data_dir / "genesis.json").read_text())["timestamp_ts"]
        time.sleep(2.0)
        assert {net.health(n).get("head") for n in names(net)} == {0}  # time stands still
        for step in (1, 2, 3):
            for name in names(net):
                reply = net.admin(name, "/v1/admin/clock", {"now_ts": genesis_ts + step})
                assert reply["step"] == step
            wait_for(
                f"step {step} sealed everywhere",
                lambda s=step: {net.health(n).get("head") for n in names(net)} == {s},
                20,
            )
        block = net.w3("node2").eth.get_block(3)
        assert block["timestamp"] == genesis_ts + 3
        # Each authority votes for the block it imported: step 3's block is final at step 3.
        wait_for("block 3 final", lambda: net.health("node1").get("finalized") == 3, 20)
    finally:
        net.down()


def test_admin_endpoints_need_the_key_and_say_what_is_wrong(net3: LocalTestnet) -> None:
    url = net3.entry("node1").url
    key = {"Authorization": "Bearer " + load_or_create_api_key(net3.data_dir / "node1")}
    no_key = requests.post(f"{url}/v1/admin/links", json={"drop": ["node2"]}, timeout=10)
    assert no_key.status_code == 401
    unknown = requests.post(f"{url}/v1/admin/links", json={"drop": ["node9"]}, headers=key)
    assert unknown.status_code == 422 and "node9" in unknown.json()["message"]
    wall = requests.post(f"{url}/v1/admin/clock", json={"now_ts": 1}, headers=key)
    assert wall.status_code == 409 and wall.json()["error"] == "NotASimulationClock"
    assert net3.health("node1").get("dropped_links") == []  # nothing was dropped


def test_admin_endpoints_on_a_lone_node_are_refused(tmp_path: Path) -> None:
    node = start_node(tmp_path / "lone", write_config(tmp_path / "lone.toml", {}))
    try:
        key = {"Authorization": "Bearer " + load_or_create_api_key(tmp_path / "lone")}
        for path, body in (("/v1/admin/clock", {"now_ts": 1}), ("/v1/admin/links", {})):
            reply = requests.post(f"{node.url}{path}", json=body, headers=key, timeout=10)
            assert reply.status_code == 409 and reply.json()["error"] == "NotATestnetNode"
    finally:
        node.stop()
