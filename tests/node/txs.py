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


BLAKE2F = "0x" + "00" * 19 + "09"


def blake2f_input(rounds: int) -> bytes:
    """EIP-152 input of the BLAKE2F precompile (0x09): `rounds` rounds (gas = rounds)."""
    return rounds.to_bytes(4, "big") + bytes(64) + bytes(128) + bytes(16) + b"\x01"


def signed_blake2f(sender: LocalAccount, nonce: int, rounds: int) -> bytes:
    """A raw transaction from `sender` at `nonce` calling BLAKE2F with `rounds` rounds."""
    signed = sender.sign_transaction(
        {
            "to": BLAKE2F,
            "data": blake2f_input(rounds),
            "value": 0,
            "gas": 30_000 + rounds,
            "nonce": nonce,
            "maxFeePerGas": 10**10,
            "maxPriorityFeePerGas": 1,
            "chainId": 31_337,
            "type": 2,
        }
    )
    return bytes(signed.raw_transaction)
