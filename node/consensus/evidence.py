"""Equivocation evidence on-chain: the transaction that removes an authority from the next
block on, with the two signatures that prove its fault.

Two kinds of evidence, both checked by AuthoritySet from the signatures alone:
- two finality votes of one kind by one authority at one height for different blocks
  (`Equivocation`, from node.consensus.finality): `AuthoritySet.reportEquivocation`;
- two seals by one authority at one Aura step over different headers (`SealEquivocation`,
  caught by the consensus when both blocks arrive): `AuthoritySet.reportSealEquivocation`
  with the step, each block's bare header hash and its seal (node.ledger.embedded.aura: the
  seal signs a digest of the step and the bare hash, so the contract parses no RLP).

Every honest authority that sees an equivocation submits it once, signed with its authority
key (authorities are funded at genesis) and gossiped like any transaction: the first to be
mined removes the offender; the others revert with AuthorityNotMember and change nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from eth_abi.abi import encode
from eth_account import Account
from eth_keys.datatypes import PrivateKey
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from gridledger.node.consensus.finality import Equivocation
from gridledger.node.ledger.embedded.chain import EmbeddedChain, TransactionRejectedError

log = logging.getLogger(__name__)

VOTE_SELECTOR = keccak(text="reportEquivocation(uint8,uint64,bytes32,bytes,bytes32,bytes)")[:4]
SEAL_SELECTOR = keccak(text="reportSealEquivocation(uint64,bytes32,bytes,bytes32,bytes)")[:4]
EVIDENCE_GAS = 300_000
"""Gas limit of a report (it uses about 150k: two recoveries and a snapshot of the set)."""
PRIORITY_FEE_WEI = 1_000_000_000


@dataclass(frozen=True, slots=True)
class SealEquivocation:
    """Two seals by `sealer` at one Aura `step` over different headers: a fault (a proposer
    seals one block for its step). bare_hashes: the two headers' hashes with only the step in
    extra_data (node.ledger.embedded.aura.seal_hash); signatures: the two 65-byte seals;
    block_hashes: the two blocks' hashes."""

    sealer: bytes
    step: int
    bare_hashes: tuple[bytes, bytes]
    signatures: tuple[bytes, bytes]
    block_hashes: tuple[bytes, bytes]


Evidence = Equivocation | SealEquivocation


def offender_of(evidence: Evidence) -> bytes:
    """The authority `evidence` proves faulty."""
    return evidence.voter if isinstance(evidence, Equivocation) else evidence.sealer


def describe(evidence: Evidence) -> str:
    """What the evidence holds, for the log: 'two precommits at height 7', 'two seals at step 9'."""
    if isinstance(evidence, Equivocation):
        kind = evidence.first.kind.name.lower()
        return f"two {kind}s at height {evidence.first.height}"
    return f"two seals at step {evidence.step}"


def evidence_calldata(evidence: Evidence) -> bytes:
    """The call of AuthoritySet that reports `evidence`."""
    if isinstance(evidence, SealEquivocation):
        (hash_a, hash_b), (sig_a, sig_b) = evidence.bare_hashes, evidence.signatures
        return SEAL_SELECTOR + encode(
            ["uint64", "bytes32", "bytes", "bytes32", "bytes"],
            [evidence.step, hash_a, sig_a, hash_b, sig_b],
        )
    first, second = evidence.first, evidence.second
    return VOTE_SELECTOR + encode(
        ["uint8", "uint64", "bytes32", "bytes", "bytes32", "bytes"],
        [
            int(first.kind),
            first.height,
            first.block_hash,
            first.signature,
            second.block_hash,
            second.signature,
        ],
    )


def submit_evidence(
    chain: EmbeddedChain, key: PrivateKey, authority_set: bytes, evidence: Evidence
) -> bytes | None:
    """Pool (and gossip) the report of `evidence`; its transaction hash, or None if the pool
    refused it (logged)."""
    sender = bytes(key.public_key.to_canonical_address())
    offender = offender_of(evidence)
    with chain.lock:
        base_fee_wei = int(chain.chain.header.base_fee_per_gas or 0)
        nonce = chain.pending_nonce(sender)
    tx = {
        "type": 2,
        "chainId": chain.genesis.chain_id,
        "nonce": nonce,
        "to": to_checksum_address(authority_set),
        "value": 0,
        "gas": EVIDENCE_GAS,
        "maxPriorityFeePerGas": PRIORITY_FEE_WEI,
        "maxFeePerGas": 2 * base_fee_wei + PRIORITY_FEE_WEI,
        "data": evidence_calldata(evidence),
    }
    signed = Account.sign_transaction(tx, key.to_bytes())
    try:
        tx_hash = chain.submit_raw(bytes(signed.raw_transaction))
    except TransactionRejectedError as exc:
        log.warning("evidence against 0x%s not pooled: %s", offender.hex(), exc)
        return None
    log.warning(
        "submitted evidence against authority 0x%s to AuthoritySet (%s; tx 0x%s)",
        offender.hex(),
        describe(evidence),
        tx_hash.hex(),
    )
    return tx_hash
