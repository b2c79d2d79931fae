"""Finality votes and justifications, and the light client's check of a justification.

A vote is an authority's secp256k1 signature over (domain, chain id, AuthoritySet address,
kind, height, block hash). Two kinds, as Tendermint's and GRANDPA's two phases: a prevote says "I
imported and re-executed this block"; a precommit says "more than two thirds prevoted for this
block or descendants, and I lock on it". A block is final when authorities holding more than
two thirds of the set in force have precommitted it or a descendant (docs/testnet.md,
"Finality"). Its justification is those precommits plus the headers that link the block to
each precommitted descendant (none when every precommit is for the block itself), so it can
be checked from the authority set alone: `verify_justification` needs no chain, no state and
no peer, only the set, the chain id and the AuthoritySet address. The contract checks the same
digest when it is given two conflicting votes as evidence (`AuthoritySet.reportEquivocation`).

Sizes: a vote is 106 bytes of fields (119 bytes as a P2P frame); a justification is one RLP
list of (height, hash, precommits, ancestry headers), about 110 bytes per precommit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import rlp
from eth_keys.datatypes import PrivateKey
from eth_utils.crypto import keccak

from gridledger.contracts.typed import SECP256K1_N
from gridledger.node.errors import LedgerError
from gridledger.node.ledger.embedded.secp256k1 import recover_address

VOTE_DOMAIN = b"gridledger/finality-vote/v2"
HASH_BYTES = 32
ADDRESS_BYTES = 20
NO_AUTHORITY_SET = bytes(ADDRESS_BYTES)
"""The vote domain's contract address on a chain without AuthoritySet."""
SIGNATURE_BYTES = 65
MAX_JUSTIFICATION_VOTES = 64
"""More votes than any authority set may hold (AuthoritySet caps it at 32)."""
MAX_ANCESTRY_HEADERS = 256
"""Headers a justification may carry between its block and the highest voted descendant."""
_HEADER_NUMBER_FIELD = 8
"""Index of block_number in an RLP block header (parent_hash is field 0)."""


class VoteError(LedgerError):
    """A vote does not verify (malformed, high-s, does not recover)."""


class JustificationError(LedgerError):
    """A justification does not prove its block final; the message says why, with numbers."""


class VoteKind(IntEnum):
    """The phase a vote belongs to; its byte is signed and sent."""

    PREVOTE = 1
    PRECOMMIT = 2


def quorum(authorities: int) -> int:
    """Votes needed for finality: more than two thirds of `authorities`."""
    return 2 * authorities // 3 + 1


def vote_digest(
    chain_id: int, authority_set: bytes, kind: VoteKind, height: int, block_hash: bytes
) -> bytes:
    """What an authority signs: keccak256(abi.encodePacked(domain, chainid, authoritySet,
    uint8 kind, uint64 height, bytes32 blockHash)), as AuthoritySet computes it. The chain id
    and the AuthoritySet address (20 bytes; zero on a chain without one) keep a vote from
    being replayed on another chain or testnet; the kind keeps a prevote from being passed
    off as a precommit."""
    if len(authority_set) != ADDRESS_BYTES:
        raise VoteError(f"authority set address is {len(authority_set)} bytes, not 20")
    return keccak(
        VOTE_DOMAIN
        + chain_id.to_bytes(32, "big")
        + authority_set
        + bytes([kind])
        + height.to_bytes(8, "big")
        + block_hash
    )


@dataclass(frozen=True, slots=True)
class Vote:
    """kind: prevote or precommit; height: the block's number; block_hash: its hash;
    signature: 65 bytes (r, s, v)."""

    kind: VoteKind
    height: int
    block_hash: bytes
    signature: bytes

    def __post_init__(self) -> None:
        if self.kind not in (VoteKind.PREVOTE, VoteKind.PRECOMMIT):
            raise VoteError(f"vote kind {self.kind!r} is neither prevote (1) nor precommit (2)")
        if not 0 <= self.height < 2**64:
            raise VoteError(f"vote height {self.height} is outside 0..2^64-1")
        if len(self.block_hash) != HASH_BYTES:
            raise VoteError(f"vote block hash is {len(self.block_hash)} bytes, not {HASH_BYTES}")
        if len(self.signature) != SIGNATURE_BYTES:
            raise VoteError(f"vote signature is {len(self.signature)} bytes, not 65")


def sign_vote(
    key: PrivateKey,
    chain_id: int,
    authority_set: bytes,
    height: int,
    block_hash: bytes,
    kind: VoteKind = VoteKind.PRECOMMIT,
) -> Vote:
    digest = vote_digest(chain_id, authority_set, kind, height, block_hash)
    return Vote(kind, height, block_hash, key.sign_msg_hash(digest).to_bytes())


def voter_of(vote: Vote, chain_id: int, authority_set: bytes) -> bytes:
    """The address that signed `vote`. A high-s signature is refused: (r, n - s) signs the
    same vote, so one vote would have two encodings (as for block seals)."""
    s_value = int.from_bytes(vote.signature[32:64], "big")
    if s_value > SECP256K1_N // 2:
        raise VoteError(f"vote for block {vote.height}: s is in the upper half of the curve order")
    digest = vote_digest(chain_id, authority_set, vote.kind, vote.height, vote.block_hash)
    r_value = int.from_bytes(vote.signature[:32], "big")
    voter = recover_address(digest, r_value, s_value, vote.signature[64])
    if voter is None:  # malformed r, s or v
        raise VoteError(f"vote for block {vote.height} does not recover (r, s or v malformed)")
    return voter


@dataclass(frozen=True, slots=True)
class Justification:
    """Proof that block (height, block_hash) is final: precommits for it or descendants, and
    the RLP headers of blocks height+1.. up to the highest precommitted one (ascending)."""

    height: int
    block_hash: bytes
    votes: tuple[Vote, ...]
    ancestry: tuple[bytes, ...] = ()

    def encode(self) -> bytes:
        return bytes(
            rlp.encode(
                [
                    self.height,
                    self.block_hash,
                    [[int(v.kind), v.height, v.block_hash, v.signature] for v in self.votes],
                    list(self.ancestry),
                ]
            )
        )

    @classmethod
    def decode(cls, data: bytes) -> Justification:
        try:
            height_raw, block_hash, votes_raw, ancestry = rlp.decode(data)
            votes = tuple(
                Vote(VoteKind(_int(k)), _int(h), bytes(b), bytes(s))
                for k, h, b, s in _bounded(votes_raw, "votes")
            )
            return cls(
                _int(height_raw),
                bytes(block_hash),
                votes,
                tuple(bytes(x) for x in _bounded(ancestry, "ancestry")),
            )
        except JustificationError:
            raise
        except (rlp.exceptions.DecodingError, ValueError, TypeError, VoteError) as exc:
            raise JustificationError(f"justification does not decode: {exc}") from exc


def _bounded(items: Any, field: str) -> list[Any]:
    if not isinstance(items, list):
        raise JustificationError(f"justification {field} is not a list")
    limit = MAX_JUSTIFICATION_VOTES if field == "votes" else MAX_ANCESTRY_HEADERS
    if len(items) > limit:
        raise JustificationError(f"justification has {len(items)} {field}, at most {limit}")
    return items


def _int(raw: object) -> int:
    if not isinstance(raw, bytes) or (raw[:1] == b"\x00"):
        raise JustificationError("justification integer is not canonical RLP")
    return int.from_bytes(raw, "big")


def _chain_of(justification: Justification) -> dict[int, bytes]:
    """Block hash by height for the block and its ancestry, checked to link parent to child."""
    hashes = {justification.height: justification.block_hash}
    parent, number = justification.block_hash, justification.height
    for raw in justification.ancestry:
        try:
            fields = rlp.decode(raw)
            parent_hash = bytes(fields[0])
            header_number = int.from_bytes(fields[_HEADER_NUMBER_FIELD], "big")
        except Exception as exc:
            raise JustificationError(f"ancestry header does not decode: {exc}") from exc
        number += 1
        if parent_hash != parent or header_number != number:
            raise JustificationError(
                f"ancestry header {header_number} does not follow block {number - 1} "
                f"0x{parent.hex()[:12]}"
            )
        parent = keccak(raw)
        hashes[number] = parent
    return hashes


def verify_justification(
    justification: Justification,
    authorities: Sequence[bytes],
    chain_id: int,
    authority_set: bytes,
) -> frozenset[bytes]:
    """The distinct authorities whose precommits prove `justification`'s block final; raises
    JustificationError unless they are more than two thirds of `authorities` (the set in
    force for that block). Every vote must be a precommit for the block or one of the
    ancestry headers, signed by a member of the set, and no authority may count twice."""
    members = frozenset(authorities)
    if not members:
        raise JustificationError("the authority set is empty")
    hashes = _chain_of(justification)
    voters: set[bytes] = set()
    for vote in justification.votes:
        if vote.kind != VoteKind.PRECOMMIT:
            raise JustificationError(f"vote for block {vote.height} is a prevote, not a precommit")
        if hashes.get(vote.height) != vote.block_hash:
            raise JustificationError(
                f"vote for block {vote.height} 0x{vote.block_hash.hex()[:12]} is not for block "
                f"{justification.height} or a descendant in the ancestry"
            )
        try:
            voter = voter_of(vote, chain_id, authority_set)
        except VoteError as exc:
            raise JustificationError(str(exc)) from exc
        if voter not in members:
            raise JustificationError(f"vote signed by 0x{voter.hex()}, not an authority")
        if voter in voters:
            raise JustificationError(f"two votes of authority 0x{voter.hex()}")
        voters.add(voter)
    needed = quorum(len(members))
    if len(voters) < needed:
        raise JustificationError(
            f"{len(voters)} of {len(members)} authorities voted, {needed} needed (more than 2/3)"
        )
    return frozenset(voters)


def justification_json(
    data: bytes, chain_id: int, authority_set: bytes, block: tuple[int, bytes] | None = None
) -> dict[str, Any]:
    """A stored justification for JSON-RPC and REST: the justified block, each vote with its
    recovered voter, the ancestry headers and the raw RLP (what `verify_justification` takes).
    `block`: the (number, hash) asked about, final because it is the justified block or one
    of its ancestors."""
    justification = Justification.decode(data)
    number, block_hash = block if block is not None else (0, b"")
    return {
        "blockNumber": hex(number) if block is not None else None,
        "blockHash": "0x" + block_hash.hex() if block is not None else None,
        "justifiedNumber": hex(justification.height),
        "justifiedHash": "0x" + justification.block_hash.hex(),
        "votes": [
            {
                "kind": v.kind.name.lower(),
                "height": hex(v.height),
                "blockHash": "0x" + v.block_hash.hex(),
                "signature": "0x" + v.signature.hex(),
                "voter": "0x" + voter_of(v, chain_id, authority_set).hex(),
            }
            for v in justification.votes
        ],
        "ancestry": ["0x" + h.hex() for h in justification.ancestry],
        "rlp": "0x" + data.hex(),
    }
