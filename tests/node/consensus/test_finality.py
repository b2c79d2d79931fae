"""Finality by authority votes between in-process replicas (node/consensus/finality.py): one
slot to finality, a withholding authority, two of four silent, equivocation evidence, the
voting rules (minority, lock) and the justification surviving a restart. The process-level
versions are in tests/node/testnet/test_finality_faults.py."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from eth.abc import BlockAPI
from eth_keys.datatypes import PrivateKey
from eth_utils.crypto import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridledger.node.consensus.engine import Consensus, encode_block
from gridledger.node.ledger.embedded.aura import seal_hash, sealer_of, step_of
from gridledger.node.ledger.embedded.chain import EmbeddedChain
from gridledger.node.ledger.embedded.rpc import JsonRpc
from gridledger.node.ledger.votes import (
    Justification,
    Vote,
    VoteKind,
    sign_vote,
    verify_justification,
)
from gridledger.node.p2p.wire import Block, VoteMessage
from tests.node.consensus.memnet import MemNet, transfer
from tests.node.ledger.test_votes import STRANGER

PAIRS = [frozenset((f"n{a}", f"n{b}")) for a in range(4) for b in range(a + 1, 4)]


def finals(net: MemNet) -> list[int]:
    return [n.chain.finalized_number() for n in net.nodes.values()]


def withhold(node: Consensus) -> None:
    """The node seals in turn but never votes."""
    node.finality.key = None


def verified_voters(net: MemNet, node: Consensus, number: int) -> frozenset[bytes]:
    stored = node.chain.justification_covering(number)
    assert stored is not None
    return verify_justification(
        Justification.decode(stored[2]),
        net.aura.authorities,
        node.chain.genesis.chain_id,
        node.chain.vote_domain,
    )


def test_every_block_is_final_in_its_own_slot_and_justified(net4: MemNet) -> None:
    for step in range(1, 9):
        net4.run_steps(step, step)
        assert set(finals(net4)) == {step}  # the head, before the next slot
    n2 = net4.nodes["n2"]
    # The votes that made it final: the first quorum (3 of 4) to arrive.
    assert len(verified_voters(net4, n2, 8)) == 3
    # Block 5's own justification was stored when it became final.
    stored = n2.chain.justification_covering(5)
    assert stored is not None and stored[0] == 5


def test_a_withholding_authority_does_not_stop_finality(net4: MemNet) -> None:
    withhold(net4.nodes["n3"])
    net4.run_steps(1, 8)
    assert set(finals(net4)) == {8}
    assert net4.aura.authorities[3] not in verified_voters(net4, net4.nodes["n0"], 8)
    assert net4.nodes["n3"].chain.head_header().block_number == 8  # it still seals


def test_two_of_four_silent_stop_finality_until_one_returns(net4: MemNet) -> None:
    net4.run_steps(1, 3)
    withhold(net4.nodes["n2"])
    key3 = net4.nodes["n3"].finality.key
    withhold(net4.nodes["n3"])
    net4.run_steps(4, 10)
    assert set(finals(net4)) == {3}  # two votes of four: no quorum
    assert net4.nodes["n0"].chain.head_header().block_number == 10
    net4.nodes["n3"].finality.key = key3
    net4.run_steps(11, 11)
    assert set(finals(net4)) == {11}
    assert len(verified_voters(net4, net4.nodes["n1"], 11)) == 3


def test_an_equivocating_authority_is_caught_and_finality_holds(net4: MemNet) -> None:
    liar = net4.nodes["n3"]
    liar.finality.extra_vote = liar.finality.equivocation_vote
    net4.run_steps(1, 5)
    assert set(finals(net4)) == {5}
    for name in ("n0", "n1", "n2"):
        evidence = net4.nodes[name].finality.evidence
        assert {e.voter for e in evidence} == {net4.aura.authorities[3]}
        assert len(evidence) == 10  # a prevote and a precommit per height, once each
        first, second = evidence[0].first, evidence[0].second
        assert first.height == second.height and first.block_hash != second.block_hash


def test_the_evidence_held_is_bounded(net4: MemNet, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("gridledger.node.consensus.finality.EVIDENCE_KEPT", 4)
    liar = net4.nodes["n3"]
    liar.finality.extra_vote = liar.finality.equivocation_vote
    net4.run_steps(1, 5)
    assert set(finals(net4)) == {5}  # the equivocations beyond the bound change nothing else
    for name in ("n0", "n1", "n2"):
        assert len(net4.nodes[name].finality.evidence) == 4  # of the 10 of the test above


def test_a_node_in_a_minority_does_not_vote_and_rejoins(net4: MemNet) -> None:
    net4.run_steps(1, 4)
    lonely = net4.nodes["n3"]
    net4.isolate("n3")
    net4.run_steps(5, 16)
    assert lonely.finality.last_vote is not None
    assert lonely.finality.last_vote.height == 4  # it sealed alone but cast no vote
    assert lonely.chain.finalized_number() == 4
    majority_final = net4.nodes["n0"].chain.finalized_number()
    assert majority_final == net4.nodes["n0"].chain.head_header().block_number
    net4.heal()
    net4.settle()
    net4.run_steps(17, 18)
    assert len({n.chain.head_header().hash for n in net4.nodes.values()}) == 1
    assert set(finals(net4)) == {net4.nodes["n0"].chain.head_header().block_number}
    assert lonely.finality.last_vote.height > majority_final  # voting again


def test_a_vote_follows_its_lock_until_a_justification_overrides_it(net4: MemNet) -> None:
    net4.run_steps(1, 3)
    n0 = net4.nodes["n0"]
    gadget = n0.finality
    # Pretend n0 last voted for a block 5 on a branch it does not hold a justification
    # against: it may not vote for our block 4 (height not above), nor for block 6 unless the
    # branch of its lock conflicts with a final block.
    foreign_5 = sign_vote(n0.finality.key, gadget.chain_id, gadget.authority_set, 5, b"\x42" * 32)  # type: ignore[arg-type]
    gadget.last[VoteKind.PRECOMMIT] = foreign_5
    net4.run_steps(4, 5)
    assert gadget.last_vote == foreign_5  # heights 4 and 5 are not above its last vote
    net4.run_steps(6, 6)
    # Block 5 is final here (3 votes without n0), and the lock at height 5 is not canonical:
    # the justification overrides it, so n0 votes for block 6.
    assert gadget.last_vote.height == 6


def test_votes_from_strangers_and_foreign_chains_are_refused(net4: MemNet) -> None:
    net4.run_steps(1, 2)
    n0 = net4.nodes["n0"]
    block_hash = bytes(n0.chain.header_by_number(2).hash)
    stranger = sign_vote(STRANGER, n0.finality.chain_id, n0.finality.authority_set, 2, block_hash)
    n0.handle("n1", VoteMessage(2, stranger.height, stranger.block_hash, stranger.signature))
    far = sign_vote(
        net4.keys[1], n0.finality.chain_id, n0.finality.authority_set, 10_000, block_hash
    )
    n0.handle("n1", VoteMessage(2, far.height, far.block_hash, far.signature))
    checked = n0.finality.votes_checked
    n0.drain()
    assert n0.rejected_votes == {"n1": 2}
    # The stranger's signature was recovered to name it; the far vote's was not (bounds first).
    assert n0.finality.votes_checked == checked + 1
    assert stranger not in n0.finality._seen and far not in n0.finality._seen


def test_the_justification_survives_a_restart_and_is_served(net4: MemNet) -> None:
    net4.run_steps(1, 6)
    n1 = net4.nodes["n1"]
    final = n1.chain.finalized_number()
    last_vote = n1.finality.last_vote
    n1.chain.close()
    reopened = EmbeddedChain(net4.tmp / "n1", net4.genesis, aura=net4.aura)
    try:
        assert reopened.finalized_number() == final == 6
        rpc = JsonRpc(reopened)
        answer = rpc.call("gridledger_getJustification", ["0x4"])
        assert answer["blockNumber"] == "0x4" and answer["justifiedNumber"] == "0x4"
        voters = {v["voter"] for v in answer["votes"]}
        assert len(voters) == 3 and voters < {"0x" + a.hex() for a in net4.aura.authorities}
        assert rpc.call("gridledger_getJustification", ["finalized"])["justifiedNumber"] == "0x6"
        assert rpc.call("gridledger_getJustification", ["0x7"]) is None  # above the head
        raw = bytes.fromhex(answer["rlp"][2:])
        assert (
            len(
                verify_justification(
                    Justification.decode(raw),
                    net4.aura.authorities,
                    net4.genesis.chain_id,
                    reopened.vote_domain,
                )
            )
            == 3
        )
        # The last vote is on disk too: a restarted authority never votes twice at a height.
        restarted = Consensus(reopened, net4.aura, net4.keys[1], net4.clock, name="n1")
        assert restarted.finality.last_vote == last_vote
    finally:
        reopened.close()
        net4.nodes.pop("n1")


def test_votes_are_monotone_in_height(net4: MemNet) -> None:
    net4.run_steps(1, 3)
    n0 = net4.nodes["n0"]
    votes: list[Vote] = []

    def record(vote: Vote) -> None:
        votes.append(vote)

    n0.finality.extra_vote = record
    net4.run_steps(4, 9)
    for kind in VoteKind:
        heights = [v.height for v in votes if v.kind == kind]
        assert heights == sorted(set(heights)) == list(range(4, 10))


def test_a_two_two_partition_finalizes_nowhere_then_resumes(net4: MemNet) -> None:
    net4.run_steps(1, 4)
    net4.cut |= {frozenset((a, b)) for a in ("n0", "n1") for b in ("n2", "n3")}
    net4.run_steps(5, 12)
    sides = [net4.nodes["n0"], net4.nodes["n2"]]
    assert sides[0].chain.head_header().hash != sides[1].chain.head_header().hash
    assert set(finals(net4)) == {4}  # two of four on each side: no quorum anywhere
    net4.heal()
    net4.settle()
    net4.run_steps(13, 16)
    assert len({n.chain.head_header().hash for n in net4.nodes.values()}) == 1
    assert set(finals(net4)) == {net4.nodes["n0"].chain.head_header().block_number}
    hashes = {n.chain.header_by_number(5).hash for n in net4.nodes.values()}
    assert len(hashes) == 1  # one block 5 is final everywhere


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.sets(st.sampled_from(PAIRS)), min_size=4, max_size=14))
def test_no_two_nodes_ever_finalize_conflicting_blocks(
    tmp_path_factory: pytest.TempPathFactory, cuts: list[set[frozenset[str]]]
) -> None:
    """Random links cut at every step (any partition, flapping): whatever finalizes is the
    same block on every node."""
    net = MemNet(tmp_path_factory.mktemp("random"), 4)
    try:
        final_hashes: dict[int, bytes] = {}
        for step, cut in enumerate(cuts, start=1):
            net.cut = set(cut)
            net.run_steps(step, step)
            for node in net.nodes.values():
                for number in range(1, node.chain.finalized_number() + 1):
                    block_hash = bytes(node.chain.header_by_number(number).hash)
                    assert final_hashes.setdefault(number, block_hash) == block_hash
    finally:
        net.close()


def test_equivocation_evidence_removes_the_offender_on_chain(tmp_path: Path) -> None:
    net = MemNet(tmp_path, 4, contracts=True)
    try:
        liar = net.nodes["n3"]
        liar.finality.extra_vote = liar.finality.equivocation_vote
        net.run_steps(1, 3)  # evidence seen at block 1; reports pooled and mined
        net.run_steps(4, 12)
        offender = net.aura.authorities[3]
        honest = [net.nodes[f"n{i}"] for i in range(3)]
        for node in honest:
            head = node.chain.head_header()
            remaining = node.schedule.for_child_of(head).authorities
            assert remaining == net.aura.authorities[:3]
            assert node.chain.finalized_number() == int(head.block_number)
        # One report was mined and removed it; the later ones reverted (AuthorityNotMember).
        logs = honest[0].chain.store.query_logs(
            0,
            12,
            [bytes.fromhex(net.contracts["AuthoritySet"][2:])],
            [
                [
                    keccak(
                        text="AuthorityEquivocationReported(address,uint8,uint64,bytes32,bytes32,uint64,address)"
                    )
                ]
            ],
            10,
        )
        assert len(logs) == 1 and logs[0].topics[1][-20:] == offender
        # From the effective block on, the set in force no longer holds it.
        effective = int.from_bytes(logs[0].data[5 * 32 - 32 : 5 * 32], "big")
        assert effective == logs[0].block_number + 1
        chain = honest[0].chain
        assert offender not in honest[0].finality.authorities_for(effective)
        assert offender in honest[0].finality.authorities_for(effective - 1)
        assert chain.head_header().block_number >= effective
    finally:
        net.close()


def two_blocks_sealed_at(net: MemNet, step: int, key: PrivateKey) -> tuple[BlockAPI, BlockAPI]:
    """Two different blocks on block 2, both sealed by `key` at `step`."""
    net.clock.advance_to(net.aura.slot_ts(step))
    scratch = EmbeddedChain(
        net.tmp / f"scratch-{key.public_key.to_address()}", net.genesis, aura=net.aura
    )
    source = net.nodes["n0"].chain
    try:
        for number in (1, 2):
            scratch.import_sealed_block(source.block_by_number(number), net.aura)
        # An Aura in which `key` proposes every step, so the scratch chain seals with it.
        aura = replace(net.aura, authorities=(bytes(key.public_key.to_canonical_address()),))
        empty = scratch.produce_sealed_block(aura, step, key).block
        scratch.rewind_to(2)
        scratch.submit_raw(transfer(0))
        full = scratch.produce_sealed_block(aura, step, key).block
    finally:
        scratch.close()
    assert empty.hash != full.hash
    return empty, full


def test_two_seals_in_one_step_are_logged_as_an_equivocation(
    net4: MemNet, caplog: pytest.LogCaptureFixture
) -> None:
    net4.run_steps(1, 2)
    step = 3  # n3's turn: it seals two different blocks on the same parent
    n0 = net4.nodes["n0"]
    blocks = two_blocks_sealed_at(net4, step, net4.keys[3])
    for block in blocks:
        n0.handle("n3", Block(encode_block(block)))
    n0.drain()
    (evidence,) = n0.seal_equivocations
    assert (evidence.sealer, evidence.step) == (net4.aura.authorities[3], step)
    # The evidence AuthoritySet takes: each seal over its block's bare header hash.
    for block, bare, signature, block_hash in zip(
        blocks, evidence.bare_hashes, evidence.signatures, evidence.block_hashes, strict=True
    ):
        assert (seal_hash(block.header), block.header.extra_data[8:]) == (bare, signature)
        assert block_hash == block.hash
    assert (
        f"equivocation by authority 0x{net4.aura.authorities[3].hex()}: two seals at step 3"
        in caplog.text
    )
    # A copy of either block, or a third one, adds nothing.
    for block in (*blocks, *blocks):
        n0.handle("n3", Block(encode_block(block)))
    n0.drain()
    assert len(n0.seal_equivocations) == 1


def test_two_seals_by_a_key_not_proposing_that_step_are_no_equivocation(net4: MemNet) -> None:
    net4.run_steps(1, 2)
    n0 = net4.nodes["n0"]
    for key in (net4.keys[2], STRANGER):  # step 3 is n3's: n2's seals and a stranger's are junk
        for block in two_blocks_sealed_at(net4, 3, key):
            n0.handle("n1", Block(encode_block(block)))
    n0.drain()
    assert n0.seal_equivocations == []
    assert n0.rejected == {"n1": 4}  # each refused by the seal check, its peer named


def test_seal_evidence_removes_the_offender_on_chain(tmp_path: Path) -> None:
    net = MemNet(tmp_path, 4, contracts=True)
    try:
        liar = net.nodes["n3"]
        liar.extra_seal = liar.equivocation_block  # two blocks at each of its steps
        net.run_steps(1, 12)
        offender = net.aura.authorities[3]
        honest = [net.nodes[f"n{i}"] for i in range(3)]
        for node in honest:
            assert [e.sealer for e in node.seal_equivocations] == [offender]
            assert node.seal_equivocations[0].step == 3
            head = node.chain.head_header()
            assert node.schedule.for_child_of(head).authorities == net.aura.authorities[:3]
            assert node.chain.finalized_number() == int(head.block_number)
        assert liar.seal_equivocations == []  # it does not report itself
        # One report was mined and removed it; the later ones reverted (AuthorityNotMember).
        chain = honest[0].chain
        event = keccak(
            text="AuthoritySealEquivocationReported(address,uint64,bytes32,bytes32,uint64,address)"
        )
        contract = bytes.fromhex(net.contracts["AuthoritySet"][2:])
        logs = chain.store.query_logs(0, 12, [contract], [[event]], 10)
        assert len(logs) == 1 and logs[0].topics[1][-20:] == offender
        step, hash_a, hash_b, effective = (
            int.from_bytes(logs[0].data[i * 32 : (i + 1) * 32], "big") for i in range(4)
        )
        assert step == 3 and hash_a != hash_b
        assert effective == logs[0].block_number + 1
        assert offender not in honest[0].finality.authorities_for(effective)
        assert offender in honest[0].finality.authorities_for(effective - 1)
        assert chain.head_header().block_number >= effective
    finally:
        net.close()


def test_an_authority_never_seals_a_step_twice_across_a_reorg_or_a_restart(
    net4: MemNet,
) -> None:
    net4.clock.advance_to(net4.aura.slot_ts(1))
    n1 = net4.nodes["n1"]
    assert n1.seal_step(1) is not None  # not yet final: the others have not voted
    sealed = n1.chain.head_header()
    assert sealer_of(sealed, net4.aura) == net4.aura.authorities[1] and step_of(sealed) == 1
    n1.chain.rewind_to(0)  # its block of step 1 is gone (as in a reorg)
    assert n1.seal_step(1) is None  # still step 1, its turn, on a head of step 0: no second seal
    assert n1.chain.head_header().block_number == 0
    n1.chain.close()
    reopened = EmbeddedChain(net4.tmp / "n1", net4.genesis, aura=net4.aura)
    try:
        restarted = Consensus(reopened, net4.aura, net4.keys[1], net4.clock, name="n1")
        restarted.attach(net4.nodes["n0"].network)  # type: ignore[arg-type]
        assert restarted.seal_step(1) is None
        assert restarted.seal_step(5) is not None  # its next turn
    finally:
        reopened.close()
        net4.nodes.pop("n1")
