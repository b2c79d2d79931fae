"""Equivocation evidence on-chain: the transaction calling AuthoritySet.reportEquivocation with
two conflicting votes of one authority, which removes it from the next block on.

Every honest authority that sees an equivocation submits it, signed with its authority key
(authorities are funded at genesis) and gossiped like any transaction: the first to be mined
removes the offender; the others revert with AuthorityNotMember and change nothing.
"""

from __future__ import annotations

import logging

from eth_abi.abi import encode
from eth_account import Account
from eth_keys.datatypes import PrivateKey
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from gridledger.node.consensus.finality import Equivocation
from gridledger.node.ledger.embedded.chain import EmbeddedChain, TransactionRejectedError

log = logging.getLogger(__name__)

SELECTOR = keccak(text="reportEquivocation(uint8,uint64,bytes32,bytes,bytes32,bytes)")[:4]
EVIDENCE_GAS = 300_000
"""Gas limit of a report (it uses about 150k: two recoveries and a snapshot of the set)."""
PRIORITY_FEE_WEI = 1_000_000_000


def evidence_calldata(evidence: Equivocation) -> bytes:
    first, second = evidence.first, evidence.second
    return SELECTOR + encode(
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
    chain: EmbeddedChain, key: PrivateKey, authority_set: bytes, evidence: Equivocation
) -> bytes | None:
    """Pool (and gossip) the report of `evidence`; its transaction hash, or None if the pool
    refused it (logged)."""
    sender = bytes(key.public_key.to_canonical_address())
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
        log.warning("evidence against 0x%s not pooled: %s", evidence.voter.hex(), exc)
        return None
    log.warning(
        "submitted evidence against authority 0x%s to AuthoritySet (tx 0x%s)",
        evidence.voter.hex(),
        tx_hash.hex(),
    )
    return tx_hash
