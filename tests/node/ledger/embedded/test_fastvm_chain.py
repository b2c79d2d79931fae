"""The embedded chain's blocks are the same with its compiled interpreter and with stock py-evm.

The contract stack is deployed and wired, participants admitted, signed meter readings
relayed in batches of 60 (the benchmark's workload) and tokens transferred on an embedded
chain; every block is then replayed, with the same transactions and timestamps, on a second
chain whose computations are py-evm's CancunComputation and whose receipts are py-evm's
(not fastreceipt's). Equal block hashes mean equal state roots, receipts (status, gas used,
logs) and bloom filters.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from eth.vm.forks.cancun import CancunVM
from eth.vm.forks.cancun.computation import CancunComputation
from eth_account import Account

from gridledger.contracts.typed import domain_separator
from gridledger.node.benchmarks.workload import reading_batch
from gridledger.node.ledger.deploy import MarketTiming, RegulationRules, Roles, deploy_stack
from gridledger.node.ledger.embedded import fastvm
from gridledger.node.ledger.embedded.aura import GridledgerVM
from gridledger.node.ledger.embedded.chain import EmbeddedChain
from gridledger.node.ledger.embedded.engine import FUNDER, EmbeddedEngine

CHAIN_ID = 31_337
RELAYER = Account.from_key(b"\x22" * 32)
METERS = [Account.from_key(bytes([0x30 + i]) * 32) for i in range(3)]
PARTICIPANTS = [Account.from_key(bytes([0x50 + i]) * 32) for i in range(3)]


def _readings_workload(engine: EmbeddedEngine, batches: int) -> None:
    w3 = engine.w3
    admin = FUNDER.address
    engine.add_account(bytes(RELAYER.key))
    head_ts = engine.now()
    roles = Roles(admin, admin, admin, admin)
    d = deploy_stack(w3, roles, RegulationRules(), MarketTiming(head_ts - head_ts % 86400))
    token, registry, metering = (d.contract(w3, n) for n in ("GridToken", "Registry", "Metering"))
    token.functions.mint(RELAYER.address, 10**15).transact({"from": admin})
    for participant, meter in zip(PARTICIPANTS, METERS, strict=True):
        registry.functions.admit(participant.address, meter.address).transact({"from": admin})
    separator = domain_separator(CHAIN_ID, d.addresses["Metering"])
    start_ts = engine.now() - 3600 * batches
    for b in range(batches):
        k = b % len(METERS)
        call = reading_batch(
            metering, METERS[k], PARTICIPANTS[k].address, start_ts, b // len(METERS), separator
        )
        receipt = w3.eth.wait_for_transaction_receipt(
            call.transact({"from": RELAYER.address, "gas": 2_000_000})
        )
        assert receipt["status"] == 1
    for _ in range(3):
        token.functions.transfer(admin, 1).transact({"from": RELAYER.address})


def test_blocks_equal_stock_py_evm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fastvm, "HOT_AFTER_RUNS", 0)  # compiled from the first run
    with EmbeddedEngine() as engine:
        _readings_workload(engine, batches=4)
        fast = engine.chain
        head = fast.head_header().block_number
        blocks = [fast.block_by_number(n) for n in range(1, head + 1)]
        monkeypatch.setattr(fastvm.GridledgerState, "computation_class", CancunComputation)
        # ... and py-evm's own receipts (bloom and RLP), not fastreceipt's
        monkeypatch.setattr(GridledgerVM, "make_receipt", CancunVM.make_receipt)
        stock = EmbeddedChain(tmp_path, engine.chain.genesis)
        try:
            for block in blocks:
                for tx in block.transactions:
                    stock.submit_raw(tx.encode())
                stock.produce_block(timestamp_ts=block.header.timestamp, empty_ok=True)
                replayed = stock.head_header()
                assert replayed.hash == block.header.hash, (
                    f"block {block.number}: gas used {replayed.gas_used} (stock) vs "
                    f"{block.header.gas_used}, state root {replayed.state_root.hex()} vs "
                    f"{block.header.state_root.hex()}"
                )
        finally:
            stock.close()
    assert len(blocks) > 20
