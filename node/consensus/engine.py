"""Aura consensus of one replica: sealing in turn, importing gossiped blocks, fork choice and
sync from peers.

Threads: the sealer wakes at every step and seals when this node is the step's proposer; the
worker imports gossiped blocks and transactions and syncs from peers that are ahead (so the
transport's thread never waits on block execution); the announcer broadcasts this replica's
status twice a second and re-gossips transactions still waiting in the pool. Requests for
blocks are answered on the transport's thread from the chain (read-only).

Rules (docs/architecture.md): proposer = authorities[step mod n]; each block is checked (seal, step,
proposer, slot timestamp, parent, not from the future) and re-executed (state, transaction and
receipt roots) before it is accepted; after a block becomes the head the node votes for it and
finality follows the votes (`finality.Finality`); fork choice is `forkchoice.prefer`; a reorg
puts the dropped transactions back into the pool; a rejected block's peer is logged as the
offender.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, Protocol

import rlp
from eth.abc import BlockAPI, BlockHeaderAPI

from gridledger.node.consensus.clock import Clock, WallClock
from gridledger.node.consensus.evidence import (
    Evidence,
    SealEquivocation,
    offender_of,
    submit_evidence,
)
from gridledger.node.consensus.finality import EVIDENCE_KEPT, Finality
from gridledger.node.consensus.forkchoice import ChainScore, prefer
from gridledger.node.consensus.orphans import (
    FetchBudget,
    OrphanError,
    check_ancestor,
    check_orphan,
)
from gridledger.node.consensus.schedule import AuthoritySchedule
from gridledger.node.errors import LedgerError
from gridledger.node.ledger.embedded.aura import (
    NO_AUTHORITY_SET,
    STEP_BYTES,
    Aura,
    GridledgerVM,
    SealError,
    check_seal,
    seal,
    seal_hash,
    sealer_of,
    step_of,
)
from gridledger.node.ledger.embedded.chain import EmbeddedChain, TransactionRejectedError
from gridledger.node.ledger.votes import Vote, VoteError, VoteKind
from gridledger.node.p2p.bytequeue import ByteQueue
from gridledger.node.p2p.throttle import LogThrottle
from gridledger.node.p2p.wire import (
    Block,
    Blocks,
    GetBlockByHash,
    GetBlocks,
    Message,
    Status,
    Tx,
    VoteMessage,
)

log = logging.getLogger(__name__)

FUTURE_TOLERANCE_S = 1.0
"""How far ahead of our clock a block's slot may be [s] (clock skew between nodes)."""
HOLD_FUTURE_STEPS = 8
"""A block up to this many steps ahead of our clock is held until its slot comes (a peer's
clock ran ahead, e.g. the simulation's time reached it first); further ahead it is refused."""
REQUEST_TIMEOUT_S = 2.0
SEALS_KEPT = 1024
"""(step, sealer) pairs remembered to catch two seals in one step (oldest dropped first)."""
LAST_SEALED_META = "aura_last_sealed_step"
"""The last step this authority sealed, stored before it seals: a restarted node (or one whose
block was reorganised away) never seals a step twice, which AuthoritySet would punish."""
MAX_REORG_BLOCKS = 4096
"""Longest branch fetched back from a peer to find the common ancestor [blocks]."""
BLOCKS_PER_REQUEST = 128
QUEUE_MAX_ITEMS = 10_000
QUEUE_MAX_BYTES = 64 * 2**20
"""Gossiped blocks and transactions waiting for the worker [bytes]; beyond, they are dropped
(a block is fetched again by sync, a transaction re-gossiped by its sender)."""
STATUS_PERIOD_S = 0.5
REGOSSIP_PERIOD_S = 3.0
REGOSSIP_MAX_TXS = 256
BUILD_SHARE_OF_PERIOD = 0.5
"""A proposer on the wall clock starts no transaction after this share of the period has gone
into its block (the first excepted): the other replicas must re-execute the block, and the
next proposer build its own, within the following slot. Measured on 1, 3 and 4 nodes sharing
2 cores (BENCHMARKS.md, "Testnet"): 0.5 finalized more than no limit (blocks too long to
re-execute in time) and than 0.3 (blocks too small). A transaction still running at that
point is aborted; the first of a block leaves the pool (EmbeddedChain.produce_sealed_block)."""
IMPORT_SHARE_OF_PERIOD = 1.0
"""A replica on the wall clock refuses a peer's block whose re-execution takes longer than
this share of the period (its slot): twice what its proposer may spend building it, so only a
block built past the rules (or on a far faster machine) is refused; the refusal is logged as
the peer's offence ("block N does not re-execute: execution timeout after ...")."""


class Network(Protocol):
    """What consensus needs of the transport (node.p2p.transport.Transport)."""

    def broadcast(self, message: Message) -> None: ...

    def request(self, peer: str, message: Message, timeout_s: float) -> Message | None: ...

    def peers_alive(self) -> list[str]: ...


@dataclass(frozen=True, slots=True)
class PeerStatus:
    head_number: int
    head_hash: bytes
    finalized_number: int


class RejectedBlockError(LedgerError):
    """A peer's block or branch breaks a rule; the message says which."""


def encode_block(block: BlockAPI) -> bytes:
    return bytes(rlp.encode(block))


def decode_block(data: bytes) -> BlockAPI:
    try:
        block: BlockAPI = rlp.decode(data, sedes=GridledgerVM.get_block_class())
    except Exception as exc:
        raise RejectedBlockError(f"block does not decode: {exc}") from exc
    return block


class Consensus:
    """One replica's consensus. `key` is this node's authority key (None: follow only)."""

    def __init__(
        self,
        chain: EmbeddedChain,
        aura: Aura,
        key: Any | None,
        clock: Clock,
        name: str = "node",
        authority_set: bytes | None = None,
    ) -> None:
        self.chain = chain
        self.aura = aura
        self.schedule = AuthoritySchedule(chain, aura, authority_set)
        self.finality = Finality(chain, self.schedule, key, name)
        self.key = key
        self.address = bytes(key.public_key.to_canonical_address()) if key is not None else None
        self.clock = clock
        self.name = name
        domain = (chain.genesis.chain_id, authority_set or NO_AUTHORITY_SET)
        if (aura.chain_id, aura.authority_set) != domain:
            raise LedgerError(
                f"Aura seals for chain {aura.chain_id} and AuthoritySet "
                f"0x{aura.authority_set.hex()}, the chain is {domain[0]} with 0x{domain[1].hex()}"
            )
        self.network: Network | None = None
        self.genesis_hash = bytes(chain.header_by_number(0).hash)
        self.peers: dict[str, PeerStatus] = {}
        self.rejected: dict[str, int] = {}  # peer -> blocks rejected (offences)
        self.rejected_votes: dict[str, int] = {}  # peer -> votes refused
        self._evidence_reported = 0  # finality.evidence[:n] went to AuthoritySet
        self._seal_evidence_reported = 0  # seal_equivocations[:n] too
        self._reported: set[bytes] = set()  # offenders reported
        # (step, sealer) -> (bare header hash, seal, block hash) of the first block seen
        self._seals: dict[tuple[int, bytes], tuple[bytes, bytes, bytes]] = {}
        self.seal_equivocations: list[SealEquivocation] = []
        stored = chain.store.get_meta(LAST_SEALED_META)
        self._last_sealed = int(stored) if stored is not None else -1
        self.submits_evidence = True
        """Whether equivocations caught go to AuthoritySet (False: a test switch)."""
        self.extra_seal: Callable[[BlockAPI], BlockAPI | None] | None = None
        """Test hook: a second block to seal and send beside each of ours (an equivocating
        proposer)."""
        self.foreign_peers: set[str] = set()  # peers announcing another genesis
        self.reorgs = 0
        self._queue: ByteQueue[tuple[str, str, Any]] = ByteQueue(QUEUE_MAX_BYTES, QUEUE_MAX_ITEMS)
        self._sync_wanted: set[str] = set()
        self._stale_tips: dict[str, bytes] = {}
        self._held: dict[bytes, tuple[float, str, bytes]] = {}
        self._fetch_budget = FetchBudget()
        self._throttle = LogThrottle(log)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        chain.tx_listeners.append(self._announce_tx)

    # ------------------------------------------------------------ life cycle
    def attach(self, network: Network) -> None:
        self.network = network

    def start(self) -> None:
        for target, name in (
            (self._seal_loop, "sealer"),
            (self._work_loop, "consensus-worker"),
            (self._announce_loop, "announcer"),
        ):
            thread = threading.Thread(target=target, name=f"{self.name}-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)

    # ------------------------------------------------------------ views
    def score(self) -> ChainScore:
        with self.chain.lock:
            return ChainScore(self.chain.finalized_number(), self.chain.head_header().block_number)

    def aura_after(self, parent: BlockHeaderAPI) -> Aura:
        """The Aura parameters (authority set) in force for the block on top of `parent`."""
        return self.schedule.for_child_of(parent)

    def _import(self, block: BlockAPI) -> None:
        """Check and re-execute `block` on top of the head (within the import budget)."""
        self.chain.import_sealed_block(
            block, self.aura_after(self.chain.head_header()), self._import_budget_s()
        )

    def status_message(self) -> Status:
        with self.chain.lock:
            head = self.chain.head_header()
            return Status(
                head_number=int(head.block_number),
                head_hash=bytes(head.hash),
                finalized_number=self.chain.finalized_number(),
                genesis_hash=self.genesis_hash,
            )

    # ------------------------------------------------------------ transport handler
    def handle(self, peer: str, message: Message) -> Message | None:
        """Called by the transport for every valid message; returns the reply to requests."""
        if isinstance(message, Status):
            self._on_status(peer, message)
        elif isinstance(message, Tx):
            self._enqueue("tx", peer, message.raw)
        elif isinstance(message, Block):
            self._enqueue("block", peer, message.rlp)
        elif isinstance(message, VoteMessage):
            try:
                vote = Vote(
                    VoteKind(message.kind), message.height, message.block_hash, message.signature
                )
            except (ValueError, VoteError):
                return None
            self._enqueue("vote", peer, vote)
        elif isinstance(message, GetBlocks):
            with self.chain.lock:  # as many blocks as fit one frame, encoded only so far
                return Blocks.fitting(self._canonical_rlp(message.from_number, message.count))
        elif isinstance(message, GetBlockByHash):
            block = self.chain.block_by_hash(message.hash)
            return Blocks.fitting((encode_block(block),) if block is not None else ())
        return None

    def _on_status(self, peer: str, status: Status) -> None:
        if status.genesis_hash != self.genesis_hash:
            if peer not in self.foreign_peers:
                log.warning(
                    "peer %s runs another chain (genesis 0x%s, ours 0x%s); ignoring it",
                    peer,
                    status.genesis_hash.hex()[:12],
                    self.genesis_hash.hex()[:12],
                )
            self.foreign_peers.add(peer)
            return
        self.peers[peer] = PeerStatus(status.head_number, status.head_hash, status.finalized_number)
        theirs = ChainScore(status.finalized_number, status.head_number)
        if theirs > self.score() and self._stale_tips.get(peer) != status.head_hash:
            self._enqueue("sync", peer, None)

    def _canonical_rlp(self, from_number: int, count: int) -> Iterator[bytes]:
        """Canonical blocks from `from_number`, encoded as read (the caller holds the lock)."""
        head = int(self.chain.head_header().block_number)
        for number in range(from_number, min(from_number + count, head + 1)):
            yield encode_block(self.chain.block_by_number(number))

    def _enqueue(self, kind: str, peer: str, payload: Any) -> None:
        if kind == "sync":
            if peer in self._sync_wanted:
                return
            self._sync_wanted.add(peer)
        size_bytes = len(payload) if isinstance(payload, bytes) else 0
        if isinstance(payload, Vote):
            size_bytes = len(payload.signature) + len(payload.block_hash) + 8
        if not self._queue.put_nowait((kind, peer, payload), size_bytes):
            log.warning(
                "consensus queue full (%d items, %d bytes); dropped a %s of %d bytes from %s",
                len(self._queue),
                self._queue.bytes_held,
                kind,
                size_bytes,
                peer,
            )
            self._sync_wanted.discard(peer)

    # ------------------------------------------------------------ transactions
    def _announce_tx(self, raw: bytes) -> None:
        if self.network is not None:
            self.network.broadcast(Tx(raw))

    def _on_tx(self, peer: str, raw: bytes) -> None:
        try:
            self.chain.submit_raw(raw, announce=False)
        except TransactionRejectedError as exc:
            log.debug("transaction from %s not pooled: %s", peer, exc)

    # ------------------------------------------------------------ sealing
    def _seal_loop(self) -> None:
        last_step = -1
        while not self._stop.is_set():
            step = self.aura.step_at(int(self.clock.now_ts()))
            if step > last_step:
                last_step = step
                self.seal_step(step)
            if not self.clock.wait_until(self.aura.slot_ts(step + 1), self._stop):
                return

    def _build_budget_s(self) -> float | None:
        """Wall-clock seconds a block may take to build; none in simulation time (the
        simulation waits for the block before moving on)."""
        if isinstance(self.clock, WallClock):
            return self.aura.period_s * BUILD_SHARE_OF_PERIOD
        return None

    def _import_budget_s(self) -> float | None:
        """Wall-clock seconds a peer's block may take to re-execute; none in simulation time."""
        if isinstance(self.clock, WallClock):
            return self.aura.period_s * IMPORT_SHARE_OF_PERIOD
        return None

    def seal_step(self, step: int) -> BlockAPI | None:
        """Seal and broadcast the block of `step` if this node is its proposer and the head
        is older; the block, or None."""
        if self.key is None or self.network is None:
            return None
        with self.chain.lock:
            head = self.chain.head_header()
            number = int(head.block_number) + 1
            aura = self.aura_after(head)
            if step <= step_of(head) or aura.proposer(step) != self.address:
                return None
            if step <= self._last_sealed:  # sealed before a restart or a reorg
                log.warning("not sealing step %d: step %d sealed already", step, self._last_sealed)
                return None
            self.chain.store.put_meta(LAST_SEALED_META, str(step))
            self._last_sealed = step
            try:
                mined = self.chain.produce_sealed_block(
                    aura, step, self.key, self._build_budget_s()
                )
            except Exception:
                log.exception("sealing block %d at step %d failed", number, step)
                return None
        log.debug("sealed block %d at step %d", number, step)
        self._note_seal(mined.block.header)
        self.network.broadcast(Block(encode_block(mined.block)))
        if self.extra_seal is not None:
            extra = self.extra_seal(mined.block)
            if extra is not None:
                self.network.broadcast(Block(encode_block(extra)))
        self._vote_and_finalize()
        return mined.block

    def equivocation_block(self, block: BlockAPI) -> BlockAPI | None:
        """A second block for `block`'s step, sealed by us too (test hook `extra_seal`): the
        same block with a gas limit one lower, a valid sibling with another header."""
        if self.key is None:
            return None
        header = block.header.copy(gas_limit=block.header.gas_limit - 1)
        return block.copy(header=header.copy(extra_data=seal(header, self.key, self.aura)))

    # ------------------------------------------------------------ finality votes
    def _vote_and_finalize(self, new_vote: VoteKind | None = None) -> None:
        """Prevote for our head, precommit and finalize as the votes allow
        (node.consensus.finality), and send our new votes."""
        if self.network is None:
            return
        for vote in self.finality.step(len(self.network.peers_alive()), new_vote):
            self.network.broadcast(_vote_message(vote))
        self._report_evidence()

    def _report_evidence(self) -> None:
        """Submit each new equivocation, of votes or of seals, to AuthoritySet (once per
        offender; needs an authority key)."""
        new: list[Evidence] = [
            *self.finality.evidence[self._evidence_reported :],
            *self.seal_equivocations[self._seal_evidence_reported :],
        ]
        self._evidence_reported = len(self.finality.evidence)
        self._seal_evidence_reported = len(self.seal_equivocations)
        contract = self.schedule.contract
        if contract is None or self.key is None or self.finality.key is None:
            return
        if not self.submits_evidence:
            return
        for evidence in new:
            offender = offender_of(evidence)
            if offender != self.address and offender not in self._reported:
                self._reported.add(offender)  # one report removes it; once is enough
                submit_evidence(self.chain, self.key, contract, evidence)

    def _on_vote(self, peer: str, vote: Vote) -> None:
        try:
            new = self.finality.add_vote(vote)
        except VoteError as exc:
            self.rejected_votes[peer] = self.rejected_votes.get(peer, 0) + 1
            self._throttle.warning(f"vote:{peer}", "refused a vote from peer %s: %s", peer, exc)
            return
        if new:
            self._vote_and_finalize(vote.kind)
        elif self.finality.evidence[self._evidence_reported :]:
            self._report_evidence()

    # ------------------------------------------------------------ gossip and sync
    def _work_loop(self) -> None:
        while not self._stop.is_set():
            try:
                item = self._queue.get(0.01 if self._held else 0.2)
            except queue.Empty:
                self._release_held()
                continue
            self._process(*item)
            self._release_held()

    def drain(self) -> int:
        """Process every queued message now (tests and simulation mode); how many."""
        done = 0
        while True:
            self._release_held()
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return done
            self._process(*item)
            done += 1

    def _release_held(self) -> None:
        """Queue the held blocks whose slot has come."""
        if not self._held:
            return
        now_ts = self.clock.now_ts() + FUTURE_TOLERANCE_S
        due = [k for k, (slot_ts, _, _) in self._held.items() if slot_ts <= now_ts]
        for key in due:
            _, peer, data = self._held.pop(key)
            self._process("block", peer, data)

    def _hold_if_early(self, block: BlockAPI, peer: str, data: bytes) -> bool:
        """Hold a block whose slot is a little ahead of our clock; True if held."""
        slot_ts = self.aura.slot_ts(step_of(block.header))
        now_ts = self.clock.now_ts()
        if slot_ts <= now_ts + FUTURE_TOLERANCE_S:
            return False
        if slot_ts > now_ts + HOLD_FUTURE_STEPS * self.aura.period_s or len(self._held) > 64:
            return False  # refused by the checks, as a block from the future
        self._held[bytes(block.hash)] = (slot_ts, peer, data)
        return True

    def _process(self, kind: str, peer: str, payload: Any) -> None:
        try:
            if kind == "tx":
                self._on_tx(peer, payload)
            elif kind == "block":
                try:
                    self._on_block(peer, payload)
                finally:  # a second seal is evidence even if its block is refused
                    self._report_evidence()
                self._vote_and_finalize()
            elif kind == "vote":
                self._on_vote(peer, payload)
            elif kind == "sync":
                self._sync_wanted.discard(peer)
                self._sync_from(peer)
                self._vote_and_finalize()
        except RejectedBlockError as exc:
            self._offence(peer, str(exc))
        except Exception:
            log.exception("handling a %s from %s failed", kind, peer)

    def _offence(self, peer: str, reason: str) -> None:
        self.rejected[peer] = self.rejected.get(peer, 0) + 1
        log.warning("rejected a block from peer %s: %s", peer, reason)

    def _note_seal(self, header: BlockHeaderAPI) -> None:
        """Remember who sealed which header at each step; a second seal by the same authority
        at one step over another header is an equivocation: logged, and evidence for
        AuthoritySet (`_report_evidence`), once per step and sealer."""
        try:
            sealer = sealer_of(header, self.aura)
        except SealError:
            return  # refused (and its peer named) by the checks
        step = step_of(header)
        with self.chain.lock:
            proposer = self.aura_after(self.chain.head_header()).proposer(step)
        if sealer != proposer:
            return  # not that step's proposer (a stranger's key): refused by the checks
        key = (step, sealer)
        seen = self._seals.get(key)
        ours = (seal_hash(header), bytes(header.extra_data[STEP_BYTES:]), bytes(header.hash))
        if seen is None:
            self._seals[key] = ours
            if len(self._seals) > SEALS_KEPT:
                self._seals.pop(next(iter(self._seals)))
            return
        if seen[0] == ours[0] or len(self.seal_equivocations) >= EVIDENCE_KEPT:
            return  # the same header (a copy of the block)
        if any(e.step == step and e.sealer == sealer for e in self.seal_equivocations):
            return  # a third block: one piece of evidence is enough
        self.seal_equivocations.append(
            SealEquivocation(
                sealer,
                step,
                (seen[0], ours[0]),
                (seen[1], ours[1]),
                (seen[2], ours[2]),
            )
        )
        log.warning(
            "equivocation by authority 0x%s: two seals at step %d (blocks 0x%s and 0x%s)",
            sealer.hex(),
            step,
            seen[2].hex()[:12],
            ours[2].hex()[:12],
        )

    def _on_block(self, peer: str, data: bytes) -> None:
        block = decode_block(data)
        self._note_seal(block.header)
        if self.chain.is_canonical(block.hash) or self._hold_if_early(block, peer, data):
            return
        with self.chain.lock:
            head = self.chain.head_header()
        if block.header.parent_hash == head.hash:
            self._adopt([block], peer)
            return
        parent = self.chain.block_by_hash(block.header.parent_hash)
        if parent is not None:
            # A sibling or a block on a side branch we hold: check it even if fork choice
            # will not take it, so a forger is always named.
            self._check_block(block.header, parent.header)
        if block.number > head.block_number:
            branch = self._fetch_branch(peer, [block])
            if branch:
                self._adopt(branch, peer)
            else:
                log.info("block %d from %s: could not fetch its ancestors", block.number, peer)

    def _sync_from(self, peer: str) -> None:
        """Fetch and adopt the peer's chain while it scores above ours."""
        if self.network is None:
            return
        for _ in range(10_000):
            status = self.peers.get(peer)
            ours = self.score()
            if status is None or ChainScore(status.finalized_number, status.head_number) <= ours:
                return
            if status.head_number > ours.head:
                start = ours.head + 1
                count = min(BLOCKS_PER_REQUEST, status.head_number - ours.head)
            else:  # shorter but more finalized: fetch its tip and walk back
                start, count = status.head_number, 1
            reply = self.network.request(peer, GetBlocks(start, count), REQUEST_TIMEOUT_S)
            if not isinstance(reply, Blocks) or not reply.rlp:
                return
            blocks = [decode_block(raw) for raw in reply.rlp]
            _check_linked(blocks, start)
            branch = self._fetch_branch(peer, blocks)
            if not branch:
                self._stale_tips[peer] = status.head_hash
                return
            if not self._adopt(branch, peer):
                self._stale_tips[peer] = status.head_hash
                return

    def _fetch_branch(self, peer: str, blocks: list[BlockAPI]) -> list[BlockAPI]:
        """`blocks` without those we already hold canonically, extended back (by hash, from
        the peer) to the first block whose parent is on our canonical chain. What can be
        checked is checked before each fetch, and fetches are rate-limited per peer
        (`node.consensus.orphans`)."""
        branch = list(blocks)
        while branch and self.chain.is_canonical(branch[0].hash):
            branch.pop(0)
        if not branch or self.chain.is_canonical(branch[0].header.parent_hash):
            return branch
        with self.chain.lock:
            head = self.chain.head_header()
            finalized = self.chain.finalized_number()
            aura = self.aura_after(head)
        if self.chain.block_by_hash(branch[0].header.parent_hash) is None:
            final = self.chain.header_by_number(finalized)
            self._check(check_orphan, branch[0].header, final, aura, self._horizon_ts())
        while branch and not self.chain.is_canonical(branch[0].header.parent_hash):
            if len(branch) >= MAX_REORG_BLOCKS or self.network is None:
                log.warning("peer %s's branch forks more than %d blocks back", peer, len(branch))
                return []
            if branch[0].number - 1 <= finalized:
                log.info("peer %s's branch forks below our final block %d", peer, finalized)
                return []
            if not self._fetch_budget.take(peer):
                self._throttle.warning(
                    f"fetch:{peer}",
                    "peer %s: ancestor fetches over %.0f a second; branch dropped",
                    peer,
                    self._fetch_budget.rate_per_s,
                )
                return []
            wanted = bytes(branch[0].header.parent_hash)
            reply = self.network.request(peer, GetBlockByHash(wanted), REQUEST_TIMEOUT_S)
            if not isinstance(reply, Blocks) or not reply.rlp:
                return []
            parent = decode_block(reply.rlp[0])
            self._check(check_ancestor, parent.header, branch[0].header, aura)
            branch.insert(0, parent)
        return branch

    def _horizon_ts(self) -> float:
        return self.clock.now_ts() + FUTURE_TOLERANCE_S

    @staticmethod
    def _check(rule: Callable[..., None], *args: Any) -> None:
        try:
            rule(*args)
        except OrphanError as exc:
            raise RejectedBlockError(str(exc)) from exc

    def _check_block(self, header: BlockHeaderAPI, parent: BlockHeaderAPI) -> None:
        step_ts = self.aura.slot_ts(step_of(header))
        if step_ts > self.clock.now_ts() + FUTURE_TOLERANCE_S:
            raise RejectedBlockError(
                f"block {header.block_number}: step {step_of(header)} starts at {step_ts}, "
                f"in the future (now {self.clock.now_ts():.0f})"
            )
        try:
            check_seal(header, parent, self.aura_after(parent))
        except SealError as exc:
            raise RejectedBlockError(str(exc)) from exc

    def _adopt(self, branch: list[BlockAPI], peer: str) -> bool:
        """Switch to `branch` (ascending; its first block's parent is canonical here) if fork
        choice prefers it; re-execute every block. True if the chain changed."""
        with self.chain.lock:
            fork = self.chain.chain.get_block_header_by_hash(branch[0].header.parent_hash)
            head = self.chain.head_header()
            current = ChainScore(self.chain.finalized_number(), int(head.block_number))
            # Seals are checked up front where the parent's state is held (the authority set
            # comes from it); deeper blocks are checked as they are imported.
            self._check_block(branch[0].header, fork)
            if fork.hash != head.hash:
                candidate = ChainScore(
                    self.finality.finalized_on_branch(branch, fork),
                    int(branch[-1].header.block_number),
                )
                if not prefer(candidate, current, int(fork.block_number)):
                    return False
                return self._reorg(branch, fork, head, peer)
            return self._extend(branch, peer)

    def _extend(self, branch: Iterable[BlockAPI], peer: str) -> bool:
        changed = False
        for block in branch:
            try:
                self._import(block)
            except Exception as exc:
                self._offence(peer, _refusal(block, exc))
                return changed
            changed = True
        return changed

    def _reorg(
        self, branch: list[BlockAPI], fork: BlockHeaderAPI, head: BlockHeaderAPI, peer: str
    ) -> bool:
        fork_number = int(fork.block_number)
        old = [self.chain.block_by_number(n) for n in range(fork_number + 1, head.block_number + 1)]
        self.chain.rewind_to(fork_number, repool=True)
        complete = len(branch)
        for index, block in enumerate(branch):
            try:
                self._import(block)
            except Exception as exc:
                self._offence(peer, _refusal(block, exc))
                complete = index
                break
        if complete < len(branch) and self.score() <= ChainScore(
            self.chain.finalized_number(), int(head.block_number)
        ):
            # The branch broke half-way and is no better: back to our own blocks.
            self.chain.rewind_to(fork_number, repool=True)
            for block in old:
                self._import(block)
            return False
        self.reorgs += 1
        log.info(
            "reorg at block %d: dropped %d blocks, adopted %d from %s",
            fork_number,
            len(old),
            complete,
            peer,
        )
        return True

    # ------------------------------------------------------------ announcing
    def _announce_loop(self) -> None:
        last_regossip = time.monotonic()
        while not self._stop.wait(STATUS_PERIOD_S):
            if self.network is None:
                continue
            try:
                self.network.broadcast(self.status_message())
                if time.monotonic() - last_regossip >= REGOSSIP_PERIOD_S:
                    last_regossip = time.monotonic()
                    for last_vote in self.finality.last.values():
                        if last_vote is not None:  # for peers that missed it or restarted
                            self.network.broadcast(_vote_message(last_vote))
                    with self.chain.lock:
                        waiting = list(self.chain.pool.values())[:REGOSSIP_MAX_TXS]
                    for tx in waiting:
                        self.network.broadcast(Tx(tx.encode()))
            except Exception:
                log.exception("announcing failed")


def _vote_message(vote: Vote) -> VoteMessage:
    return VoteMessage(int(vote.kind), vote.height, vote.block_hash, vote.signature)


def _check_linked(blocks: list[BlockAPI], start: int) -> None:
    if blocks[0].number != start:
        raise RejectedBlockError(f"asked for blocks from {start}, got {blocks[0].number}")
    for prev, block in pairwise(blocks):
        if block.header.parent_hash != prev.hash:
            raise RejectedBlockError(f"block {block.number} does not follow block {prev.number}")


def _refusal(block: BlockAPI, exc: Exception) -> str:
    if isinstance(exc, SealError):
        return str(exc)
    return f"block {block.number} does not re-execute: {exc}"
