"""Reference model of AuthoritySet.sol: the proof-of-authority set by block, in pure Python.

The same rules as the contract (docs/contracts.md, "AuthoritySet"), for the property test that
drives both with the same actions, and for node code that wants to reason about a schedule
without a chain. Addresses are 20-byte `bytes`, as in `node.ledger.embedded.aura.Aura`. Every
refused action raises `AuthorityRuleError` carrying the contract's error name and arguments,
and leaves the model unchanged (like a reverted transaction). Equivocation evidence of seals
is checked here as the contract checks it (`report_seal_equivocation`: the digest of
node.ledger.embedded.aura, the signature rules of `evidence_signer`).

`decode_authorities` turns the raw return data of an `authoritiesAt(uint256)` eth_call into
the tuple `Aura.authorities` takes.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from eth_abi.abi import decode

from gridledger.contracts.enums import AuthorityProposalState
from gridledger.contracts.typed import SECP256K1_N
from gridledger.node.errors import LedgerError
from gridledger.node.ledger.deploy import ROLE_REGULATOR
from gridledger.node.ledger.embedded.aura import seal_digest
from gridledger.node.ledger.embedded.secp256k1 import recover_address

MAX_AUTHORITIES = 32
ADDRESS_BYTES = 20
SIGNATURE_BYTES = 65


class AuthorityRuleError(LedgerError):
    """An action the contract refuses: `name` and `error_args` as in its custom error."""

    def __init__(self, name: str, *args: object) -> None:
        self.name = name
        self.error_args = args
        super().__init__(f"{name}{args!r}")


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A set in force from `effective_block` until the next snapshot's, in turn order."""

    effective_block: int
    members: tuple[bytes, ...]


@dataclass(slots=True)
class Proposal:
    """A proposed change: add or remove `account` from `effective_block` on."""

    account: bytes
    add: bool
    effective_block: int
    proposer: bytes
    voters: set[bytes] = field(default_factory=set)
    scheduled: bool = False


class AuthorityModel:
    """The authority set's snapshots and proposals; `regulators` hold the regulator role.

    Every action takes `block_number`, the number of the block its transaction executes in
    (`block.number` in the contract).
    """

    def __init__(self, initial: Sequence[bytes], regulators: Iterable[bytes] = ()) -> None:
        if not initial:
            raise AuthorityRuleError("AuthoritySetEmpty")
        if len(initial) > MAX_AUTHORITIES:
            raise AuthorityRuleError("AuthoritySetTooLarge", len(initial), MAX_AUTHORITIES)
        for i, account in enumerate(initial):
            _check_address(account)
            if account == bytes(ADDRESS_BYTES):
                raise AuthorityRuleError("AuthorityZeroAddress")
            if account in initial[:i]:
                raise AuthorityRuleError("AuthorityDuplicate", account)
        self.regulators = frozenset(regulators)
        self.snapshots: list[Snapshot] = [Snapshot(0, tuple(initial))]
        self.proposals: list[Proposal] = []  # id i is proposals[i - 1]

    # ------------------------------------------------------------ views

    def authorities_at(self, block_number: int) -> tuple[bytes, ...]:
        """The set in force at `block_number`: the last snapshot effective at or before it."""
        starts = [s.effective_block for s in self.snapshots]
        return self.snapshots[bisect_right(starts, block_number) - 1].members

    def is_authority_at(self, account: bytes, block_number: int) -> bool:
        return account in self.authorities_at(block_number)

    @property
    def latest(self) -> Snapshot:
        """The last scheduled snapshot: the set every new change applies to."""
        return self.snapshots[-1]

    def state_of(self, proposal_id: int, block_number: int) -> AuthorityProposalState:
        if not 1 <= proposal_id <= len(self.proposals):
            return AuthorityProposalState.UNKNOWN
        p = self.proposals[proposal_id - 1]
        if p.scheduled:
            return AuthorityProposalState.SCHEDULED
        stale = p.effective_block < self.latest.effective_block
        if p.effective_block <= block_number or stale:
            return AuthorityProposalState.EXPIRED
        return AuthorityProposalState.PENDING

    def tally(self, proposal_id: int, block_number: int) -> tuple[int, int]:
        """(voters of the proposal in the set in force now, majority of that set)."""
        voters = self.proposals[proposal_id - 1].voters if proposal_id else set()
        return _tally(voters, self.authorities_at(block_number))

    # ------------------------------------------------------------ actions

    def propose(
        self, sender: bytes, account: bytes, add: bool, effective_block: int, block_number: int
    ) -> int:
        """Record a proposal by `sender`; returns its id (scheduled at once by the regulator,
        or when the proposer's vote is already a majority)."""
        by_regulator = sender in self.regulators
        current = self.authorities_at(block_number)
        if not by_regulator and sender not in current:
            raise AuthorityRuleError("AuthorityProposerUnauthorized", sender)
        if account == bytes(ADDRESS_BYTES):
            raise AuthorityRuleError("AuthorityZeroAddress")
        self._require_can_take_effect(effective_block, block_number)
        self._require_applicable(account, add)
        proposal = Proposal(account, add, effective_block, sender)
        if by_regulator:
            self._schedule(proposal)
        else:
            self._vote(proposal, sender, block_number)
        self.proposals.append(proposal)
        return len(self.proposals)

    def vote(self, sender: bytes, proposal_id: int, block_number: int) -> None:
        """Vote of `sender`, an authority in force at `block_number`."""
        if sender not in self.authorities_at(block_number):
            raise AuthorityRuleError("AuthorityNotAuthority", sender, block_number)
        proposal = self._pending(proposal_id, block_number)
        if sender in proposal.voters:
            raise AuthorityRuleError("AuthorityAlreadyVoted", proposal_id, sender)
        self._vote(proposal, sender, block_number)

    def approve(self, sender: bytes, proposal_id: int, block_number: int) -> None:
        """Approval by the regulator: schedules the change."""
        if sender not in self.regulators:
            raise AuthorityRuleError("AccessControlUnauthorizedAccount", sender, ROLE_REGULATOR)
        self._schedule(self._pending(proposal_id, block_number))

    def enact(self, proposal_id: int, block_number: int) -> None:
        """Schedule a pending proposal whose voters are a majority of the current set."""
        proposal = self._pending(proposal_id, block_number)
        votes, quorum = _tally(proposal.voters, self.authorities_at(block_number))
        if votes < quorum:
            raise AuthorityRuleError("AuthorityQuorumNotReached", proposal_id, votes, quorum)
        self._schedule(proposal)

    def remove_equivocator(self, offender: bytes, block_number: int) -> int:
        """`reportEquivocation` once its two votes recovered to `offender` (the signature
        checks are node.ledger.votes'): removes it from the next block on, or from the last
        scheduled change if later; returns that effective block."""
        self._require_applicable(offender, False)
        effective_block = max(block_number + 1, self.latest.effective_block)
        members = tuple(m for m in self.latest.members if m != offender)
        self.snapshots.append(Snapshot(effective_block, members))
        return effective_block

    def report_seal_equivocation(
        self,
        step: int,
        hash_a: bytes,
        sig_a: bytes,
        hash_b: bytes,
        sig_b: bytes,
        block_number: int,
        *,
        chain_id: int,
        authority_set: bytes,
    ) -> tuple[bytes, int]:
        """`reportSealEquivocation` on chain `chain_id` at contract `authority_set`: two seals
        at `step` over different bare header hashes that recover to one authority remove it as
        `remove_equivocator` does; returns (offender, effective block)."""
        if hash_a == hash_b:
            raise AuthorityRuleError("AuthorityEvidenceSameBlock", step, hash_a)
        digest_a = seal_digest(chain_id, authority_set, step, hash_a)
        offender = evidence_signer(digest_a, hash_a, sig_a)
        other = evidence_signer(seal_digest(chain_id, authority_set, step, hash_b), hash_b, sig_b)
        if other != offender:
            raise AuthorityRuleError("AuthorityEvidenceSignersDiffer", offender, other)
        return offender, self.remove_equivocator(offender, block_number)

    # ------------------------------------------------------------ rules

    def _vote(self, proposal: Proposal, sender: bytes, block_number: int) -> None:
        voters = proposal.voters | {sender}
        votes, quorum = _tally(voters, self.authorities_at(block_number))
        if votes >= quorum:
            self._schedule(proposal)  # raises before anything changed if not applicable
        proposal.voters = voters

    def _schedule(self, proposal: Proposal) -> None:
        self._require_applicable(proposal.account, proposal.add)
        members = tuple(m for m in self.latest.members if m != proposal.account)
        if proposal.add:
            members += (proposal.account,)
        self.snapshots.append(Snapshot(proposal.effective_block, members))
        proposal.scheduled = True

    def _pending(self, proposal_id: int, block_number: int) -> Proposal:
        if not 1 <= proposal_id <= len(self.proposals):
            raise AuthorityRuleError("AuthorityUnknownProposal", proposal_id)
        proposal = self.proposals[proposal_id - 1]
        if proposal.scheduled:
            raise AuthorityRuleError(
                "AuthorityProposalAlreadyScheduled", proposal_id, proposal.effective_block
            )
        self._require_can_take_effect(proposal.effective_block, block_number)
        return proposal

    def _require_can_take_effect(self, effective_block: int, block_number: int) -> None:
        if effective_block <= block_number:
            raise AuthorityRuleError(
                "AuthorityEffectiveBlockNotFuture", effective_block, block_number
            )
        last = self.latest.effective_block
        if effective_block < last:
            raise AuthorityRuleError("AuthorityChangeOutOfOrder", effective_block, last)

    def _require_applicable(self, account: bytes, add: bool) -> None:
        members = self.latest.members
        if add:
            if account in members:
                raise AuthorityRuleError("AuthorityAlreadyMember", account)
            if len(members) >= MAX_AUTHORITIES:
                raise AuthorityRuleError("AuthoritySetTooLarge", len(members) + 1, MAX_AUTHORITIES)
        else:
            if account not in members:
                raise AuthorityRuleError("AuthorityNotMember", account)
            if len(members) == 1:
                raise AuthorityRuleError("AuthorityLastMember", account)


def evidence_signer(digest: bytes, block_hash: bytes, signature: bytes) -> bytes:
    """The account that signed `digest`, as AuthoritySet._signer recovers it (OpenZeppelin's
    ECDSA.tryRecover): 65 bytes r, s, v with v 0/1 or 27/28, s in the lower half of the curve
    order, a signature ecrecover accepts; AuthorityEvidenceBadSignature(block_hash) otherwise."""
    if len(signature) != SIGNATURE_BYTES:
        raise AuthorityRuleError("AuthorityEvidenceBadSignature", block_hash)
    r_value = int.from_bytes(signature[:32], "big")
    s_value = int.from_bytes(signature[32:64], "big")
    v = signature[64] + 27 if signature[64] < 27 else signature[64]
    signer = None
    if v in (27, 28) and s_value <= SECP256K1_N // 2:
        signer = recover_address(digest, r_value, s_value, v - 27)
    if signer is None or signer == bytes(ADDRESS_BYTES):
        raise AuthorityRuleError("AuthorityEvidenceBadSignature", block_hash)
    return signer


def _tally(voters: set[bytes], current: tuple[bytes, ...]) -> tuple[int, int]:
    return sum(1 for m in current if m in voters), len(current) // 2 + 1


def _check_address(account: bytes) -> None:
    if len(account) != ADDRESS_BYTES:
        raise ValueError(f"an address is {ADDRESS_BYTES} bytes, got {len(account)}")


def decode_authorities(raw_return: bytes) -> tuple[bytes, ...]:
    """The 20-byte addresses in the ABI-encoded `address[]` returned by `authoritiesAt`.

    Raises LedgerError if `raw_return` is not a well-formed, non-empty `address[]` encoding
    (an empty set cannot seal; the contract never returns one).
    """
    try:
        (addresses,) = decode(["address[]"], raw_return)
    except Exception as exc:  # eth_abi raises several decoding error types
        raise LedgerError(
            f"authoritiesAt returned {len(raw_return)} bytes that are not an address[]: {exc}"
        ) from exc
    if not addresses:
        raise LedgerError("authoritiesAt returned an empty authority set")
    return tuple(bytes.fromhex(str(a)[2:]) for a in addresses)
