"""AuthoritySet.reportEquivocation: two finality votes of one authority, of one kind, at one
height, for different blocks remove it from the next block on; anything short of that is
refused with the reason. The digest is node.ledger.votes' (the nodes sign it)."""

from __future__ import annotations

from typing import Any

from eth_keys.datatypes import PrivateKey
from eth_utils.crypto import keccak

from gridledger.contracts.typed import SECP256K1_N
from gridledger.node.ledger.votes import Vote, VoteKind, sign_vote, vote_digest, voter_of
from tests.contracts.authority_helpers import Auth
from tests.contracts.harness import expect_revert

HEIGHT = 41
BLOCK_A = keccak(b"block 41 on one branch")
BLOCK_B = keccak(b"block 41 on another")


def key_of(i: int) -> PrivateKey:
    """The key of `candidates[i]` (tests/contracts/conftest.py)."""
    return PrivateKey(keccak(text=f"gridledger-sandbox:authority-{i}"))


def domain(auth: Auth) -> tuple[int, bytes]:
    return int(auth.stack.w3.eth.chain_id), bytes.fromhex(auth.contract.address[2:])


def votes(auth: Auth, key: PrivateKey, kind: VoteKind = VoteKind.PRECOMMIT) -> tuple[Vote, Vote]:
    return (
        sign_vote(key, *domain(auth), HEIGHT, BLOCK_A, kind),
        sign_vote(key, *domain(auth), HEIGHT, BLOCK_B, kind),
    )


def report(auth: Auth, a: Vote, b: Vote, kind: int | None = None) -> Any:
    return auth.f.reportEquivocation(
        int(a.kind) if kind is None else kind,
        a.height,
        a.block_hash,
        a.signature,
        b.block_hash,
        b.signature,
    )


def test_the_contract_checks_the_digest_the_nodes_sign(auth: Auth) -> None:
    for kind in VoteKind:
        on_chain = auth.f.voteDigest(int(kind), HEIGHT, BLOCK_A).call()
        assert bytes(on_chain) == vote_digest(*domain(auth), kind, HEIGHT, BLOCK_A)


def test_an_equivocator_is_removed_from_the_next_block(auth: Auth) -> None:
    a, b, c = auth.candidates[:3]
    reporter = auth.stack.roles.treasury  # anyone
    receipt = auth.send(report(auth, *votes(auth, key_of(1))), reporter)
    effective = receipt["blockNumber"] + 1
    (event,) = auth.stack.events(auth.contract, "AuthorityEquivocationReported", receipt)
    assert dict(event["args"]) == {
        "offender": b,
        "kind": 2,
        "height": HEIGHT,
        "hashA": BLOCK_A,
        "hashB": BLOCK_B,
        "effectiveBlock": effective,
        "reporter": reporter,
    }
    assert auth.f.authoritiesAt(effective - 1).call() == [a, b, c]
    assert auth.f.authoritiesAt(effective).call() == [a, c]
    # Prevotes are evidence too; the same offender cannot be removed twice.
    with expect_revert("AuthorityNotMember", b), auth.stack.reverts():
        auth.stack.call(report(auth, *votes(auth, key_of(1), VoteKind.PREVOTE)), reporter)
    receipt = auth.send(report(auth, *votes(auth, key_of(0), VoteKind.PREVOTE)), reporter)
    assert auth.f.scheduledAuthorities().call() == [c]
    with expect_revert("AuthorityLastMember", c), auth.stack.reverts():
        auth.stack.call(report(auth, *votes(auth, key_of(2))), reporter)


def test_removal_waits_for_a_later_scheduled_change(auth: Auth) -> None:
    _, b, c, d = auth.candidates[:4]
    later = auth.head() + 30
    auth.send(auth.f.propose(d, True, later), auth.stack.roles.regulator)
    receipt = auth.send(report(auth, *votes(auth, key_of(0))), b)
    (event,) = auth.stack.events(auth.contract, "AuthorityEquivocationReported", receipt)
    assert event["args"]["effectiveBlock"] == later
    assert auth.f.authoritiesAt(later).call() == [b, c, d]


def test_evidence_short_of_an_equivocation_is_refused(auth: Auth) -> None:
    sender = auth.stack.roles.treasury
    first, second = votes(auth, key_of(1))
    stranger = PrivateKey(b"\x66" * 32)
    stranger_address = stranger.public_key.to_checksum_address()
    other = sign_vote(key_of(2), *domain(auth), HEIGHT, BLOCK_B)
    r, s, v = (
        second.signature[:32],
        int.from_bytes(second.signature[32:64], "big"),
        second.signature[64],
    )
    high_s = Vote(
        second.kind, HEIGHT, BLOCK_B, r + (SECP256K1_N - s).to_bytes(32, "big") + bytes([v ^ 1])
    )
    foreign = sign_vote(key_of(1), domain(auth)[0] + 1, domain(auth)[1], HEIGHT, BLOCK_B)
    prevotes = votes(auth, key_of(1), VoteKind.PREVOTE)

    def as_precommit(vote: Vote) -> str:
        """Whom `vote`'s signature recovers to here, read as a precommit."""
        relabelled = Vote(VoteKind.PRECOMMIT, vote.height, vote.block_hash, vote.signature)
        return "0x" + voter_of(relabelled, *domain(auth)).hex()

    cases: list[tuple[Any, tuple[Any, ...]]] = [
        (report(auth, first, second, kind=3), ("AuthorityEvidenceBadKind", 3)),
        (report(auth, first, first), ("AuthorityEvidenceSameBlock", HEIGHT, BLOCK_A)),
        (
            report(auth, first, other),
            ("AuthorityEvidenceSignersDiffer", auth.candidates[1], auth.candidates[2]),
        ),
        (report(auth, first, high_s), ("AuthorityEvidenceBadSignature", BLOCK_B)),
        (report(auth, *votes(auth, stranger)), ("AuthorityNotMember", stranger_address)),
        # A vote of another chain recovers to someone else on this one.
        (
            report(auth, first, foreign),
            ("AuthorityEvidenceSignersDiffer", auth.candidates[1], as_precommit(foreign)),
        ),
        # A prevote passed off as a precommit: the kind is signed.
        (
            report(auth, *prevotes, kind=2),
            ("AuthorityEvidenceSignersDiffer", *(as_precommit(v) for v in prevotes)),
        ),
    ]
    for call, (name, *args) in cases:
        with expect_revert(name, *args), auth.stack.reverts():
            auth.stack.call(call, sender)
    assert auth.f.snapshotCount().call() == 1  # nothing changed


def test_gas_of_a_report(auth: Auth) -> None:
    receipt = auth.send(report(auth, *votes(auth, key_of(1))), auth.stack.roles.treasury)
    data = bytes(auth.stack.w3.eth.get_transaction(receipt["transactionHash"])["input"])
    calldata_gas = sum(4 if byte == 0 else 16 for byte in data)  # EIP-2028
    # Execution gas: receipt gas less the 21,000 intrinsic and the calldata, which depends on
    # the signatures' bytes (the contract address is in the digest, and differs by engine).
    # 120,496 before reportSealEquivocation shared the signature check and the removal.
    assert receipt["gasUsed"] - 21_000 - calldata_gas == 120_542
