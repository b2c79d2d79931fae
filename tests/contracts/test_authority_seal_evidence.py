"""AuthoritySet.reportSealEquivocation: two seals by one authority at one Aura step over
different headers remove it from the next block on; anything short of that is refused with the
reason, as the reference model (node.ledger.authority_model) refuses it. The digest is
node.ledger.embedded.aura's (the nodes seal with it): the evidence is taken from real sealed
headers, with no RLP for the contract to parse."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from eth.abc import BlockHeaderAPI
from eth_keys.datatypes import PrivateKey
from eth_utils.crypto import keccak

from gridledger.contracts.typed import SECP256K1_N
from gridledger.node.ledger.authority_model import AuthorityModel, AuthorityRuleError
from gridledger.node.ledger.embedded.aura import (
    SEAL_DOMAIN,
    STEP_BYTES,
    Aura,
    seal,
    seal_digest,
    seal_hash,
    sealer_of,
    step_of,
)
from gridledger.node.ledger.embedded.chain import EmbeddedChain
from gridledger.node.ledger.embedded.genesis import GenesisConfig
from gridledger.node.ledger.embedded.secp256k1 import recover_address
from gridledger.node.ledger.votes import sign_vote
from tests.contracts.authority_helpers import Auth
from tests.contracts.harness import expect_revert
from tests.contracts.test_authority_evidence import domain, key_of

STEP = 41
HASH_A = keccak(b"header sealed at step 41")
HASH_B = keccak(b"another header at step 41")

Seal = tuple[bytes, bytes]  # (bare header hash, 65-byte seal)


def sign_seal(key: PrivateKey, auth: Auth, bare_hash: bytes, step: int = STEP) -> bytes:
    return bytes(key.sign_msg_hash(seal_digest(*domain(auth), step, bare_hash)).to_bytes())


def seals(auth: Auth, key: PrivateKey) -> tuple[Seal, Seal]:
    return (HASH_A, sign_seal(key, auth, HASH_A)), (HASH_B, sign_seal(key, auth, HASH_B))


def report(auth: Auth, a: Seal, b: Seal, step: int = STEP) -> Any:
    return auth.f.reportSealEquivocation(step, a[0], a[1], b[0], b[1])


def model_of(auth: Auth) -> AuthorityModel:
    return AuthorityModel([bytes.fromhex(c[2:]) for c in auth.candidates[:3]])


def model_report(auth: Auth, a: Seal, b: Seal, step: int = STEP) -> tuple[bytes, int]:
    chain_id, contract = domain(auth)
    return model_of(auth).report_seal_equivocation(
        step, a[0], a[1], b[0], b[1], auth.head() + 1, chain_id=chain_id, authority_set=contract
    )


def two_sealed_headers(
    auth: Auth, key: PrivateKey, tmp_path: Path
) -> tuple[BlockHeaderAPI, BlockHeaderAPI]:
    """Two headers of block 1 at one step, both sealed by `key` on a chain whose seal domain
    is this stack's chain id and AuthoritySet: a block and the same block with a gas limit
    one lower (what the node's test hook `Consensus.equivocation_block` sends)."""
    chain_id, contract = domain(auth)
    genesis = GenesisConfig(chain_id=chain_id, timestamp_ts=1_800_000_000)
    address = bytes(key.public_key.to_canonical_address())
    aura = Aura((address,), 5, genesis.timestamp_ts, chain_id, contract)
    chain = EmbeddedChain(tmp_path / "sealer", genesis, aura=aura)
    try:
        first = chain.produce_sealed_block(aura, STEP, key).block.header
    finally:
        chain.close()
    bare = first.copy(gas_limit=first.gas_limit - 1)
    second = bare.copy(extra_data=seal(bare, key, aura))
    assert sealer_of(first, aura) == sealer_of(second, aura) == address
    assert first.hash != second.hash
    return first, second


def evidence_of(header: BlockHeaderAPI) -> Seal:
    return seal_hash(header), bytes(header.extra_data[STEP_BYTES:])


def test_the_contract_checks_the_seal_digest_the_nodes_sign(auth: Auth) -> None:
    assert bytes(auth.f.SEAL_DOMAIN().call()) == SEAL_DOMAIN
    assert bytes(auth.f.SEAL_DOMAIN().call()) != bytes(auth.f.VOTE_DOMAIN().call())
    for step in (0, STEP, 2**64 - 1):
        on_chain = bytes(auth.f.sealDigest(step, HASH_A).call())
        assert on_chain == seal_digest(*domain(auth), step, HASH_A)


def test_two_sealed_headers_at_one_step_remove_their_sealer(auth: Auth, tmp_path: Path) -> None:
    a, b, c = auth.candidates[:3]
    first, second = two_sealed_headers(auth, key_of(1), tmp_path)
    assert step_of(first) == step_of(second) == STEP
    evidence = (evidence_of(first), evidence_of(second))
    offender, effective = model_report(auth, *evidence)
    reporter = auth.stack.roles.treasury  # anyone
    # eth_call answers the offender (its effective block is that of a call at the head).
    assert auth.stack.call(report(auth, *evidence), reporter)[0] == b
    receipt = auth.send(report(auth, *evidence), reporter)
    assert receipt["blockNumber"] + 1 == effective and offender == bytes.fromhex(b[2:])
    (event,) = auth.stack.events(auth.contract, "AuthoritySealEquivocationReported", receipt)
    assert dict(event["args"]) == {
        "offender": b,
        "step": STEP,
        "hashA": evidence[0][0],
        "hashB": evidence[1][0],
        "effectiveBlock": effective,
        "reporter": reporter,
    }
    assert auth.f.authoritiesAt(effective - 1).call() == [a, b, c]
    assert auth.f.authoritiesAt(effective).call() == [a, c]
    # The same offender cannot be removed twice (by seals or votes); the last one stays.
    with expect_revert("AuthorityNotMember", b), auth.stack.reverts():
        auth.stack.call(report(auth, *reversed(evidence)), reporter)
    auth.send(report(auth, *seals(auth, key_of(0))), reporter)
    assert auth.f.scheduledAuthorities().call() == [c]
    with expect_revert("AuthorityLastMember", c), auth.stack.reverts():
        auth.stack.call(report(auth, *seals(auth, key_of(2))), reporter)


def test_seal_removal_waits_for_a_later_scheduled_change(auth: Auth) -> None:
    _, b, c, d = auth.candidates[:4]
    later = auth.head() + 30
    auth.send(auth.f.propose(d, True, later), auth.stack.roles.regulator)
    receipt = auth.send(report(auth, *seals(auth, key_of(0))), b)
    (event,) = auth.stack.events(auth.contract, "AuthoritySealEquivocationReported", receipt)
    assert event["args"]["effectiveBlock"] == later
    assert auth.f.authoritiesAt(later).call() == [b, c, d]


def refused_cases(auth: Auth) -> list[tuple[tuple[Seal, Seal, int], tuple[Any, ...]]]:
    """Seal evidence short of an equivocation, each with the error the contract (and the model)
    must refuse it with: ((first, second, step), (error name, *arguments))."""
    chain_id, contract = domain(auth)
    first, second = seals(auth, key_of(1))
    sig = second[1]
    s_value = int.from_bytes(sig[32:64], "big")
    high_s = sig[:32] + (SECP256K1_N - s_value).to_bytes(32, "big") + bytes([sig[64] ^ 1])
    stranger = PrivateKey(b"\x66" * 32)
    foreign_chain = bytes(
        key_of(1).sign_msg_hash(seal_digest(chain_id + 1, contract, STEP, HASH_B)).to_bytes()
    )
    other_step = sign_seal(key_of(1), auth, HASH_B, STEP + 1)
    vote = sign_vote(key_of(1), chain_id, contract, STEP, HASH_B)  # a vote is no seal

    def signer(signature: bytes) -> str:
        """Whom `signature` recovers to, read as a seal of HASH_B at STEP here."""
        digest = seal_digest(chain_id, contract, STEP, HASH_B)
        r, s = (int.from_bytes(signature[i : i + 32], "big") for i in (0, 32))
        address = recover_address(digest, r, s, signature[64] % 27)
        assert address is not None
        return "0x" + address.hex()

    b_address = auth.candidates[1]
    return [
        ((first, first, STEP), ("AuthorityEvidenceSameBlock", STEP, HASH_A)),
        (
            (first, (HASH_B, sign_seal(key_of(2), auth, HASH_B)), STEP),
            ("AuthorityEvidenceSignersDiffer", b_address, auth.candidates[2]),
        ),
        ((first, (HASH_B, high_s), STEP), ("AuthorityEvidenceBadSignature", HASH_B)),
        ((first, (HASH_B, sig[:64]), STEP), ("AuthorityEvidenceBadSignature", HASH_B)),
        ((first, (HASH_B, sig[:64] + b"\x1d"), STEP), ("AuthorityEvidenceBadSignature", HASH_B)),
        ((first, (HASH_B, bytes(65)), STEP), ("AuthorityEvidenceBadSignature", HASH_B)),
        (
            (*seals(auth, stranger), STEP),
            ("AuthorityNotMember", stranger.public_key.to_checksum_address()),
        ),
        # A seal of another chain, of another step, or a finality vote over the same hash
        # recovers to someone else here: the domain, the step and the prefix are signed.
        (
            (first, (HASH_B, foreign_chain), STEP),
            ("AuthorityEvidenceSignersDiffer", b_address, signer(foreign_chain)),
        ),
        (
            (first, (HASH_B, other_step), STEP),
            ("AuthorityEvidenceSignersDiffer", b_address, signer(other_step)),
        ),
        (
            (first, (HASH_B, vote.signature), STEP),
            ("AuthorityEvidenceSignersDiffer", b_address, signer(vote.signature)),
        ),
    ]


def test_seal_evidence_short_of_an_equivocation_is_refused_as_the_model_refuses_it(
    auth: Auth,
) -> None:
    sender = auth.stack.roles.treasury
    for (a, b, step), (name, *args) in refused_cases(auth):
        with expect_revert(name, *args), auth.stack.reverts():
            auth.stack.call(report(auth, a, b, step), sender)
        with pytest.raises(AuthorityRuleError) as caught:
            model_report(auth, a, b, step)
        got = tuple(
            "0x" + x.hex() if isinstance(x, bytes) and len(x) == 20 else x
            for x in caught.value.error_args
        )
        assert caught.value.name == name
        assert [str(x).lower() for x in got] == [str(x).lower() for x in args]
    assert auth.f.snapshotCount().call() == 1  # nothing changed


def test_gas_of_a_seal_report(auth: Auth) -> None:
    receipt = auth.send(report(auth, *seals(auth, key_of(1))), auth.stack.roles.treasury)
    data = bytes(auth.stack.w3.eth.get_transaction(receipt["transactionHash"])["input"])
    calldata_gas = sum(4 if byte == 0 else 16 for byte in data)  # EIP-2028
    # Execution gas, without the 21,000 intrinsic and the calldata (as for vote evidence).
    assert receipt["gasUsed"] - 21_000 - calldata_gas == 119_968
