"""Finality by authority votes: one replica's vote book, its own votes and its finalized block.

Rules (docs/testnet.md, "Finality"):
- After importing and re-executing a block that became its head, an authority votes for it
  (`node.consensus.votes`), unless a rule below forbids it; the vote goes to every peer and is
  sent again with each status until the next one.
- Votes of one authority go up in height: it never votes twice at one height (two votes at
  one height for different blocks are evidence of equivocation, `Equivocation`).
- Its votes form a chain: it votes only for descendants of its last vote (its lock), unless
  it holds a justification of a block that conflicts with the lock; then it follows that
  block. Safety with at most f = floor((n - 1) / 3) faulty authorities rests on these two
  rules (the argument is in docs/testnet.md).
- It votes only while it hears from enough authorities to make a quorum: a node cut off in a
  minority stays unlocked, so finality resumes once the partition heals.
- A block is final when authorities holding more than two thirds of the set in force for it
  have voted for it or for a descendant (on our canonical chain); the votes that did it are
  its justification, stored with the block (`EmbeddedChain.record_justification`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import rlp
from eth.abc import BlockAPI, BlockHeaderAPI
from eth_keys.datatypes import PrivateKey
from eth_utils.crypto import keccak

from gridledger.node.consensus.schedule import AuthoritySchedule
from gridledger.node.consensus.votes import (
    Justification,
    Vote,
    VoteError,
    quorum,
    sign_vote,
    voter_of,
)
from gridledger.node.ledger.embedded.chain import EmbeddedChain

log = logging.getLogger(__name__)

MAX_VOTE_HEIGHTS_AHEAD = 256
"""How far above our head a vote may be [blocks]; kept until its block arrives (a peer ahead)."""
VOTE_HEIGHTS_KEPT_BELOW_FINAL = 64
"""Heights below our final block whose votes are kept, to catch late equivocations [blocks]."""
LAST_VOTE_META = "finality_last_vote"


@dataclass(frozen=True, slots=True)
class Equivocation:
    """Two votes of `voter` for different blocks at one height: evidence of a fault."""

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
        self.genesis_hash = bytes(chain.header_by_number(0).hash)
        self._votes: dict[bytes, dict[int, Vote]] = {}  # voter -> height -> vote
        self.evidence: list[Equivocation] = []
        self.last_vote = self._load_last_vote()
        self.extra_vote: Callable[[Vote], Vote | None] | None = None
        """Test hook: a second vote to send beside each of ours (an equivocating node)."""

    # ------------------------------------------------------------ our own votes
    def _load_last_vote(self) -> Vote | None:
        stored = self.chain.store.get_meta(LAST_VOTE_META)
        if stored is None:
            return None
        height, block_hash, signature = stored.split(":")
        return Vote(int(height), bytes.fromhex(block_hash), bytes.fromhex(signature))

    def authorities_for(self, number: int) -> tuple[bytes, ...]:
        """The set in force for canonical block `number` (>= 1)."""
        return self.schedule.for_child_of(self.chain.header_by_number(number - 1)).authorities

    def vote_on_head(self, peers_alive: int) -> list[Vote]:
        """Sign a vote for our head if the rules allow it (module docstring); the votes to
        send (ours, and the test hook's). Persisted before it is returned, so a restarted node
        never votes twice at one height."""
        if self.key is None or self.address is None:
            return []
        with self.chain.lock:
            head = self.chain.head_header()
            number = int(head.block_number)
            if number == 0:
                return []
            members = self.authorities_for(number)
            if self.address not in members:
                return []
            if 1 + peers_alive < quorum(len(members)):
                return []  # in a minority: stay unlocked
            last = self.last_vote
            if last is not None:
                if number <= last.height:
                    return []
                if not self._may_leave(last):
                    return []
            vote = sign_vote(self.key, self.chain_id, self.genesis_hash, number, bytes(head.hash))
            self.chain.store.put_meta(
                LAST_VOTE_META, f"{vote.height}:{vote.block_hash.hex()}:{vote.signature.hex()}"
            )
            self.last_vote = vote
            self._store(self.address, vote)
        votes = [vote]
        if self.extra_vote is not None:
            extra = self.extra_vote(vote)
            if extra is not None:
                votes.append(extra)
        return votes

    def _may_leave(self, last: Vote) -> bool:
        """Whether we may vote for our head given our last vote: the head descends it, or
        our finalized block conflicts with it (a justification we hold overrides our lock)."""
        head_number = int(self.chain.head_header().block_number)
        if last.height <= head_number and self._canonical_hash(last.height) == last.block_hash:
            return True  # the head descends our last vote
        final_number, final_hash = self.chain.justified
        if last.height <= final_number:
            return True  # not canonical at or below the final block: it conflicts with it
        return not self._descends(last.block_hash, final_number, final_hash)

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

    def _canonical_hash(self, number: int) -> bytes:
        return bytes(self.chain.header_by_number(number).hash)

    # ------------------------------------------------------------ peers' votes
    def add_vote(self, vote: Vote) -> bool:
        """Record a vote from the network; True if it is new and may move finality. Raises
        VoteError for a vote that does not verify or comes from no authority."""
        voter = voter_of(vote, self.chain_id, self.genesis_hash)
        with self.chain.lock:
            head = self.chain.head_header()
            head_number = int(head.block_number)
            if vote.height > head_number + MAX_VOTE_HEIGHTS_AHEAD:
                raise VoteError(
                    f"vote for block {vote.height}, more than {MAX_VOTE_HEIGHTS_AHEAD} above "
                    f"our head {head_number}"
                )
            if vote.height == 0:
                raise VoteError("vote for the genesis block")
            members = self.schedule.for_child_of(head).authorities
            if voter not in members and not (
                vote.height <= head_number and voter in self.authorities_for(vote.height)
            ):
                raise VoteError(f"vote signed by 0x{voter.hex()}, not an authority")
            return self._store(voter, vote)

    def _store(self, voter: bytes, vote: Vote) -> bool:
        held = self._votes.setdefault(voter, {})
        earlier = held.get(vote.height)
        if earlier is not None:
            if earlier.block_hash != vote.block_hash:
                self._equivocation(voter, earlier, vote)
            return False
        if vote.height <= self.chain.justified[0] - VOTE_HEIGHTS_KEPT_BELOW_FINAL:
            return False
        held[vote.height] = vote
        return vote.height > self.chain.justified[0]

    def _equivocation(self, voter: bytes, first: Vote, second: Vote) -> None:
        if any(e.voter == voter and e.first.height == first.height for e in self.evidence):
            return
        self.evidence.append(Equivocation(voter, first, second))
        log.warning(
            "equivocation by authority 0x%s: votes for block %d 0x%s and 0x%s",
            voter.hex(),
            first.height,
            first.block_hash.hex()[:12],
            second.block_hash.hex()[:12],
        )

    # ------------------------------------------------------------ finality
    def update(self) -> int | None:
        """Finalize the highest canonical block the votes held justify; its number if
        finality moved, else None."""
        with self.chain.lock:
            head_number = int(self.chain.head_header().block_number)
            final_number = self.chain.justified[0]
            if head_number <= final_number:
                return None
            canonical: dict[int, bytes] = {}

            def on_chain(vote: Vote) -> bool:
                if vote.height not in canonical:
                    canonical[vote.height] = self._canonical_hash(vote.height)
                return canonical[vote.height] == vote.block_hash

            best: dict[bytes, int] = {}  # voter -> highest canonical height voted
            for voter, held in self._votes.items():
                for height in sorted(held, reverse=True):
                    if height <= final_number:
                        break
                    if height <= head_number and on_chain(held[height]):
                        best[voter] = height
                        break
            for candidate in sorted(set(best.values()), reverse=True):
                members = self.authorities_for(candidate)
                voters = [v for v in members if best.get(v, 0) >= candidate]
                if len(voters) >= quorum(len(members)):
                    self._finalize(candidate, voters, on_chain)
                    return candidate
            return None

    def _finalize(
        self, number: int, voters: Sequence[bytes], on_chain: Callable[..., bool]
    ) -> None:
        votes = []
        for voter in voters:  # each voter's lowest canonical vote at or above `number`
            held = self._votes[voter]
            height = min(h for h in held if h >= number and on_chain(held[h]))
            votes.append(held[height])
        top = max(v.height for v in votes)
        ancestry = tuple(
            bytes(rlp.encode(self.chain.header_by_number(n))) for n in range(number + 1, top + 1)
        )
        block_hash = self._canonical_hash(number)
        justification = Justification(number, block_hash, tuple(votes), ancestry)
        self.chain.record_justification(number, block_hash, justification.encode())
        log.debug("block %d final: %d of %d authorities voted", number, len(votes), len(voters))
        self._prune(number)

    def _prune(self, final_number: int) -> None:
        floor = final_number - VOTE_HEIGHTS_KEPT_BELOW_FINAL
        for held in self._votes.values():
            for height in [h for h in held if h <= floor]:
                del held[height]

    def finalized_on_branch(self, branch: Sequence[BlockAPI], fork: BlockHeaderAPI) -> int:
        """The final block number of the chain ending in `branch` (whose first block's parent
        is `fork`, canonical here), by the votes held: for fork choice."""
        with self.chain.lock:
            final_number = self.chain.justified[0]
            base = final_number if int(fork.block_number) >= final_number else 0
            on_branch = {bytes(b.hash): int(b.number) for b in branch}
            best: dict[bytes, int] = {}
            for voter, held in self._votes.items():
                heights = [h for h, v in held.items() if on_branch.get(v.block_hash) == h]
                if heights:
                    best[voter] = max(heights)
            members = self.schedule.for_child_of(self.chain.head_header()).authorities
            needed = quorum(len(members))
            ranked = sorted((best.get(v, 0) for v in members), reverse=True)
            return max(base, ranked[needed - 1] if len(ranked) >= needed else 0)

    def equivocation_vote(self, vote: Vote) -> Vote | None:
        """A second, conflicting vote at `vote`'s height (for the test hook `extra_vote`)."""
        if self.key is None:
            return None
        other = keccak(b"another branch" + vote.block_hash)
        return sign_vote(self.key, self.chain_id, self.genesis_hash, vote.height, other)
