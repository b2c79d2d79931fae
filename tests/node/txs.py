"""Signed plain transfers for node tests (EIP-1559, chain 31337, 21,000 gas)."""

from __future__ import annotations

from eth_account.signers.local import LocalAccount


def signed_transfer(sender: LocalAccount, nonce: int, value: int = 1, to: str = "66") -> bytes:
    """A raw transfer of `value` wei from `sender` to 0x`to`*20 at `nonce`."""
    signed = sender.sign_transaction(
        {
            "to": "0x" + to * 20,
            "value": value,
            "gas": 21_000,
            "nonce": nonce,
            "maxFeePerGas": 10**10,
            "maxPriorityFeePerGas": 1,
            "chainId": 31_337,
            "type": 2,
        }
    )
    return bytes(signed.raw_transaction)
