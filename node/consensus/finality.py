"""Finality by authority votes: one replica's vote books, its own votes and its final block.

Rules (docs/testnet.md, "Finality"), in two phases as Tendermint and GRANDPA:
- Prevote: after importing and re-executing a block that became its head, an authority
  prevotes for it, at a height above its last prevote.
- Precommit: when authorities holding more than two thirds of the set in force have prevoted
  for a block on our chain or for descendants of it, an authority precommits the highest such
  block, at a height above its last precommit, and only if it descends its last precommit
  (its lock) -- unless a final block we hold conflicts with the lock; then the lock yields.
- A block is final when more than two thirds have precommitted it or a descendant (on our
  canonical chain); those precommits are its justification, stored with the block
  (`EmbeddedChain.record_justification`).
- Two votes of one kind from one authority at one height for different blocks are evidence
  of equivocation (`Equivocation`); an honest node never makes them (its heights go up).
- An authority votes only while it hears from enough authorities to make a quorum, so a node
  cut off in a minority casts nothing it would later be held to.

Safety with at most f = floor((n - 1) / 3) faulty authorities rests on the precommit rules
alone (the argument is in docs/testnet.md); prevotes only keep authorities from locking on a
branch nobody else follows (after a partition with no quorum on either side, no one locked).
Every vote is sent to every peer, and our last vote of each kind again every 3 s (late peers).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import rlp
from eth.abc import BlockAPI, BlockHeaderAPI
from eth_keys.datatypes import PrivateKey
from eth_utils.crypto import keccak

from gridledger.node.consensus.schedule import AuthoritySchedule
from gridledger.node.ledger.embedded.chain import EmbeddedChain
from gridledger.node.ledger.votes import (
    NO_AUTHORITY_SET,
    Justification,
    Vote,
    VoteError,
    VoteKind,
    quorum,
    sign_vote,
    voter_of,
)

log = logging.getLogger(__name__)

MAX_VOTE_HEIGHTS_AHEAD = 256
"""How far above our head a vote may be [blocks]; kept until its block arrives (a peer ahead)."""
VOTE_HEIGHTS_KEPT_BELOW_FINAL = 64
"""Heights below our final block whose votes are kept, to catch late equivocations [blocks]."""
SEEN_VOTES = 4096
"""Recent votes remembered as received, so a copy (votes are sent again for late peers)
costs a lookup, not a signature recovery."""
EVIDENCE_KEPT = 1024
"""Equivocations held (served by /v1/finality); one removes an offender on a chain with
AuthoritySet, so more are only kept where nothing removes it, and there not without end."""
LAST_VOTE_META = {VoteKind.PREVOTE: "finality_last_prevote", VoteKind.PRECOMMIT: "finality_lock"}

Book = dict[bytes, dict[int, Vote]]  # voter -> height -> vote


@dataclass(frozen=True, slots=True)
class Equivocation:
    """Two votes of one kind by `voter` for different blocks at one height: a fault."""

    voter: bytes
    first: Vote
    second: Vote


class Finality:
    """Votes and finality for one replica; `key` is its authority key (None: count only).
    Every method takes the chain lock; the consensus worker calls them."""

    def __init__(
        self,
        chain: EmbeddedChain,
        schedule: AuthoritySchedule,
        key: PrivateKey | None,
        name: str = "node",
    ) -> None:
        self.chain = chain
        self.schedule = schedule
        self.key = key
        self.name = name
        self.address = bytes(key.public_key.to_canonical_address()) if key is not None else None
        self.chain_id = chain.genesis.chain_id
        self.authority_set = schedule.contract or NO_AUTHORITY_SET
        """The vote domain's verifying contract (node.ledger.votes.vote_digest)."""
        chain.vote_domain = self.authority_set
        self._books: dict[VoteKind, Book] = {VoteKind.PREVOTE: {}, VoteKind.PRECOMMIT: {}}
        self.evidence: list[Equivocation] = []
        self._evidence_seen: set[tuple[bytes, VoteKind, int]] = set()  # voter, kind, height
        self.last: dict[VoteKind, Vote | None] = {k: self._load_last(k) for k in VoteKind}
        self._seen: OrderedDict[Vote, None] = OrderedDict()
        self._cache_version = -1
        self._hashes: dict[int, bytes] = {}
        self._sets: dict[int, tuple[bytes, ...]] = {}
        self.votes_received = 0  # from peers, copies included
        self.votes_checked = 0  # signatures recovered
        self.extra_vote: Callable[[Vote], Vote | None] | None = None
        """Test hook: a second vote to send beside each of ours (an equivocating node)."""

    @property
    def last_vote(self) -> Vote | None:
        """Our last precommit (our lock)."""
        return self.last[VoteKind.PRECOMMIT]

    def _load_last(self, kind: VoteKind) -> Vote | None:
        stored = self.chain.store.get_meta(LAST_VOTE_META[kind])
        if stored is None:
            return None
        height, block_hash, signature = stored.split(":")
        return Vote(kind, int(height), bytes.fromhex(block_hash), bytes.fromhex(signature))

    def _cached(self) -> tuple[dict[int, bytes], dict[int, tuple[bytes, ...]]]:
        """Canonical hashes and authority sets by block number, for the current chain (a vote
        triggers several look-ups of the same few blocks)."""
        if self._cache_version != self.chain.changes:
            self._cache_version = self.chain.changes
            self._hashes.clear()
            self._sets.clear()
        return self._hashes, self._sets

    def authorities_for(self, number: int) -> tuple[bytes, ...]:
        """The set in force for canonical block `number` (>= 1)."""
        with self.chain.lock:
            sets = self._cached()[1]
            found = sets.get(number)
            if found is None:
                parent = self.chain.header_by_number(number - 1)
                found = sets[number] = self.schedule.for_child_of(parent).authorities
            return found

    def _canonical_hash(self, number: int) -> bytes:
        hashes = self._cached()[0]
        found = hashes.get(number)
        if found is None:
            found = hashes[number] = bytes(self.chain.header_by_number(number).hash)
        return found

    # ------------------------------------------------------------ one round of work
    def step(self, peers_alive: int, new_vote: VoteKind | None = None) -> list[Vote]:
        """Prevote for our head, precommit what the prevotes justify, and finalize what the
        precommits justify, as far as the rules allow; the votes to send (persisted first,
        so a restarted node never votes twice at one height). `new_vote`: the kind of the
        peer's vote that prompted this (None: our chain changed), to skip what it cannot move."""
        out: list[Vote] = []
        with self.chain.lock:
            if self._may_vote(peers_alive):
                head = self.chain.head_header()
                out += self._cast(VoteKind.PREVOTE, int(head.block_number), bytes(head.hash))
                if new_vote is not VoteKind.PRECOMMIT:
                    floor = self._floor(VoteKind.PRECOMMIT)
                    polka = self._justified(VoteKind.PREVOTE, floor)
                    if polka is not None and self._may_leave_lock():
                        hash_ = self._canonical_hash(polka)
                        out += self._cast(VoteKind.PRECOMMIT, polka, hash_)
            if new_vote is not VoteKind.PREVOTE or any(v.kind is VoteKind.PRECOMMIT for v in out):
                self.update()
        return out

    def _may_vote(self, peers_alive: int) -> bool:
        if self.key is None or self.address is None:
            return False
        number = int(self.chain.head_header().block_number)
        if number == 0:
            return False
        members = self.authorities_for(number)
        # In a minority (cut off): stay unlocked, vote nothing.
        return self.address in members and 1 + peers_alive >= quorum(len(members))

    def _floor(self, kind: VoteKind) -> int:
        last = self.last[kind]
        return max(self.chain.justified[0], last.height if last is not None else 0)

    def _cast(self, kind: VoteKind, height: int, block_hash: bytes) -> list[Vote]:
        last = self.last[kind]
        if self.key is None or self.address is None or height == 0:
            return []
        if last is not None and height <= last.height:
            return []
        vote = sign_vote(self.key, self.chain_id, self.authority_set, height, block_hash, kind)
        self.chain.store.put_meta(
            LAST_VOTE_META[kind], f"{height}:{block_hash.hex()}:{vote.signature.hex()}"
        )
        self.last[kind] = vote
        self._store(self.address, vote)
        votes = [vote]
        if self.extra_vote is not None:
            extra = self.extra_vote(vote)
            if extra is not None:
                votes.append(extra)
        return votes

    def _may_leave_lock(self) -> bool:
        """Whether we may precommit on our chain given our lock: our chain descends it, or a
        final block we hold conflicts with it (a justification overrides a lock)."""
        lock = self.last[VoteKind.PRECOMMIT]
        if lock is None:
            return True
        head_number = int(self.chain.head_header().block_number)
        if lock.height <= head_number and self._canonical_hash(lock.height) == lock.block_hash:
            return True
        final_number, final_hash = self.chain.justified
        if lock.height <= final_number:
            return True  # not canonical at or below the final block: it conflicts with it
        return not self._descends(lock.block_hash, final_number, final_hash)

    def _descends(self, block_hash: bytes, number: int, ancestor_hash: bytes) -> bool:
        """Whether the block `block_hash` (held, canonical or not) descends block `number`
        `ancestor_hash`; an unknown block is assumed to (the safe answer for a lock)."""
        try:
            header = self.chain.chain.get_block_header_by_hash(block_hash)  # type: ignore[arg-type]
            while header.block_number > number:
                header = self.chain.chain.get_block_header_by_hash(header.parent_hash)
        except Exception:
            return True
        return bytes(header.hash) == ancestor_hash

    # ------------------------------------------------------------ peers' votes
    def add_vote(self, vote: Vote) -> bool:
        """Record a vote from the network; True if it is new and may move things. Raises
        VoteError for a vote that does not verify or comes from no authority."""
        self.votes_received += 1
        if vote in self._seen:
            return False
        # The height bounds first: they cost a comparison, the signature a recovery.
        if vote.height == 0:
            raise VoteError("vote for the genesis block")
        with self.chain.lock:
            head_number = int(self.chain.head_header().block_number)
        if vote.height > head_number + MAX_VOTE_HEIGHTS_AHEAD:
            raise VoteError(
                f"vote for block {vote.height}, more than {MAX_VOTE_HEIGHTS_AHEAD} above "
                f"our head {head_number}"
            )
        self.votes_checked += 1
        voter = voter_of(vote, self.chain_id, self.authority_set)
        with self.chain.lock:
            head = self.chain.head_header()
            head_number = int(head.block_number)
            members = self.schedule.for_child_of(head).authorities
            if voter not in members and not (
                vote.height <= head_number and voter in self.authorities_for(vote.height)
            ):
                raise VoteError(f"vote signed by 0x{voter.hex()}, not an authority")
            self._seen[vote] = None
            if len(self._seen) > SEEN_VOTES:
                self._seen.popitem(last=False)
            return self._store(voter, vote)

    def _store(self, voter: bytes, vote: Vote) -> bool:
        held = self._books[vote.kind].setdefault(voter, {})
        earlier = held.get(vote.height)
        if earlier is not None:
            if earlier.block_hash != vote.block_hash:
                self._equivocation(voter, earlier, vote)
            return False
        final_number = self.chain.justified[0]
        if vote.height <= final_number - VOTE_HEIGHTS_KEPT_BELOW_FINAL:
            return False
        held[vote.height] = vote
        return vote.height > final_number

    def _equivocation(self, voter: bytes, first: Vote, second: Vote) -> None:
        key = (voter, first.kind, first.height)
        if key in self._evidence_seen or len(self.evidence) >= EVIDENCE_KEPT:
            return
        self._evidence_seen.add(key)
        self.evidence.append(Equivocation(voter, first, second))
        log.warning(
            "equivocation by authority 0x%s: %ss for block %d 0x%s and 0x%s",
            voter.hex(),
            first.kind.name.lower(),
            first.height,
            first.block_hash.hex()[:12],
            second.block_hash.hex()[:12],
        )

    # ------------------------------------------------------------ counting
    def _justified(self, kind: VoteKind, floor: int) -> int | None:
        """The highest canonical block above `floor` that more than two thirds of its set in
        force voted (`kind`) for, or for a descendant on our chain; None if there is none."""
        head_number = int(self.chain.head_header().block_number)
        if head_number <= floor:
            return None
        best = self._best(kind, floor, head_number)
        for candidate in sorted(set(best.values()), reverse=True):
            members = self.authorities_for(candidate)
            voters = [v for v in members if best.get(v, 0) >= candidate]
            if len(voters) >= quorum(len(members)):
                return candidate
        return None

    def _best(self, kind: VoteKind, floor: int, head_number: int) -> dict[bytes, int]:
        """Each voter's highest canonical height voted (`kind`) above `floor`."""
        best: dict[bytes, int] = {}
        for voter, held in self._books[kind].items():
            for height in sorted(held, reverse=True):
                if height <= floor:
                    break
                vote = held[height]
                if height <= head_number and self._canonical_hash(height) == vote.block_hash:
                    best[voter] = height
                    break
        return best

    def update(self) -> int | None:
        """Finalize the highest canonical block the precommits held justify; its number if
        finality moved, else None."""
        with self.chain.lock:
            final_number = self.chain.justified[0]
            number = self._justified(VoteKind.PRECOMMIT, final_number)
            if number is None:
                return None
            self._finalize(number)
            return number

    def _finalize(self, number: int) -> None:
        head_number = int(self.chain.head_header().block_number)
        book = self._books[VoteKind.PRECOMMIT]
        best = self._best(VoteKind.PRECOMMIT, number - 1, head_number)
        votes = []
        for voter in self.authorities_for(number):
            if best.get(voter, 0) < number:
                continue
            held = book[voter]  # its lowest canonical precommit at or above `number`
            height = min(
                h
                for h in held
                if number <= h <= head_number and self._canonical_hash(h) == held[h].block_hash
            )
            votes.append(held[height])
        top = max(v.height for v in votes)
        ancestry = tuple(
            bytes(rlp.encode(self.chain.header_by_number(n))) for n in range(number + 1, top + 1)
        )
        block_hash = self._canonical_hash(number)
        justification = Justification(number, block_hash, tuple(votes), ancestry)
        self.chain.record_justification(number, block_hash, justification.encode())
        log.debug("block %d final: %d precommits", number, len(votes))
        self._prune(number)

    def _prune(self, final_number: int) -> None:
        floor = final_number - VOTE_HEIGHTS_KEPT_BELOW_FINAL
        for book in self._books.values():
            for held in book.values():
                for height in [h for h in held if h <= floor]:
                    del held[height]

    def finalized_on_branch(self, branch: Sequence[BlockAPI], fork: BlockHeaderAPI) -> int:
        """The final block number of the chain ending in `branch` (whose first block's parent
        is `fork`, canonical here), by the precommits held: for fork choice."""
        with self.chain.lock:
            final_number = self.chain.justified[0]
            base = final_number if int(fork.block_number) >= final_number else 0
            on_branch = {bytes(b.hash): int(b.number) for b in branch}
            best: dict[bytes, int] = {}
            for voter, held in self._books[VoteKind.PRECOMMIT].items():
                heights = [h for h, v in held.items() if on_branch.get(v.block_hash) == h]
                if heights:
                    best[voter] = max(heights)
            members = self.schedule.for_child_of(self.chain.head_header()).authorities
            needed = quorum(len(members))
            ranked = sorted((best.get(v, 0) for v in members), reverse=True)
            return max(base, ranked[needed - 1] if len(ranked) >= needed else 0)

    def equivocation_vote(self, vote: Vote) -> Vote | None:
        """A second, conflicting vote of `vote`'s kind at its height (test hook `extra_vote`)."""
        if self.key is None:
            return None
        other = keccak(b"another branch" + vote.block_hash)
        return sign_vote(self.key, self.chain_id, self.authority_set, vote.height, other, vote.kind)
