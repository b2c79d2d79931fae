"""A real node process: web3.py over HTTP, and no acknowledged transaction lost to SIGKILL."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from eth_account import Account
from web3 import HTTPProvider, Web3
from web3.exceptions import ContractCustomError
from web3.middleware import SignAndSendRawMiddlewareBuilder

from gridledger.contracts.artifacts import load_artifact
from gridledger.node.ledger.reverts import decode_revert
from tests.node.nodeproc import NodeProcess, start_node, write_config

USER = Account.from_key(b"\x03" * 32)


@pytest.fixture
def node(tmp_path: Path) -> Iterator[NodeProcess]:
    config = write_config(tmp_path / "node.toml", {USER.address: 10**24})
    proc = start_node(tmp_path / "data", config)
    yield proc
    proc.stop()


def _w3(node: NodeProcess) -> Web3:
    w3 = Web3(HTTPProvider(f"{node.url}/rpc", request_kwargs={"timeout": 30}))
    w3.middleware_onion.inject(SignAndSendRawMiddlewareBuilder.build(USER), layer=0)
    return w3


def test_web3_deploys_transacts_calls_and_filters_logs(node: NodeProcess) -> None:
    w3 = _w3(node)
    assert w3.eth.chain_id == 31_337
    artifact = load_artifact("Registry")
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    receipt = w3.eth.wait_for_transaction_receipt(
        factory.constructor(USER.address).transact({"from": USER.address}), timeout=30
    )
    registry = w3.eth.contract(address=receipt["contractAddress"], abi=artifact.abi)
    role = b"\x44" * 32
    tx = registry.functions.grantRole(role, USER.address).transact({"from": USER.address})
    granted = w3.eth.wait_for_transaction_receipt(tx, timeout=30)
    assert granted["status"] == 1
    assert registry.functions.hasRole(role, USER.address).call()
    events = registry.events.RoleGranted().get_logs(from_block=0, argument_filters={"role": role})
    assert [e["transactionHash"] for e in events] == [tx]
    other = registry.events.RoleGranted().get_logs(
        from_block=0, argument_filters={"role": b"\x55" * 32}
    )
    assert other == []
    # A custom error reaches web3 with its data, decodable by name and arguments.
    with pytest.raises(ContractCustomError) as caught:
        registry.functions.setRegulation("0x" + "00" * 20).call({"from": USER.address})
    assert decode_revert(caught.value.data).name == "RegistryZeroAddress"
    # The node's own deployment is listed.
    addresses = requests.get(f"{node.url}/v1/contracts/addresses", timeout=5).json()
    assert set(addresses) >= {"ImportCap", "Market", "Metering", "Trust", "Registry"}
    assert w3.eth.get_code(addresses["ImportCap"]) != b""


def test_sigkill_never_loses_an_acknowledged_transaction(tmp_path: Path) -> None:
    config = write_config(tmp_path / "node.toml", {USER.address: 10**24}, block_period_s=0.2)
    node = start_node(tmp_path / "data", config)
    rng = random.Random(7)
    acknowledged: list[bytes] = []
    nonce = 0
    try:
        for _round in range(3):
            w3 = Web3(HTTPProvider(f"{node.url}/rpc", request_kwargs={"timeout": 10}))
            deadline = time.monotonic() + rng.uniform(0.3, 1.5)
            while time.monotonic() < deadline:
                signed = USER.sign_transaction(
                    {
                        "to": "0x" + "77" * 20,
                        "value": 1,
                        "gas": 21_000,
                        "nonce": nonce,
                        "maxFeePerGas": 10**10,
                        "maxPriorityFeePerGas": 10**9,
                        "chainId": 31_337,
                        "type": 2,
                    }
                )
                acknowledged.append(bytes(w3.eth.send_raw_transaction(signed.raw_transaction)))
                nonce += 1
            node.kill()  # SIGKILL, at a random moment of block production
            node = start_node(node.data_dir, config, port=node.port)
        w3 = Web3(HTTPProvider(f"{node.url}/rpc", request_kwargs={"timeout": 10}))
        for tx_hash in acknowledged:
            assert w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)["status"] == 1
        assert w3.eth.get_balance("0x" + "77" * 20) == len(acknowledged)
        assert w3.eth.get_transaction_count(USER.address) == nonce
    finally:
        node.stop()


def test_oversize_and_malformed_http_bodies_are_refused(node: NodeProcess) -> None:
    big = b"[" + b"1," * (5 * 1024 * 1024) + b"1]"  # over the 8 MiB limit
    reply = requests.post(f"{node.url}/rpc", data=big, timeout=30)
    assert reply.status_code == 413
    assert reply.json()["error"]["code"] == -32600
    reply = requests.post(f"{node.url}/rpc", data=b"{not json", timeout=5)
    assert reply.status_code == 200 and reply.json()["error"]["code"] == -32700
    # The node still serves.
    assert requests.get(f"{node.url}/healthz", timeout=5).json()["status"] == "ok"
