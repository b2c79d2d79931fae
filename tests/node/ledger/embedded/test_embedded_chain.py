"""The embedded chain persists: reopened, it has every block, receipt, log and pooled tx;
it mines past a pooled transaction that no longer applies."""

from __future__ import annotations

from pathlib import Path

import pytest
from eth_account import Account
from eth_keys.datatypes import PrivateKey
from web3 import Web3
from web3.middleware import SignAndSendRawMiddlewareBuilder

from gridledger.contracts.artifacts import load_artifact
from gridledger.node.ledger.embedded.aura import NO_AUTHORITY_SET, Aura
from gridledger.node.ledger.embedded.chain import EmbeddedChain, TransactionRejectedError
from gridledger.node.ledger.embedded.genesis import GenesisConfig
from gridledger.node.ledger.embedded.provider import EmbeddedProvider
from gridledger.node.ledger.embedded.rpc import JsonRpc
from tests.node.txs import signed_transfer

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


@pytest.mark.parametrize("sealed", [False, True], ids=["unsealed", "sealed"])
def test_a_pooled_transaction_that_cannot_pay_when_mined_is_dropped(
    tmp_path: Path, sealed: bool
) -> None:
    # The pool does not reserve a sender's funds: both transfers are admitted, the first one
    # leaves too little for the second, which must leave the pool rather than block it.
    fee_wei = 21_000 * 10**10
    poor = Account.from_key(b"\x0b" * 32)
    key = PrivateKey(b"\x40" * 32)
    genesis = GenesisConfig(prefund={ADMIN.address: 10**24, poor.address: 2 * fee_wei + 10})
    aura = Aura(
        (key.public_key.to_canonical_address(),),
        1,
        genesis.timestamp_ts,
        genesis.chain_id,
        NO_AUTHORITY_SET,
    )
    chain = EmbeddedChain(tmp_path, genesis)
    paying = chain.submit_raw(signed_transfer(poor, 0, value=fee_wei))
    unpaid = chain.submit_raw(signed_transfer(poor, 1, value=fee_wei))
    mined = chain.produce_sealed_block(aura, 1, key) if sealed else chain.produce_block()
    assert mined is not None
    assert [tx.hash for tx in mined.block.transactions] == [paying]
    assert chain.pool == {}
    assert chain.transaction_location(unpaid) is None
    assert chain.pending_nonce(bytes.fromhex(poor.address[2:])) == 1
    chain.submit_raw(signed_transfer(ADMIN, 0))  # the chain goes on
    again = chain.produce_sealed_block(aura, 2, key) if sealed else chain.produce_block()
    assert again is not None and len(again.block.transactions) == 1


def test_a_build_budget_leaves_the_rest_in_the_pool_in_nonce_order(tmp_path: Path) -> None:
    """With no budget left a sealed block is empty and the pool unchanged (the budget binds
    the first transaction too: tests/node/test_budget.py); without a budget all fit at once,
    in nonce order."""
    key = PrivateKey(b"\x41" * 32)
    aura = Aura(
        (key.public_key.to_canonical_address(),),
        1,
        GENESIS.timestamp_ts,
        GENESIS.chain_id,
        NO_AUTHORITY_SET,
    )
    chain = EmbeddedChain(tmp_path, GENESIS)
    sent = [chain.submit_raw(signed_transfer(ADMIN, nonce)) for nonce in range(5)]
    first = chain.produce_sealed_block(aura, 1, key, build_budget_s=0.0)
    assert list(first.block.transactions) == []
    assert list(chain.pool) == sent
    rest = chain.produce_sealed_block(aura, 2, key)
    assert [tx.hash for tx in rest.block.transactions] == sent
    assert chain.pool == {}


def test_nonces_ahead_are_queued_until_the_gap_fills(tmp_path: Path) -> None:
    """Nonces 2 and 1 wait (no block is made for them, the pending nonce stays 0); nonce 0
    makes all three ready, mined in nonce order. The queued ones are on disk: a reopened
    chain still holds them. A nonce already pooled, too low or too far ahead is refused."""
    chain = EmbeddedChain(tmp_path, GENESIS)
    admin = bytes.fromhex(ADMIN.address[2:])
    later = [chain.submit_raw(signed_transfer(ADMIN, nonce)) for nonce in (2, 1)]
    assert chain.pending_nonce(admin) == 0
    assert not chain.has_ready_transactions()
    assert chain.produce_block() is None
    with pytest.raises(TransactionRejectedError, match=r"nonce 2 of \w+ is already pooled"):
        chain.submit_raw(signed_transfer(ADMIN, 2, value=5))
    with pytest.raises(TransactionRejectedError, match="nonce too high: got 64, expected 0"):
        chain.submit_raw(signed_transfer(ADMIN, 64))
    chain.close()
    chain = EmbeddedChain(tmp_path, GENESIS)
    assert set(chain.pool) == set(later) and chain.pending_nonce(admin) == 0
    first = chain.submit_raw(signed_transfer(ADMIN, 0))
    assert chain.pending_nonce(admin) == 3 and chain.has_ready_transactions()
    mined = chain.produce_block()
    assert mined is not None
    assert [tx.nonce for tx in mined.block.transactions] == [0, 1, 2]
    assert [tx.hash for tx in mined.block.transactions] == [first, later[1], later[0]]
    assert chain.pool == {} and chain.pending_nonce(admin) == 3
    with pytest.raises(TransactionRejectedError, match="nonce too low: got 1, expected 3"):
        chain.submit_raw(signed_transfer(ADMIN, 1, value=9))


def test_a_queued_transaction_behind_a_dropped_one_waits_for_its_gap(tmp_path: Path) -> None:
    """The pool does not reserve funds: nonce 1 cannot pay once nonce 0 is mined and is
    dropped; nonce 2 behind it is kept, queued, and mined once a new nonce 1 fills the gap."""
    fee_wei = 21_000 * 10**10  # gas x max fee of signed_transfer
    poor = Account.from_key(b"\x0c" * 32)
    genesis = GenesisConfig(prefund={ADMIN.address: 10**24, poor.address: 3 * fee_wei + 10})
    chain = EmbeddedChain(tmp_path, genesis)
    sender = bytes.fromhex(poor.address[2:])
    chain.submit_raw(signed_transfer(poor, 0, value=3 * fee_wei // 2))
    unpaid = chain.submit_raw(signed_transfer(poor, 1, value=3 * fee_wei // 2))
    kept = chain.submit_raw(signed_transfer(poor, 2))
    mined = chain.produce_block()
    assert mined is not None and [tx.nonce for tx in mined.block.transactions] == [0]
    assert list(chain.pool) == [kept] and unpaid not in chain.pool
    assert chain.pending_nonce(sender) == 1 and not chain.has_ready_transactions()
    assert chain.produce_block() is None
    refill = chain.submit_raw(signed_transfer(poor, 1))
    mined = chain.produce_block()
    assert mined is not None
    assert [tx.hash for tx in mined.block.transactions] == [refill, kept]
    assert chain.pool == {} and chain.pending_nonce(sender) == 3
