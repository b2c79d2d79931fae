"""Finality by authority votes with real processes (docs/testnet.md, "Finality"): a withholding
authority does not stop it; two of four down stop it and one coming back resumes it; an
equivocating authority (two votes at one height, or two blocks sealed at one step) is caught by
every honest node, reported to AuthoritySet and removed, and finality goes on with the three
others; a 2-2 partition finalizes nowhere and finality resumes after healing; no conflicting
final blocks anywhere.

The faulty node is made so by the test-only GRIDLEDGER_TEST_FAULT switch
(node.consensus.replica.TEST_FAULT_ENV), inherited by the node processes.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from eth_utils.crypto import keccak
from web3 import Web3

from gridledger.node import testnet
from gridledger.node.consensus.replica import TEST_FAULT_ENV
from gridledger.node.ledger.embedded.genesis_file import load_genesis_file
from gridledger.node.ledger.votes import Justification, verify_justification
from tests.node.testnet.harness import LocalTestnet, wait_for

NAMES = ("node1", "node2", "node3", "node4")


def final(net: LocalTestnet, name: str) -> int:
    return int(net.health(name).get("finalized") or 0)


def justification(net: LocalTestnet, name: str, number: int) -> dict[str, Any]:
    reply = requests.get(f"{net.entry(name).url}/v1/finality/justifications/{number}", timeout=10)
    reply.raise_for_status()
    body: dict[str, Any] = reply.json()
    return body


def verified_voters(body: dict[str, Any]) -> frozenset[bytes]:
    """The light client's check of a served justification, from its authority set alone."""
    return verify_justification(
        Justification.decode(bytes.fromhex(body["rlp"][2:])),
        [bytes.fromhex(a[2:]) for a in body["authorities"]],
        int(body["chainId"]),
        bytes.fromhex(body["authoritySet"][2:]),
    )


def final_hashes(net: LocalTestnet, names: tuple[str, ...]) -> dict[str, dict[int, str]]:
    """Each node's hash of every block up to its final block."""
    out: dict[str, dict[int, str]] = {}
    for name in names:
        w3 = net.w3(name)
        top = final(net, name)
        out[name] = {n: w3.eth.get_block(n)["hash"].hex() for n in range(1, top + 1)}
    return out


def assert_no_conflicting_finals(net: LocalTestnet, names: tuple[str, ...]) -> None:
    seen: dict[int, str] = {}
    for name, hashes in final_hashes(net, names).items():
        for number, block_hash in hashes.items():
            assert seen.setdefault(number, block_hash) == block_hash, (name, number)


def start_one(net: LocalTestnet, name: str) -> None:
    """Start only node `name` (testnet up would start every missing node)."""
    testnet._spawn(net.data_dir, net.entry(name))
    wait_for(f"{name} serving", lambda: net.health(name).get("status") == "ok", 60)


def four_nodes(factory: pytest.TempPathFactory, fault: str | None) -> Iterator[LocalTestnet]:
    """A 4-node testnet whose node4 has `fault` (TEST_FAULT_ENV; None: no fault), down after."""
    if fault is not None:
        os.environ[TEST_FAULT_ENV] = f"node4:{fault}"
    try:
        net = LocalTestnet(factory.mktemp(fault or "clean") / "tn", 4).up()
    finally:
        os.environ.pop(TEST_FAULT_ENV, None)
    try:
        yield net
    finally:
        net.down()


@pytest.fixture(scope="module")
def withholding(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalTestnet]:
    yield from four_nodes(tmp_path_factory, "withhold")


@pytest.fixture(scope="module")
def equivocating(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalTestnet]:
    yield from four_nodes(tmp_path_factory, "equivocate")


@pytest.fixture(scope="module")
def sealing_twice(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalTestnet]:
    yield from four_nodes(tmp_path_factory, "seal-twice")


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalTestnet]:
    yield from four_nodes(tmp_path_factory, None)


def test_a_withholding_authority_does_not_stop_finality(withholding: LocalTestnet) -> None:
    net = withholding
    wait_for("finality", lambda: final(net, "node1") >= 3, 30)
    start = final(net, "node1")
    wait_for("finality to go on", lambda: final(net, "node1") >= start + 5, 20)
    body = justification(net, "node2", final(net, "node2"))
    voters = verified_voters(body)
    withholder = bytes.fromhex(net.health("node4")["authority"][2:])
    assert len(voters) == 3 and withholder not in voters
    assert net.health("node4").get("last_vote") is None  # it never voted
    assert final(net, "node4") >= start  # it still follows finality
    assert "TEST FAULT: node node4 will withhold" in net.log("node4")


def test_two_of_four_down_stop_finality_and_one_back_resumes_it(clean: LocalTestnet) -> None:
    net = clean
    wait_for("finality", lambda: final(net, "node1") >= 3, 30)
    for name in ("node2", "node3"):
        pid = net.pid(name)
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
    time.sleep(2.0)  # votes in flight land
    stalled = final(net, "node1")
    head = int(net.health("node1")["head"])
    wait_for("blocks on top", lambda: int(net.health("node1")["head"]) >= head + 3, 20)
    assert final(net, "node1") == stalled  # node1 and node4 alone: 2 votes of 4
    start_one(net, "node3")
    wait_for("finality to resume", lambda: final(net, "node1") >= stalled + 3, 60)
    wait_for("node3 to finalize", lambda: final(net, "node3") >= stalled + 3, 60)
    net.up()  # node2 back too
    assert_no_conflicting_finals(net, ("node1", "node3", "node4"))


def test_an_equivocating_authority_is_caught_everywhere_and_removed(
    equivocating: LocalTestnet,
) -> None:
    net = equivocating
    liar = net.health("node4")["authority"].lower()
    honest = ("node1", "node2", "node3")
    for name in honest:
        wait_for(
            f"{name} to hold evidence",
            lambda n=name: liar in (net.health(n).get("equivocations") or []),
            30,
        )
        assert f"equivocation by authority {liar}" in net.log(name)
        wait_for(  # the evidence transaction follows its detection
            f"{name} to submit the evidence",
            lambda n=name: f"submitted evidence against authority {liar}" in net.log(n),
            30,
        )
        evidence = requests.get(f"{net.entry(name).url}/v1/finality", timeout=10).json()
        first = evidence["equivocations"][0]
        assert first["authority"] == liar and len(set(first["hashes"])) == 2

    def removed() -> bool:
        body = justification(net, "node1", final(net, "node1"))
        return liar not in [a.lower() for a in body["authorities"]]

    wait_for("AuthoritySet to remove the equivocator", removed, 30)
    start = final(net, "node2")
    wait_for("finality to go on with 3 of 3", lambda: final(net, "node2") >= start + 3, 30)
    body = justification(net, "node2", final(net, "node2"))
    assert len(verified_voters(body)) == 3 and len(body["authorities"]) == 3
    assert_no_conflicting_finals(net, NAMES)


SEAL_EVIDENCE_EVENT = keccak(
    text="AuthoritySealEquivocationReported(address,uint64,bytes32,bytes32,uint64,address)"
)
VOTE_EVIDENCE_EVENT = keccak(
    text="AuthorityEquivocationReported(address,uint8,uint64,bytes32,bytes32,uint64,address)"
)


def authority_set_logs(net: LocalTestnet, topic: bytes) -> list[Any]:
    """node1's logs of AuthoritySet with event `topic`, from genesis to its head."""
    _, contracts = load_genesis_file(net.data_dir / "genesis.json")
    return list(
        net.w3("node1").eth.get_logs(
            {
                "fromBlock": 0,
                "toBlock": "latest",
                "address": Web3.to_checksum_address(contracts["AuthoritySet"]),
                "topics": ["0x" + topic.hex()],
            }
        )
    )


def test_an_authority_sealing_two_blocks_in_one_step_is_removed_by_the_seal_evidence(
    sealing_twice: LocalTestnet,
) -> None:
    net = sealing_twice
    liar = net.health("node4")["authority"].lower()
    assert "TEST FAULT: node node4 will seal-twice" in net.log("node4")
    honest = ("node1", "node2", "node3")
    for name in honest:
        wait_for(
            f"{name} to catch the two seals",
            lambda n=name: liar in (net.health(n).get("seal_equivocations") or []),
            30,
        )
        assert f"equivocation by authority {liar}: two seals at step " in net.log(name)
        wait_for(  # the evidence transaction follows its detection
            f"{name} to submit the seal evidence",
            lambda n=name: (
                f"submitted evidence against authority {liar} to AuthoritySet (two seals at step "
                in net.log(n)
            ),
            30,
        )
        body = requests.get(f"{net.entry(name).url}/v1/finality", timeout=10).json()
        first = body["seal_equivocations"][0]
        assert first["authority"] == liar
        assert len(set(first["bare_hashes"])) == 2 and len(set(first["blocks"])) == 2
        assert body["equivocations"] == []  # its votes are honest: the seals alone are evidence

    # On chain: one report removed it (the others reverted), none of votes.
    wait_for("the seal evidence on chain", lambda: authority_set_logs(net, SEAL_EVIDENCE_EVENT), 30)
    (report,) = authority_set_logs(net, SEAL_EVIDENCE_EVENT)
    assert "0x" + bytes(report["topics"][1])[-20:].hex() == liar
    data = bytes(report["data"])
    step, effective = (int.from_bytes(data[i * 32 : (i + 1) * 32], "big") for i in (0, 3))
    assert effective == report["blockNumber"] + 1
    assert f"two seals at step {step} " in net.log("node1")
    assert authority_set_logs(net, VOTE_EVIDENCE_EVENT) == []

    def removed() -> bool:
        body = justification(net, "node1", final(net, "node1"))
        return final(net, "node1") >= effective and liar not in [
            a.lower() for a in body["authorities"]
        ]

    wait_for("finality past the removal", removed, 30)
    start = final(net, "node2")
    wait_for("finality to go on with 3 of 3", lambda: final(net, "node2") >= start + 3, 30)
    body = justification(net, "node2", final(net, "node2"))
    assert len(verified_voters(body)) == 3 and len(body["authorities"]) == 3
    assert_no_conflicting_finals(net, NAMES)


def test_a_two_two_partition_finalizes_nowhere_and_resumes_after_healing(
    clean: LocalTestnet,
) -> None:
    net = clean
    wait_for("all nodes up and finalizing", lambda: min(final(net, n) for n in NAMES) >= 3, 60)
    net.admin("node1", "/v1/admin/links", {"drop": ["node3", "node4"]})
    net.admin("node2", "/v1/admin/links", {"drop": ["node3", "node4"]})
    net.admin("node3", "/v1/admin/links", {"drop": ["node1", "node2"]})
    net.admin("node4", "/v1/admin/links", {"drop": ["node1", "node2"]})
    time.sleep(3.0)  # votes cast before the cut land; peers time out
    during = {n: final(net, n) for n in NAMES}
    time.sleep(5.0)  # each side seals its own branch, two authorities each
    assert {n: final(net, n) for n in NAMES} == during  # no side holds more than 2/3
    for name in NAMES:
        net.admin(name, "/v1/admin/links", {"restore": True})
    top = max(during.values())
    wait_for("finality to resume", lambda: min(final(net, n) for n in NAMES) >= top + 3, 60)
    assert_no_conflicting_finals(net, NAMES)
