"""The embedded chain persists: reopened, it has every block, receipt, log and pooled tx."""

from __future__ import annotations

from pathlib import Path

from eth_account import Account
from web3 import Web3
from web3.middleware import SignAndSendRawMiddlewareBuilder

from contracts.artifacts import load_artifact
from node.ledger.embedded.chain import EmbeddedChain
from node.ledger.embedded.genesis import GenesisConfig
from node.ledger.embedded.provider import EmbeddedProvider
from node.ledger.embedded.rpc import JsonRpc

ADMIN = Account.from_key(b"\x02" * 32)
GENESIS = GenesisConfig(prefund={ADMIN.address: 10**24})


def _w3(chain: EmbeddedChain) -> Web3:
    w3 = Web3(EmbeddedProvider(JsonRpc(chain)))
    w3.middleware_onion.inject(SignAndSendRawMiddlewareBuilder.build(ADMIN), layer=0)
    return w3


def test_reopened_chain_has_blocks_receipts_logs_and_pool(tmp_path: Path) -> None:
    chain = EmbeddedChain(tmp_path, GENESIS)
    w3 = _w3(chain)
    artifact = load_artifact("Registry")
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    deploy_hash = factory.constructor(ADMIN.address).transact({"from": ADMIN.address})
    chain.produce_block()
    receipt = w3.eth.get_transaction_receipt(deploy_hash)
    registry = w3.eth.contract(address=receipt["contractAddress"], abi=artifact.abi)
    grant = registry.functions.grantRole(b"\x11" * 32, ADMIN.address).transact(
        {"from": ADMIN.address}
    )
    chain.produce_block()
    pooled = registry.functions.grantRole(b"\x22" * 32, ADMIN.address).transact(
        {"from": ADMIN.address}
    )  # acknowledged, not mined
    logs = w3.eth.get_logs({"fromBlock": 0, "address": registry.address})
    head = w3.eth.get_block("latest")
    chain.close()

    reopened = EmbeddedChain(tmp_path, GENESIS)
    w3b = _w3(reopened)
    assert w3b.eth.get_block("latest") == head
    assert w3b.eth.get_transaction_receipt(grant)["status"] == 1
    assert w3b.eth.get_logs({"fromBlock": 0, "address": registry.address}) == logs
    assert bytes(pooled) in reopened.pool
    reopened.produce_block()
    assert w3b.eth.get_transaction_receipt(pooled)["status"] == 1
    assert registry.address == w3b.eth.get_transaction_receipt(deploy_hash)["contractAddress"]


def test_another_genesis_is_refused(tmp_path: Path) -> None:
    EmbeddedChain(tmp_path, GENESIS).close()
    try:
        EmbeddedChain(tmp_path, GenesisConfig(chain_id=5, prefund=GENESIS.prefund))
    except Exception as exc:
        assert "holds a chain with genesis" in str(exc)
    else:
        raise AssertionError("a chain with another genesis was opened")


def test_rewind_drops_blocks_logs_and_lookups(tmp_path: Path) -> None:
    chain = EmbeddedChain(tmp_path, GENESIS)
    w3 = _w3(chain)
    artifact = load_artifact("Registry")
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    deploy_hash = factory.constructor(ADMIN.address).transact({"from": ADMIN.address})
    chain.produce_block()
    address = w3.eth.get_transaction_receipt(deploy_hash)["contractAddress"]
    registry = w3.eth.contract(address=address, abi=artifact.abi)
    tx = registry.functions.grantRole(b"\x11" * 32, ADMIN.address).transact({"from": ADMIN.address})
    chain.produce_block()
    assert registry.functions.hasRole(b"\x11" * 32, ADMIN.address).call()
    dropped = chain.rewind_to(1)
    assert [t.hash for t in dropped] == [bytes(tx)]
    assert w3.eth.block_number == 1
    assert not registry.functions.hasRole(b"\x11" * 32, ADMIN.address).call()
    assert w3.eth.get_logs({"fromBlock": 0, "address": address, "topics": [None]}) != []
    assert chain.transaction_location(bytes(tx)) is None
    # The chain grows again from the rewound head, and survives a reopen.
    chain.produce_block(empty_ok=True)
    chain.close()
    reopened = EmbeddedChain(tmp_path, GENESIS)
    assert reopened.head_header().block_number == 2
    assert reopened.transaction_location(bytes(tx)) is None
