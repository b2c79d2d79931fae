"""A transaction's sender recovered through libsecp256k1 directly.

py-evm's `tx.sender` goes through eth_keys (a lazily looked-up backend, Signature and
PublicKey objects with their validations) around the same libsecp256k1 recovery that
coincurve exposes (secp256k1.recover_address); for a plain token transfer that wrapping cost
about as much as the recovery. `cache_sender` recovers exactly what py-evm's
`extract_transaction_sender` does (y parity, r and s over the transaction's message for
signing) and stores it where the `sender` cached property keeps its value; if anything is
out of range or the recovery fails, nothing is stored and py-evm's own path runs (and raises
its own error) on first use.
"""

from __future__ import annotations

from typing import Any

from eth_utils.crypto import keccak

from gridledger.node.ledger.embedded.secp256k1 import recover_address

SENDER_ATTRIBUTE = "sender"  # the name of py-evm's cached property


def recover_sender(tx: Any) -> bytes | None:
    """The address that signed `tx`, or None if the fields or the recovery are not valid."""
    return recover_address(keccak(tx.get_message_for_signing()), tx.r, tx.s, tx.y_parity)


def cache_sender(tx: Any) -> None:
    """Recover `tx`'s sender here and keep it as `tx.sender` (py-evm's path if that fails)."""
    if SENDER_ATTRIBUTE in tx.__dict__:
        return
    sender = recover_sender(tx)
    if sender is not None:
        tx.__dict__[SENDER_ATTRIBUTE] = sender
