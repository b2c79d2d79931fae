"""Execution limits: eth_call/eth_estimateGas are capped in gas and time and run outside the
chain's lock, a batch shares one budget, a block's build aborts a transaction running past
its budget (the first one leaves the pool), and a replica refuses a block it cannot
re-execute within its budget. The heavy payload is a call into BLAKE2F (0x09): 1 gas a
round, ~20 us a round in Python."""

from __future__ import annotations

import json
import logging
import os
import random
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from eth._utils.blake2.compression import blake2b_compress as stock_compress
from eth_account import Account
from eth_keys.datatypes import PrivateKey

from gridledger.node.ledger.embedded import budget
from gridledger.node.ledger.embedded.aura import NO_AUTHORITY_SET, Aura
from gridledger.node.ledger.embedded.budget import CallLimits, ExecutionTimeoutError
from gridledger.node.ledger.embedded.chain import EmbeddedChain
from gridledger.node.ledger.embedded.genesis import GenesisConfig
from gridledger.node.ledger.embedded.params import RpcError
from gridledger.node.ledger.embedded.rpc import JsonRpc
from gridledger.node.service import within_request_budget
from tests.node.txs import BLAKE2F, blake2f_input, signed_blake2f, signed_transfer

ADMIN = Account.from_key(b"\x02" * 32)
OTHER = Account.from_key(b"\x03" * 32)
GENESIS = GenesisConfig(prefund={ADMIN.address: 10**24, OTHER.address: 10**24})
HEAVY_ROUNDS = 1_000_000  # ~20 s of Python: far past every limit used below


def heavy_call(rounds: int = HEAVY_ROUNDS) -> dict[str, Any]:
    return {"to": BLAKE2F, "data": "0x" + blake2f_input(rounds).hex()}


def test_blake2f_with_checks_computes_as_py_evm() -> None:
    rng = random.Random(7)
    for _ in range(20):
        rounds = rng.randint(0, 2_100)
        h = tuple(rng.getrandbits(64) for _ in range(8))
        block, t = os.urandom(128), (rng.getrandbits(64), rng.getrandbits(64))
        final = rng.random() < 0.5
        assert budget.blake2b_compress(rounds, h, block, t, final) == stock_compress(
            rounds, h, block, t, final
        )


def test_eth_call_and_estimate_stop_at_the_evm_timeout(tmp_path: Path) -> None:
    rpc = JsonRpc(EmbeddedChain(tmp_path, GENESIS), CallLimits(timeout_s=0.3))
    for method in ("eth_call", "eth_estimateGas"):
        with pytest.raises(RpcError) as caught:
            rpc.call(method, [heavy_call(), "latest"])
        assert (caught.value.code, caught.value.message) == (
            -32000,
            "execution timeout after 0.3 s (rpc.evm_timeout_s)",
        )
    assert rpc.call("eth_call", [heavy_call(12), "latest"]).startswith("0x")


def test_the_gas_cap_bounds_calls_without_gas_and_refuses_more(tmp_path: Path) -> None:
    rpc = JsonRpc(EmbeddedChain(tmp_path, GENESIS), CallLimits(gas_cap=100_000))
    with pytest.raises(RpcError) as over:
        rpc.call("eth_call", [{**heavy_call(), "gas": hex(100_001)}, "latest"])
    assert (over.value.code, over.value.message) == (
        -32602,
        "invalid params: gas 100001 exceeds the RPC gas cap 100000 (rpc.gas_cap)",
    )
    with pytest.raises(RpcError) as out_of_gas:  # no gas given: the cap, not the block's 60M
        rpc.call("eth_call", [heavy_call(), "latest"])
    assert out_of_gas.value.code == -32015 and "OutOfGas" in out_of_gas.value.message
    assert int(rpc.call("eth_estimateGas", [heavy_call(2_000), "latest"]), 16) <= 100_000


def test_one_request_shares_one_execution_budget(tmp_path: Path) -> None:
    rpc = JsonRpc(EmbeddedChain(tmp_path, GENESIS), CallLimits(timeout_s=0.4, request_budget_s=0.6))
    batch = [
        {"jsonrpc": "2.0", "id": i, "method": "eth_call", "params": [heavy_call(), "latest"]}
        for i in range(4)
    ]
    out = within_request_budget(rpc)(json.dumps(batch).encode())
    messages = [r["error"]["message"] for r in json.loads(out or b"")]
    assert messages == [
        "execution timeout after 0.4 s (rpc.evm_timeout_s)",
        "execution timeout after 0.6 s (rpc.request_budget_s)",
        "execution timeout after 0.6 s (rpc.request_budget_s)",
        "execution timeout after 0.6 s (rpc.request_budget_s)",
    ]


def test_a_long_call_does_not_hold_the_chain_lock(tmp_path: Path) -> None:
    chain = EmbeddedChain(tmp_path, GENESIS)
    rpc = JsonRpc(chain, CallLimits(timeout_s=4.0))
    errors: list[str] = []

    def call() -> None:
        try:
            rpc.call("eth_call", [heavy_call(), "latest"])
        except RpcError as exc:
            errors.append(exc.message)

    caller = threading.Thread(target=call)
    caller.start()
    time.sleep(0.3)  # the call is executing
    chain.submit_raw(signed_transfer(ADMIN, 0))
    mined = chain.produce_block()
    assert mined is not None and len(mined.block.transactions) == 1
    assert caller.is_alive()  # the block was sealed while the call ran
    caller.join()
    assert errors == ["execution timeout after 4.0 s (rpc.evm_timeout_s)"]
    assert not chain.store._pending  # the call wrote nothing to the chain's store


def _aura_and_key() -> tuple[Aura, PrivateKey]:
    key = PrivateKey(b"\x41" * 32)
    aura = Aura(
        (key.public_key.to_canonical_address(),),
        1,
        GENESIS.timestamp_ts,
        GENESIS.chain_id,
        NO_AUTHORITY_SET,
    )
    return aura, key


def test_the_build_budget_aborts_a_transaction_and_drops_a_first_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    aura, key = _aura_and_key()
    chain = EmbeddedChain(tmp_path / "a", GENESIS, aura=aura)
    transfer = chain.submit_raw(signed_transfer(ADMIN, 0))
    heavy = chain.submit_raw(signed_blake2f(ADMIN, 1, HEAVY_ROUNDS))
    queued = chain.submit_raw(signed_transfer(ADMIN, 2))
    other = chain.submit_raw(signed_transfer(OTHER, 0))
    first = chain.produce_sealed_block(aura, 1, key, build_budget_s=0.5)
    # The heavy one ran into the budget after the transfer: aborted, still pooled (and the
    # sender's next nonce waits behind it); the other sender's transfer was not started.
    assert [tx.hash for tx in first.block.transactions] == [transfer]
    assert list(chain.pool) == [heavy, queued, other]
    with caplog.at_level(logging.WARNING):
        second = chain.produce_sealed_block(aura, 2, key, build_budget_s=0.5)
    assert list(second.block.transactions) == []
    assert list(chain.pool) == [queued, other]  # the heavy one left the pool
    assert f"dropped transaction 0x{heavy.hex()}" in caplog.text
    assert "execution timeout after 0.5 s (block build budget)" in caplog.text
    third = chain.produce_sealed_block(aura, 3, key, build_budget_s=0.5)
    assert [tx.hash for tx in third.block.transactions] == [other]
    # A replica re-executes the blocks to the same state: the aborted runs left no trace.
    replica = EmbeddedChain(tmp_path / "b", GENESIS, aura=aura)
    for number in (1, 2, 3):
        replica.import_sealed_block(chain.block_by_number(number), aura)
    assert replica.head_header() == chain.head_header()


def test_a_replica_refuses_a_block_it_cannot_re_execute_within_its_budget(
    tmp_path: Path,
) -> None:
    aura, key = _aura_and_key()
    proposer = EmbeddedChain(tmp_path / "a", GENESIS, aura=aura)
    proposer.submit_raw(signed_blake2f(ADMIN, 0, 40_000))  # ~1 s here
    block = proposer.produce_sealed_block(aura, 1, key).block  # no budget: built anyway
    replica = EmbeddedChain(tmp_path / "b", GENESIS, aura=aura)
    with pytest.raises(ExecutionTimeoutError) as refused:
        replica.import_sealed_block(block, aura, budget_s=0.1)
    assert str(refused.value) == "execution timeout after 0.1 s (block execution budget, CPU time)"
    assert replica.head_header().block_number == 0 and not replica.store._pending
    replica.import_sealed_block(block, aura)  # within a larger budget it is taken
    assert replica.head_header() == proposer.head_header()


def test_a_throttled_execution_pauses_once_past_its_first_50_ms(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pauses: list[float] = []
    sleep = time.sleep
    monkeypatch.setattr(budget.time, "sleep", lambda s: (pauses.append(s), sleep(s)))
    args = ((0,) * 8, bytes(128), (0, 0), False)
    with budget.limit(5.0, "short", throttled=True):
        budget.blake2b_compress(100, *args)  # ~2 ms
    with budget.limit(0.5, "long"), pytest.raises(ExecutionTimeoutError):
        budget.blake2b_compress(HEAVY_ROUNDS, *args)
    assert pauses == []
    with budget.limit(0.5, "long, throttled", throttled=True), pytest.raises(ExecutionTimeoutError):
        budget.blake2b_compress(HEAVY_ROUNDS, *args)
    assert len(pauses) >= 10 and set(pauses) == {budget.PAUSE_S}


def test_a_cpu_limit_counts_only_the_threads_own_cpu_time() -> None:
    args = ((0,) * 8, bytes(128), (0, 0), False)
    with budget.cpu_limit(0.2, "cpu"):
        time.sleep(0.4)  # waiting (for a core, for the interpreter) costs no CPU time
        budget.check()
        with pytest.raises(ExecutionTimeoutError, match=r"after 0\.2 s \(cpu\)"):
            budget.blake2b_compress(HEAVY_ROUNDS, *args)
    assert budget.deadline() is None
