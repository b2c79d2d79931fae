"""Consensus between in-process replicas: agreement, finality, partitions, fork choice and
forged blocks (the process-level versions are in tests/node/testnet)."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import rlp
from web3 import Web3

from gridledger.contracts.artifacts import load_artifact
from gridledger.node.consensus import engine as engine_module
from gridledger.node.consensus.clock import SimClock, WallClock
from gridledger.node.consensus.engine import Consensus, encode_block
from gridledger.node.ledger.embedded.aura import sealer_of, step_of
from gridledger.node.ledger.embedded.chain import EmbeddedChain
from gridledger.node.ledger.votes import Justification, verify_justification
from gridledger.node.p2p.wire import (
    MAX_FRAME_BYTES,
    Block,
    Blocks,
    FrameKind,
    GetBlocks,
    Status,
    encode_frame,
)
from tests.node.consensus.forge import forged_blocks
from tests.node.consensus.memnet import ROLE_KEYS, USER, MemNet, transfer
from tests.node.txs import signed_blake2f


def heads(net: MemNet) -> set[bytes]:
    return {bytes(n.chain.head_header().hash) for n in net.nodes.values()}


def test_replicas_agree_and_finalize(net3: MemNet) -> None:
    net3.run_steps(1, 9)
    assert len(heads(net3)) == 1
    n0 = net3.nodes["n0"]
    assert n0.chain.head_header().block_number == 9
    # Every authority votes for each block it imports: block 9 is final in its own slot
    # (the old rule, more than half sealed on top, reached only block 8).
    assert {n.chain.finalized_number() for n in net3.nodes.values()} == {9}
    number, block_hash, data = n0.chain.justification_covering(9)  # type: ignore[misc]
    assert (number, block_hash) == (9, bytes(n0.chain.header_by_number(9).hash))
    voters = verify_justification(
        Justification.decode(data),
        net3.aura.authorities,
        n0.chain.genesis.chain_id,
        n0.chain.vote_domain,
    )
    assert len(voters) >= 3  # quorum of 3 is 3 (more than two thirds)


def test_transaction_sent_to_any_node_has_same_receipt_everywhere(net3: MemNet) -> None:
    tx_hash = net3.nodes["n2"].chain.submit_raw(transfer(0))  # gossiped to n0 and n1
    net3.settle()
    assert all(tx_hash in n.chain.pool for n in net3.nodes.values())
    net3.run_steps(1, 1)  # n1 proposes step 1
    locations = {n.chain.transaction_location(tx_hash) for n in net3.nodes.values()}
    assert locations == {(1, 0)}
    roots = {n.chain.head_header().state_root for n in net3.nodes.values()}
    receipts = {
        rlp.encode(n.chain.receipts_of(n.chain.block_by_number(1))[0]) for n in net3.nodes.values()
    }
    assert len(roots) == 1 and len(receipts) == 1
    assert not any(n.chain.pool for n in net3.nodes.values())


def test_partition_majority_finalizes_minority_does_not_then_converges(net4: MemNet) -> None:
    net4.run_steps(1, 4)
    before = net4.nodes["n3"].chain.finalized_number()
    net4.isolate("n3")
    lonely_tx = net4.nodes["n3"].chain.submit_raw(transfer(0))  # only n3 knows it
    net4.run_steps(5, 16)
    majority = [net4.nodes[f"n{i}"] for i in range(3)]
    assert len({bytes(n.chain.head_header().hash) for n in majority}) == 1
    assert majority[0].chain.finalized_number() > before + 5
    isolated = net4.nodes["n3"]
    assert isolated.chain.finalized_number() == before  # sealing alone finalizes nothing
    assert isolated.chain.transaction_location(lonely_tx) is not None  # in its own fork
    net4.heal()
    net4.settle()
    assert len(heads(net4)) == 1
    assert isolated.reorgs == 1
    # The isolated node's transaction went back to its pool and is gossiped on; it is mined.
    assert lonely_tx in isolated.chain.pool
    net4.run_steps(17, 20)
    assert len(heads(net4)) == 1
    located = {n.chain.transaction_location(lonely_tx) for n in net4.nodes.values()}
    assert len(located) == 1 and None not in located


def test_finalized_blocks_are_never_reverted(net4: MemNet) -> None:
    net4.run_steps(1, 8)
    honest = net4.nodes["n0"]
    final = honest.chain.finalized_number()
    assert final >= 5
    final_hash = honest.chain.header_by_number(final).hash
    # A longer branch forking below finality, sealed in turn by every authority's key (say,
    # keys stolen later), is refused: fork choice never reaches below the finalized block.
    branch = build_branch(net4, fork_number=final - 2, first_step=9, length=12)
    assert branch[-1].number > honest.chain.head_header().block_number
    for block in branch:
        honest.handle("n3", Block(encode_block(block)))
    honest.drain()
    assert honest.chain.is_canonical(final_hash)
    assert honest.chain.finalized_number() == final
    assert honest.reorgs == 0


def build_branch(net: MemNet, fork_number: int, first_step: int, length: int) -> list[Any]:
    """`length` blocks on top of n0's block `fork_number`, each sealed by its step's proposer,
    built on a scratch replica."""
    source = net.nodes["n0"].chain
    scratch = EmbeddedChain(net.tmp / "scratch", net.genesis, aura=net.aura)
    for number in range(1, fork_number + 1):
        scratch.import_sealed_block(source.block_by_number(number), net.aura)
    blocks = []
    for step in range(first_step, first_step + length):
        key = net.keys[step % len(net.keys)]
        blocks.append(scratch.produce_sealed_block(net.aura, step, key).block)
    scratch.close()
    return blocks


def test_forged_blocks_are_rejected_and_the_offender_logged(
    net4: MemNet, caplog: pytest.LogCaptureFixture
) -> None:
    net4.run_steps(1, 3)
    net4.clock.advance_to(net4.aura.slot_ts(5))
    before = heads(net4)
    caplog.set_level(logging.WARNING, logger="gridledger.node.consensus.engine")
    keys = {net4.aura.authorities[i]: k for i, k in enumerate(net4.keys)}
    forged = forged_blocks(net4.nodes["n0"].chain, net4.aura, keys, step=4, far_step=400)
    for kind, block in forged.items():
        for node in net4.nodes.values():
            node.handle("n3", Block(encode_block(block)))
            node.drain()
        assert heads(net4) == before, kind
    assert all(n.rejected.get("n3", 0) >= 4 for n in net4.nodes.values())
    assert "rejected a block from peer n3" in caplog.text
    for words in ("expected 0x", "in the future", "does not re-execute"):
        assert words in caplog.text, words
    # The honest proposer's block of step 4 is still accepted.
    net4.run_steps(4, 4)
    assert net4.nodes["n1"].chain.head_header().block_number == 4


def test_a_simulation_clock_seals_only_at_ticks(net3: MemNet) -> None:
    for node in net3.nodes.values():
        node.start()
    try:
        time.sleep(0.5)
        assert {n.chain.head_header().block_number for n in net3.nodes.values()} == {0}
        for step in range(1, 5):
            net3.clock.advance_to(net3.aura.slot_ts(step))
            deadline = time.monotonic() + 10
            while {n.chain.head_header().block_number for n in net3.nodes.values()} != {step}:
                assert time.monotonic() < deadline, f"step {step} not sealed everywhere"
                time.sleep(0.02)
        head = net3.nodes["n1"].chain.head_header()
        assert head.timestamp == net3.aura.slot_ts(4)
        assert len(heads(net3)) == 1
    finally:
        for node in net3.nodes.values():
            node.stop()


def test_a_forged_sibling_of_the_head_is_checked_and_its_sender_named(net4: MemNet) -> None:
    net4.run_steps(1, 3)
    net4.clock.advance_to(net4.aura.slot_ts(5))
    source = net4.nodes["n0"].chain
    scratch = EmbeddedChain(net4.tmp / "scratch", net4.genesis, aura=net4.aura)
    for number in (1, 2):
        scratch.import_sealed_block(source.block_by_number(number), net4.aura)
    keys = {net4.aura.authorities[i]: k for i, k in enumerate(net4.keys)}
    forged = forged_blocks(scratch, net4.aura, keys, step=4, far_step=400)
    node = net4.nodes["n1"]
    for block in forged.values():  # each at height 3, beside the head
        node.handle("n3", Block(encode_block(block)))
    node.drain()
    assert node.chain.head_header().block_number == 3
    # every kind but the bad state root fails its seal check against its own parent
    assert node.rejected.get("n3", 0) >= len(forged) - 1
    scratch.close()


def test_an_authority_removed_by_the_regulator_stops_sealing_at_the_stated_block(
    tmp_path: Path,
) -> None:
    net = MemNet(tmp_path, 4, contracts=True)
    try:
        net.run_steps(1, 3)
        leaving = net.aura.authorities[3]
        effective = 6
        regulator = ROLE_KEYS[2]
        authority_set = Web3().eth.contract(abi=load_artifact("AuthoritySet").abi)
        data = authority_set.encode_abi(
            "propose", args=[Web3.to_checksum_address(leaving), False, effective]
        )
        signed = regulator.sign_transaction(
            {
                "to": net.contracts["AuthoritySet"],
                "data": data,
                "gas": 500_000,
                "nonce": 0,
                "maxFeePerGas": 10**10,
                "maxPriorityFeePerGas": 1,
                "chainId": 31_337,
                "type": 2,
            }
        )
        net.nodes["n1"].chain.submit_raw(bytes(signed.raw_transaction))
        net.run_steps(4, 16)
        assert len(heads(net)) == 1
        chain = net.nodes["n0"].chain
        remaining = net.aura.authorities[:3]
        for number in range(1, chain.head_header().block_number + 1):
            header = chain.header_by_number(number)
            set_in_force = net.aura.authorities if number < effective else remaining
            assert sealer_of(header, net.aura) == set_in_force[step_of(header) % len(set_in_force)]
        assert chain.head_header().block_number >= 12
        assert not any(
            sealer_of(chain.header_by_number(n), net.aura) == leaving for n in range(effective, 13)
        )
        # Finality goes on with the votes of the 3 remaining authorities (quorum 3 of 3).
        assert chain.finalized_number() >= chain.head_header().block_number - 1
        # The removed authority's block at its old turn is refused by everyone.
        old_turn = next(s for s in range(17, 30) if s % 4 == 3)
        net.clock.advance_to(net.aura.slot_ts(old_turn))
        forged = net.nodes["n3"].chain
        assert net.nodes["n3"].seal_step(old_turn) is None  # it knows it is out
        block = forged.produce_sealed_block(net.aura, old_turn, net.keys[3]).block
        for node in list(net.nodes.values())[:3]:
            node.handle("n3", Block(encode_block(block)))
            node.drain()
            assert node.rejected.get("n3", 0) >= 1
    finally:
        net.close()


def test_a_block_slightly_ahead_of_our_clock_is_held_until_its_slot(net3: MemNet) -> None:
    net3.run_steps(1, 4)
    proposer = next(n for n in net3.nodes.values() if n.address == net3.aura.proposer(5))
    block = proposer.seal_step(5)  # its clock ran ahead of ours
    assert block is not None
    others = [n for n in net3.nodes.values() if n is not proposer]
    for node in others:
        node.drain()
        assert node.chain.head_header().block_number == 4  # held, not refused
        assert not node.rejected
    net3.clock.advance_to(net3.aura.slot_ts(5))
    for node in others:
        node.drain()
        assert node.chain.head_header().hash == block.hash


def test_a_peer_on_another_chain_is_ignored_and_named_once(
    net3: MemNet, caplog: pytest.LogCaptureFixture
) -> None:
    net3.run_steps(1, 2)
    node = net3.nodes["n0"]
    caplog.set_level(logging.WARNING, logger="gridledger.node.consensus.engine")
    other = Status(
        head_number=50, head_hash=b"\x01" * 32, finalized_number=49, genesis_hash=b"\x02" * 32
    )
    for _ in range(3):
        node.handle("stranger", other)
    assert node.drain() == 0  # no sync towards its "better" chain
    assert node.foreign_peers == {"stranger"} and "stranger" not in node.peers
    assert not node.rejected  # not counted as rejected blocks
    assert caplog.text.count("peer stranger runs another chain") == 1


def test_a_proposer_on_the_wall_clock_has_half_a_period_to_build() -> None:
    """The build budget is half the period on the wall clock; none in simulation time."""
    wall = SimpleNamespace(clock=WallClock(), aura=SimpleNamespace(period_s=4))
    sim = SimpleNamespace(clock=SimClock(0.0), aura=SimpleNamespace(period_s=4))
    assert Consensus._build_budget_s(wall) == 2.0  # type: ignore[arg-type]
    assert Consensus._build_budget_s(sim) is None  # type: ignore[arg-type]


def test_a_blocks_reply_is_cut_to_one_frame(net3: MemNet, monkeypatch: pytest.MonkeyPatch) -> None:
    net3.run_steps(1, 20)
    big_block = b"\xc0" * 2**20  # as if every block were 1 MiB: 20 of them exceed 16 MiB
    monkeypatch.setattr(engine_module, "encode_block", lambda block: big_block)
    reply = net3.nodes["n0"].handle("n1", GetBlocks(1, 20))
    assert isinstance(reply, Blocks)
    assert len(reply.rlp) == 15  # 16 MiB less the frame and blob headers
    assert len(encode_frame(FrameKind.REPLY, reply, 1)) <= MAX_FRAME_BYTES


def test_the_consensus_queue_is_bounded_in_bytes(
    net3: MemNet, caplog: pytest.LogCaptureFixture
) -> None:
    n0 = net3.nodes["n0"]
    big = b"\xc0" * 10 * 2**20  # 10 MiB blocks (junk: the worker would refuse them)
    for _ in range(8):
        n0.handle("n1", Block(big))
    assert len(n0._queue) == 6  # 64 MiB; the count limit alone would take 10,000
    assert "consensus queue full (6 items, 62914560 bytes); dropped a block of 10485760" in (
        caplog.text
    )


def test_a_replica_on_the_wall_clock_has_a_period_to_re_execute_a_block() -> None:
    wall = SimpleNamespace(clock=WallClock(), aura=SimpleNamespace(period_s=4))
    sim = SimpleNamespace(clock=SimClock(0.0), aura=SimpleNamespace(period_s=4))
    assert Consensus._import_budget_s(wall) == 4.0  # type: ignore[arg-type]
    assert Consensus._import_budget_s(sim) is None  # type: ignore[arg-type]


def test_a_block_too_slow_to_re_execute_is_refused_and_logged(
    net3: MemNet, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow = net3.nodes["n2"]
    monkeypatch.setattr(slow, "_import_budget_s", lambda: 0.1)
    net3.nodes["n1"].chain.submit_raw(signed_blake2f(USER, 0, 40_000))  # ~1 s of BLAKE2F
    with caplog.at_level(logging.WARNING):
        net3.run_steps(1, 1)  # n1 proposes (no budget in simulation time)
    assert net3.nodes["n0"].chain.head_header().block_number == 1
    assert slow.chain.head_header().block_number == 0
    assert slow.rejected.get("n1", 0) >= 1
    assert (
        "rejected a block from peer n1: block 1 does not re-execute: "
        "execution timeout after 0.1 s (block execution budget, CPU time)"
    ) in caplog.text
