"""Address recovery from a secp256k1 signature through libsecp256k1 (coincurve) directly.

Shared by the ecrecover precompile (fastvm_precompiles) and pooled transactions' senders
(txsender): both need the same recovery without eth_keys' object layers around it.
"""

from __future__ import annotations

from coincurve import PublicKey
from eth.constants import SECPK1_N
from eth_utils.crypto import keccak


def recover_address(msg_hash: bytes, r: int, s: int, y_parity: int) -> bytes | None:
    """The 20-byte address whose key signed the 32-byte `msg_hash` as (r, s, y parity); None
    if y parity is not 0 or 1, r or s is not below the group order, or recovery fails."""
    if y_parity not in (0, 1) or not (0 <= r < SECPK1_N and 0 <= s < SECPK1_N):
        return None
    try:
        public_key = PublicKey.from_signature_and_message(
            r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes((y_parity,)),
            msg_hash,
            hasher=None,
        ).format(compressed=False)[1:]
    except Exception:  # r or s zero, no point on the curve: no address
        return None
    return keccak(public_key)[12:]
