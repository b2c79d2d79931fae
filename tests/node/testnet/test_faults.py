"""Faults with real processes: blocks forged by an admitted peer are refused by every honest
node with the offender logged; a peer whose Curve key is not on the allow-list gets nothing.

One 4-node testnet for the module. node4 is SIGKILLed; the test then speaks on the P2P network
as node4 (its Curve keys, its port) and holds every authority key, so it can seal anything. It
forges during steps that node4 proposes: the honest nodes have no block of their own for those
steps, so their head stays put while the forged blocks are checked against it.

Several blocks forged in one node4 step are also two seals by node4 at one step: the honest
nodes catch that equivocation, but run with the test-only "no-evidence" switch
(node.consensus.replica.TEST_FAULT_ENV), so they do not report it and node4 keeps its steps for
the next test (reporting is tested in test_finality_faults.py).
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import rlp
from eth.abc import BlockAPI
from eth_keys.datatypes import PrivateKey

from gridledger.contracts.typed import SECP256K1_N
from gridledger.node.config import load_config
from gridledger.node.consensus.engine import decode_block, encode_block
from gridledger.node.consensus.replica import TEST_FAULT_ENV
from gridledger.node.keys.authority import load_or_create_authority_key
from gridledger.node.keys.curve import load_or_create_curve_keys
from gridledger.node.ledger.embedded.aura import Aura, seal, sealer_of, step_of
from gridledger.node.ledger.embedded.chain import EmbeddedChain
from gridledger.node.ledger.embedded.genesis_file import load_genesis_file
from gridledger.node.p2p.peers import Peer
from gridledger.node.p2p.transport import Transport
from gridledger.node.p2p.wire import Block, Blocks, GetBlockByHash, GetBlocks, Message
from tests.node.consensus.forge import forged_blocks
from tests.node.testnet.harness import LocalTestnet, wait_for
from tests.node.txs import signed_transfer

HONEST = ("node1", "node2", "node3")
IMPERSONATED = "node4"
REQUEST_TIMEOUT_S = 2.0
FETCH_BLOCKS = 128
WINDOWS = 4
"""node4 steps tried before a test gives up (a window is lost if the heads disagree)."""
STEP_START_S = 0.05
"""How far into node4's step the test starts [s]: its slot is then not in the nodes' future."""
FAR_STEPS = 3600
BAD_NONCE_AHEAD = 7
BELOW_FINAL = "'s branch forks below our final block"
BAD_R = 2**256 - 1
"""A signature r beyond the secp256k1 group order: the transaction has no sender."""


class Impostor:
    """node4's P2P identity driven by the test, every authority key, and a scratch replica
    that follows node1's chain (fetched over the transport) to build blocks on its head."""

    def __init__(self, net: LocalTestnet, scratch_dir: Path) -> None:
        data_dir = net.data_dir
        config = load_config(data_dir / IMPERSONATED / "node.toml")
        self.peers = [Peer(p.name, p.endpoint, p.public_key.encode()) for p in config.peers]
        self.asked: list[tuple[str, bytes]] = []  # (node, hash) the honest nodes asked for
        self.transport = Transport(
            IMPERSONATED,
            load_or_create_curve_keys(data_dir / IMPERSONATED / "p2p"),
            f"tcp://127.0.0.1:{config.p2p_port}",
            self.peers,
            self._answer,
        )
        genesis, contracts = load_genesis_file(data_dir / "genesis.json")
        authorities = tuple(bytes.fromhex(a[2:]) for a in genesis.authorities)
        self.aura = Aura(
            authorities,
            genesis.period_s,
            genesis.timestamp_ts,
            genesis.chain_id,
            bytes.fromhex(contracts["AuthoritySet"][2:]),
        )
        self.keys: dict[bytes, PrivateKey] = {}
        for entry in net.entries:
            key = load_or_create_authority_key(data_dir / entry.name / "keystore")
            self.keys[bytes(key.public_key.to_canonical_address())] = key
            if entry.name == IMPERSONATED:
                self.own = bytes(key.public_key.to_canonical_address())
        self.chain = EmbeddedChain(scratch_dir, genesis, aura=self.aura)
        self.sender = net.account("node2", "prosumer")  # decrypted once: scrypt is slow

    def _answer(self, peer: str, message: Message) -> Message | None:
        if isinstance(message, GetBlockByHash):
            self.asked.append((peer, message.hash))
        return None

    def close(self) -> None:
        self.transport.stop()
        self.chain.close()

    def await_own_step(self) -> int:
        """Sleep until the next step node4 proposes has begun; that step."""
        step = self.aura.step_at(int(time.time())) + 1
        while self.aura.proposer(step) != self.own:
            step += 1
        time.sleep(max(0.0, self.aura.slot_ts(step) + STEP_START_S - time.time()))
        return step

    def follow(self, net: LocalTestnet) -> bool:
        """Bring the scratch replica to node1's head (rewinding what node1 does not hold);
        True if node1, node2 and node3 all have that head now."""
        while True:
            head = self.chain.head_header()
            number = int(head.block_number)
            reply = self.transport.request(
                "node1", GetBlocks(number, FETCH_BLOCKS), REQUEST_TIMEOUT_S
            )
            assert isinstance(reply, Blocks), f"node1 answered GetBlocks with {reply!r}"
            blocks = [decode_block(raw) for raw in reply.rlp]
            if not blocks or blocks[0].hash != head.hash:
                self.chain.rewind_to(number - 1)
                continue
            for block in blocks[1:]:
                self.chain.import_sealed_block(block, self.aura)
            if len(blocks) < FETCH_BLOCKS:
                break
        head_hash = "0x" + bytes(self.chain.head_header().hash).hex()
        return all(net.health(name).get("head_hash") == head_hash for name in HONEST)

    def own_block(self, step: int) -> BlockAPI:
        """node4's valid (empty) block of `step` on the scratch head; the scratch is rewound."""
        number = int(self.chain.head_header().block_number)
        block = self.chain.produce_sealed_block(self.aura, step, self.keys[self.own]).block
        self.chain.rewind_to(number)
        return block

    def send(self, block: BlockAPI) -> None:
        self.transport.broadcast(Block(encode_block(block)))


def _answer_nothing(peer: str, message: Message) -> Message | None:
    return None


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalTestnet, Impostor]]:
    root = tmp_path_factory.mktemp("faults")
    os.environ[TEST_FAULT_ENV] = ",".join(f"{name}:no-evidence" for name in HONEST)
    try:
        net = LocalTestnet(root / "tn", 4).up()
    finally:
        os.environ.pop(TEST_FAULT_ENV, None)
    impostor: Impostor | None = None
    try:
        wait_for("finality", lambda: (net.health("node1").get("finalized") or 0) >= 1, 30)
        pid = net.pid(IMPERSONATED)
        assert pid is not None, "node4 is not running"
        os.kill(pid, signal.SIGKILL)
        wait_for("node4 to exit", lambda: net.pid(IMPERSONATED) is None, 10)
        impostor = Impostor(net, root / "scratch")
        impostor.transport.start()
        yield net, impostor
    finally:
        if impostor is not None:
            impostor.close()
        net.down()


# ---------------------------------------------------------------- node views
def rpc(net: LocalTestnet, name: str, method: str, params: list[Any]) -> Any:
    reply = requests.post(
        f"{net.entry(name).url}/rpc",
        json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params},
        timeout=5,
    )
    body = reply.json()
    assert "error" not in body, f"{name} {method}: {body['error']}"
    return body["result"]


def block_by_hash(net: LocalTestnet, name: str, block_hash: bytes) -> Any:
    return rpc(net, name, "eth_getBlockByHash", ["0x" + block_hash.hex(), False])


def canonical_hash(net: LocalTestnet, name: str, number: int) -> str | None:
    block = rpc(net, name, "eth_getBlockByNumber", [hex(number), False])
    return None if block is None else str(block["hash"])


def offences(net: LocalTestnet, name: str) -> int:
    return int((net.health(name).get("rejected_blocks") or {}).get(IMPERSONATED, 0))


def honest_agree(net: LocalTestnet, number: int) -> bool:
    """node1..3 have finalized `number` and agree on its block."""
    if min(net.health(n).get("finalized") or 0 for n in HONEST) < number:
        return False
    return len({canonical_hash(net, n, number) for n in HONEST}) == 1


def judged(net: LocalTestnet, before: dict[str, int], count: int) -> Callable[[], bool]:
    """Whether every honest node has refused `count` more blocks from node4 than `before`."""
    return lambda: all(offences(net, n) >= before[n] + count for n in HONEST)


def adopted(net: LocalTestnet, block: BlockAPI) -> Callable[[], bool]:
    """Whether `block` is canonical on every honest node."""
    wanted = "0x" + bytes(block.hash).hex()
    return lambda: all(canonical_hash(net, n, int(block.number)) == wanted for n in HONEST)


def holds_until(check: Callable[[], bool], deadline_ts: float) -> bool:
    """Poll `check` until it holds (True) or the wall clock passes `deadline_ts` (False)."""
    while time.time() < deadline_ts:
        if check():
            return True
        time.sleep(0.1)
    return check()


# ---------------------------------------------------------------- forged blocks
def with_signature_r(raw: bytes, r: int) -> bytes:
    """A typed transaction `raw` with its signature's r replaced."""
    fields = rlp.decode(raw[1:])
    fields[-2] = r.to_bytes(32, "big")
    return raw[:1] + bytes(rlp.encode(fields))


@dataclass(frozen=True)
class Forgery:
    """The forged blocks of one node4 step and the reason each one must be refused with."""

    blocks: dict[str, BlockAPI]
    reasons: dict[str, str]


def forge(impostor: Impostor, step: int) -> Forgery:
    """Every kind of forged block for `step` on the scratch head (bad transactions from
    node2's prosumer account, which has sent nothing)."""
    aura = impostor.aura
    sender = impostor.sender
    nonce = impostor.chain.pending_nonce(bytes.fromhex(sender.address[2:]))
    bad_txs = {
        "bad transaction nonce": signed_transfer(sender, nonce + BAD_NONCE_AHEAD),
        "bad transaction signature": with_signature_r(signed_transfer(sender, nonce), BAD_R),
    }
    far = step + FAR_STEPS
    blocks = forged_blocks(impostor.chain, aura, impostor.keys, step, far, bad_txs)
    number = int(impostor.chain.head_header().block_number) + 1
    reasons = {}
    for kind in ("wrong proposer", "bad seal", "out-of-turn step"):
        header = blocks[kind].header
        sealed = step_of(header)
        reasons[kind] = (
            f"block {number}: step {sealed} sealed by 0x{sealer_of(header, aura).hex()}, "
            f"expected 0x{aura.proposer(sealed).hex()}"
        )
    executes = f"block {number} does not re-execute: "
    reasons["bad state root"] = executes + "Mismatch between locally executed block and proposed"
    reasons["bad transaction nonce"] = (
        f"{executes}Invalid transaction nonce: Expected {nonce}, but got {nonce + BAD_NONCE_AHEAD}"
    )
    reasons["bad transaction signature"] = f"{executes}Value {BAD_R} is not less than"
    reasons["future step"] = (
        f"block {number}: step {far} starts at {aura.slot_ts(far)}, in the future"
    )
    assert set(reasons) == set(blocks)
    return Forgery(blocks, reasons)


def test_forged_blocks_are_refused_by_every_honest_node_and_the_offender_logged(
    faulty: tuple[LocalTestnet, Impostor],
) -> None:
    net, impostor = faulty
    sent: list[BlockAPI] = []
    for _ in range(WINDOWS):
        step = impostor.await_own_step()
        if not impostor.follow(net):
            continue  # a head still travelling; try node4's next step
        forgery = forge(impostor, step)
        before = {name: offences(net, name) for name in HONEST}
        for block in forgery.blocks.values():
            impostor.send(block)
        sent += forgery.blocks.values()
        # Each refusal counts only if the block met the head it was forged on, that is before
        # the next step's honest block.
        expected = len(forgery.blocks)
        if holds_until(judged(net, before, expected), impostor.aura.slot_ts(step + 1) + 2.0):
            break
    else:
        pytest.fail(f"no node4 step in {WINDOWS} where every honest node judged every forgery")
    parent = int(forgery.blocks["bad seal"].number) - 1
    for name in HONEST:
        log = net.log(name)
        for kind, reason in forgery.reasons.items():
            assert f"rejected a block from peer {IMPERSONATED}: {reason}" in log, (name, kind)
        # Three of them (bad state root, bad transactions) are node4's seals at one step.
        assert f"equivocation by authority 0x{impostor.own.hex()}: two seals at step {step} " in log
        assert "submitted evidence" not in log  # the test switch: node4 stays
        for block in sent:
            assert block_by_hash(net, name, bytes(block.hash)) is None, (name, block.number)
    # The honest chain goes on past the forged height, and the three agree on it.
    wait_for("the honest nodes to finalize on", lambda: honest_agree(net, parent + 2), 20)
    for block in sent:
        assert all(block_by_hash(net, n, bytes(block.hash)) is None for n in HONEST)


def test_a_stranger_key_gets_no_answer_and_its_block_changes_nothing(
    faulty: tuple[LocalTestnet, Impostor], tmp_path: Path
) -> None:
    net, impostor = faulty
    keys = load_or_create_curve_keys(tmp_path / "stranger")
    refusal = f"Curve key {keys.public_z85.decode()} is not on the allow-list"

    # It claims node4's name and knows every honest node's public key; only its key differs.
    with Transport(
        IMPERSONATED, keys, "tcp://127.0.0.1:*", impostor.peers, _answer_nothing
    ) as stranger:
        # Its handshakes complete and are refused (ZMQ retries them every second) ...
        wait_for(
            "every honest node to log the refused key",
            lambda: all(refusal in net.log(n) for n in HONEST),
            10,
        )
        # ... so its requests get nothing, while the same request with node4's key does.
        for name in HONEST:
            assert stranger.request(name, GetBlocks(0, 1), REQUEST_TIMEOUT_S) is None, name
        answer = impostor.transport.request("node1", GetBlocks(0, 1), REQUEST_TIMEOUT_S)
        assert isinstance(answer, Blocks) and len(answer.rlp) == 1
        before = {name: offences(net, name) for name in HONEST}
        for _ in range(WINDOWS):
            step = impostor.await_own_step()
            if not impostor.follow(net):
                continue
            block = impostor.own_block(step)  # valid in every respect: node4's turn and key
            stranger.broadcast(Block(encode_block(block)))
            time.sleep(0.3)
            assert all(block_by_hash(net, n, bytes(block.hash)) is None for n in HONEST)
            # Control: the very same block through node4's admitted key becomes canonical.
            impostor.send(block)
            if holds_until(adopted(net, block), impostor.aura.slot_ts(step + 1) + 2.0):
                break
        else:
            pytest.fail(f"no node4 step in {WINDOWS} where node4's own block was adopted")
        # Not a frame ever came back to it: it heard from no peer.
        assert stranger.stats().frames_received == 0 and stranger.peers_alive() == []
    assert {name: offences(net, name) for name in HONEST} == before


def high_s_twin(block: BlockAPI) -> BlockAPI:
    """`block` with its seal's mirrored signature (r, n - s): same sealer, another hash."""
    extra = block.header.extra_data
    s_value = int.from_bytes(extra[40:72], "big")
    high_s = (SECP256K1_N - s_value).to_bytes(32, "big")
    return block.copy(
        header=block.header.copy(extra_data=extra[:40] + high_s + bytes([1 - extra[72]]))
    )


def on_unknown_parent(
    block: BlockAPI, parent: bytes, number: int, key: PrivateKey, aura: Aura
) -> BlockAPI:
    """`block` moved onto the unknown `parent` at height `number` and sealed with `key`."""
    header = block.header.copy(
        parent_hash=parent, block_number=number, extra_data=block.header.extra_data[:8]
    )
    return block.copy(header=header.copy(extra_data=seal(header, key, aura)))


def test_a_high_s_twin_and_junk_on_unknown_parents_are_refused_without_a_fetch(
    faulty: tuple[LocalTestnet, Impostor],
) -> None:
    net, impostor = faulty
    stranger = PrivateKey(b"\x77" * 32)
    own_key = impostor.keys[impostor.own]
    for _ in range(WINDOWS):
        step = impostor.await_own_step()
        if not impostor.follow(net):
            continue
        block = impostor.own_block(step)
        number = int(block.number)
        twin = high_s_twin(block)
        junk_parents = (b"\x01" * 32, b"\x02" * 32)
        junk = [
            on_unknown_parent(block, junk_parents[0], number + 1, stranger, impostor.aura),
            on_unknown_parent(block, junk_parents[1], number + 1000, own_key, impostor.aura),
        ]
        # Sealed right, but its unknown parent would sit at the height of our head, which the
        # authorities' votes made final a slot ago: it forks below finality, so not worth a
        # fetch either (with the older sealed-on-top rule it was).
        good_parent = b"\x03" * 32
        plausible = on_unknown_parent(block, good_parent, number, own_key, impostor.aura)
        before = {name: offences(net, name) for name in HONEST}
        below_before = {name: net.log(name).count(BELOW_FINAL) for name in HONEST}
        impostor.asked.clear()
        for forged in (twin, *junk, plausible):
            impostor.send(forged)
        if holds_until(judged(net, before, 3), impostor.aura.slot_ts(step + 1) + 2.0):
            break
    else:
        pytest.fail(f"no node4 step in {WINDOWS} where every honest node judged the blocks")

    wait_for(
        "every honest node to see the plausible block forks below finality",
        lambda: all(net.log(n).count(BELOW_FINAL) > below_before[n] for n in HONEST),
        10,
    )
    assert impostor.asked == []  # none of them cost a fetch
    stranger_address = stranger.public_key.to_canonical_address().hex()
    for name in HONEST:
        log = net.log(name)
        assert f"block {number}: seal s = " in log and "upper half of the curve order" in log
        assert f"block {number + 1}: sealed by 0x{stranger_address}, not step {step}'s" in log
        assert f"block {number + 1000} at step {step}: " in log
        assert "blocks above our final block" in log
        assert block_by_hash(net, name, bytes(twin.hash)) is None
