"""txsender recovers the sender py-evm recovers, for legacy, EIP-155 and typed transactions,
and leaves bad signatures to py-evm's own error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from eth.constants import SECPK1_N
from eth.vm.forks.cancun.transactions import CancunTransactionBuilder
from eth_keys.datatypes import PrivateKey
from eth_keys.exceptions import BadSignature
from eth_utils.exceptions import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from gridledger.node.ledger.embedded import txsender
from gridledger.node.ledger.embedded.chain import EmbeddedChain
from gridledger.node.ledger.embedded.genesis import GenesisConfig
from gridledger.node.ledger.embedded.txsender import cache_sender, recover_sender

B = CancunTransactionBuilder


def _tx(kind: str, key: PrivateKey, nonce: int, data: bytes) -> Any:
    if kind == "typed":
        unsigned = B.new_unsigned_dynamic_fee_transaction(
            chain_id=31_337, nonce=nonce, max_priority_fee_per_gas=1, max_fee_per_gas=2,
            gas=100_000, to=b"\x01" * 20, value=3, data=data, access_list=(),
        )  # fmt: skip
        return unsigned.as_signed_transaction(key)
    unsigned = B.create_unsigned_transaction(
        nonce=nonce, gas_price=1, gas=100_000, to=b"\x01" * 20, value=3, data=data
    )
    return unsigned.as_signed_transaction(key, chain_id=31_337 if kind == "eip155" else None)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(1, SECPK1_N - 1),
    kind=st.sampled_from(("typed", "eip155", "legacy")),
    nonce=st.integers(0, 2**32),
    data=st.binary(max_size=100),
)
def test_same_sender_as_py_evm(seed: int, kind: str, nonce: int, data: bytes) -> None:
    key = PrivateKey(seed.to_bytes(32, "big"))
    reference = _tx(kind, key, nonce, data)
    expected = reference.sender  # py-evm's path (eth_keys)
    assert expected == key.public_key.to_canonical_address()
    decoded = B.decode(reference.encode())
    assert recover_sender(decoded) == expected
    cache_sender(decoded)
    assert "sender" in decoded.__dict__ and decoded.sender == expected


def test_bad_signatures_are_left_to_py_evm() -> None:
    """Out-of-range r, s or y parity: nothing cached, and py-evm's sender raises."""
    good = _tx("typed", PrivateKey(b"\x05" * 32), 0, b"")
    for change in ({"r": 0}, {"s": SECPK1_N}, {"r": SECPK1_N + 1}, {"y_parity": 2}):
        bent = good.copy(**change)
        assert recover_sender(bent) is None
        cache_sender(bent)
        assert "sender" not in bent.__dict__
        with pytest.raises((ValidationError, BadSignature)):
            _ = bent.sender


def test_the_chain_admits_through_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pool admission recovers the sender here, not through py-evm's path."""
    recovered: list[bytes | None] = []

    def counted(tx: Any) -> bytes | None:
        recovered.append(recover_sender(tx))
        return recovered[-1]

    monkeypatch.setattr(txsender, "recover_sender", counted)
    key = PrivateKey(b"\x06" * 32)
    sender = key.public_key.to_canonical_address()
    genesis = GenesisConfig(base_fee_wei=1, prefund={"0x" + sender.hex(): 10**18})
    chain = EmbeddedChain(tmp_path, genesis)
    chain.submit_raw(_tx("typed", key, 0, b"").encode())
    assert recovered == [sender]
