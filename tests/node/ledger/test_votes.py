"""The light client's check of a justification (node/ledger/votes.py): from the authority
set, the chain id and the genesis hash alone; forged, duplicate, foreign and insufficient
votes are refused with the reason."""

from __future__ import annotations

import pytest
import rlp
from eth_keys.datatypes import PrivateKey
from eth_utils.crypto import keccak
from hypothesis import given
from hypothesis import strategies as st

from gridledger.contracts.typed import SECP256K1_N
from gridledger.node.ledger.votes import (
    Justification,
    JustificationError,
    Vote,
    VoteError,
    VoteKind,
    quorum,
    sign_vote,
    verify_justification,
    voter_of,
)

KEYS = [PrivateKey(bytes([0x60 + i]) * 32) for i in range(10)]
SET4 = tuple(bytes(k.public_key.to_canonical_address()) for k in KEYS[:4])
STRANGER = PrivateKey(b"\x98" * 32)
CHAIN_ID = 31_337
DOMAIN = bytes.fromhex("5FbDB2315678afecb367f032d93F642f64180aa3".lower())
BLOCK = keccak(b"block 7")


def header(parent: bytes, number: int) -> bytes:
    """An RLP header with the fields a justification's ancestry is checked on (0 and 8)."""
    fields: list[object] = [b""] * 20
    fields[0] = parent
    fields[8] = number
    fields[12] = b"unique" + number.to_bytes(8, "big")
    return bytes(rlp.encode(fields))


def votes_by(keys: list[PrivateKey], height: int = 7, block_hash: bytes = BLOCK) -> list[Vote]:
    return [sign_vote(k, CHAIN_ID, DOMAIN, height, block_hash) for k in keys]


def check(votes: list[Vote], ancestry: tuple[bytes, ...] = ()) -> frozenset[bytes]:
    return verify_justification(
        Justification(7, BLOCK, tuple(votes), ancestry), SET4, CHAIN_ID, DOMAIN
    )


def test_quorum_is_more_than_two_thirds() -> None:
    assert [quorum(n) for n in (1, 3, 4, 6, 7, 10)] == [1, 3, 3, 5, 5, 7]


def test_three_of_four_votes_prove_the_block_final() -> None:
    assert check(votes_by(KEYS[:3])) == frozenset(SET4[:3])


def test_two_of_four_are_not_enough() -> None:
    with pytest.raises(JustificationError, match=r"2 of 4 authorities voted, 3 needed"):
        check(votes_by(KEYS[:2]))


def test_a_vote_counted_twice_is_refused() -> None:
    votes = votes_by(KEYS[:2])
    with pytest.raises(JustificationError, match=f"two votes of authority 0x{SET4[1].hex()}"):
        check([*votes, votes[1]])


def test_a_strangers_vote_is_refused() -> None:
    stranger = bytes(STRANGER.public_key.to_canonical_address())
    with pytest.raises(JustificationError, match=f"signed by 0x{stranger.hex()}, not an auth"):
        check(votes_by([*KEYS[:2], STRANGER]))


def test_a_forged_signature_does_not_count() -> None:
    votes = votes_by(KEYS[:3])
    forged = bytearray(votes[2].signature)
    forged[5] ^= 0xFF  # another r: recovers to someone else, or to nobody
    with pytest.raises(JustificationError, match=r"not an authority|does not recover"):
        check([*votes[:2], Vote(VoteKind.PRECOMMIT, 7, BLOCK, bytes(forged))])


def test_a_vote_from_another_chain_does_not_count() -> None:
    foreign = [sign_vote(k, CHAIN_ID + 1, DOMAIN, 7, BLOCK) for k in KEYS[:3]]
    with pytest.raises(JustificationError, match="not an authority"):
        check(foreign)
    other_testnet = [sign_vote(k, CHAIN_ID, b"\x01" * 20, 7, BLOCK) for k in KEYS[:3]]
    with pytest.raises(JustificationError, match="not an authority"):
        check(other_testnet)


def test_prevotes_do_not_finalize() -> None:
    prevote = sign_vote(KEYS[2], CHAIN_ID, DOMAIN, 7, BLOCK, VoteKind.PREVOTE)
    with pytest.raises(JustificationError, match="vote for block 7 is a prevote"):
        check([*votes_by(KEYS[:2]), prevote])
    # Nor can a prevote's signature be passed off as a precommit: the kind is signed.
    relabelled = Vote(VoteKind.PRECOMMIT, 7, BLOCK, prevote.signature)
    with pytest.raises(JustificationError, match="not an authority"):
        check([*votes_by(KEYS[:2]), relabelled])


def test_a_vote_for_another_block_is_refused() -> None:
    sibling = keccak(b"another block 7")
    with pytest.raises(JustificationError, match=r"vote for block 7 0x.* is not for block 7"):
        check([*votes_by(KEYS[:2]), *votes_by(KEYS[2:3], 7, sibling)])


def test_a_high_s_vote_is_refused() -> None:
    vote = votes_by(KEYS[:1])[0]
    r, s, v = vote.signature[:32], int.from_bytes(vote.signature[32:64], "big"), vote.signature[64]
    mirrored = Vote(
        VoteKind.PRECOMMIT, 7, BLOCK, r + (SECP256K1_N - s).to_bytes(32, "big") + bytes([v ^ 1])
    )
    with pytest.raises(VoteError, match="upper half of the curve order"):
        voter_of(mirrored, CHAIN_ID, DOMAIN)
    with pytest.raises(JustificationError, match="upper half"):
        check([*votes_by(KEYS[1:3]), mirrored])


def test_votes_for_descendants_count_with_the_headers_that_link_them() -> None:
    h8 = header(BLOCK, 8)
    h9 = header(keccak(h8), 9)
    votes = [*votes_by(KEYS[:1]), *votes_by(KEYS[1:2], 8, keccak(h8))]
    votes += votes_by(KEYS[2:3], 9, keccak(h9))
    assert check(votes, (h8, h9)) == frozenset(SET4[:3])
    with pytest.raises(JustificationError, match=r"vote for block 9 .* not for block 7"):
        check(votes, (h8,))  # the header of 9 is missing
    unlinked = header(keccak(b"elsewhere"), 9)
    with pytest.raises(JustificationError, match="ancestry header 9 does not follow block 8"):
        check(votes, (h8, unlinked))


def test_encoding_round_trips_and_junk_is_refused() -> None:
    justification = Justification(7, BLOCK, tuple(votes_by(KEYS[:3])), (header(BLOCK, 8),))
    assert Justification.decode(justification.encode()) == justification
    for junk in (b"", b"\xc0", rlp.encode([1, 2]), rlp.encode([b"\x00\x07", BLOCK, [], []])):
        with pytest.raises(JustificationError):
            Justification.decode(junk)


@given(st.integers(4, 10), st.data())
def test_a_justification_verifies_exactly_when_more_than_two_thirds_voted(
    size: int, data: st.DataObject
) -> None:
    authorities = tuple(bytes(k.public_key.to_canonical_address()) for k in KEYS[:size])
    chosen = data.draw(st.sets(st.integers(0, size - 1)), label="voters")
    justification = Justification(7, BLOCK, tuple(votes_by([KEYS[i] for i in sorted(chosen)])))
    if 3 * len(chosen) > 2 * size:
        voters = verify_justification(justification, authorities, CHAIN_ID, DOMAIN)
        assert voters == frozenset(authorities[i] for i in chosen)
    else:
        with pytest.raises(JustificationError, match="needed"):
            verify_justification(justification, authorities, CHAIN_ID, DOMAIN)
