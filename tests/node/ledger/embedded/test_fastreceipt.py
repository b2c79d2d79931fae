"""fastreceipt builds py-evm's receipts: same bloom, same RLP, same typed wrapping."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import rlp
from eth.abc import ReceiptAPI
from eth.rlp.logs import Log
from eth.rlp.receipts import Receipt
from eth.vm.forks.cancun.transactions import CancunTransactionBuilder
from eth_bloom import BloomFilter
from eth_keys.datatypes import PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from gridledger.node.ledger.embedded import fastreceipt
from gridledger.node.ledger.embedded.chain import EmbeddedChain
from gridledger.node.ledger.embedded.fastreceipt import build_receipt, log_bloom, receipt_payload
from gridledger.node.ledger.embedded.genesis import GenesisConfig

KEY = PrivateKey(b"\x07" * 32)
entries_strategy = st.lists(
    st.tuples(
        st.binary(min_size=20, max_size=20),
        st.lists(st.integers(0, 2**256 - 1), max_size=4).map(tuple),
        st.one_of(st.binary(max_size=3), st.binary(max_size=300)),
    ),
    max_size=12,
)


def _legacy_tx() -> object:
    return CancunTransactionBuilder.new_transaction(
        nonce=0, gas_price=1, gas=21_000, to=b"\x01" * 20, value=0, data=b"", v=27, r=1, s=1
    )


def _typed_tx() -> object:
    return CancunTransactionBuilder.new_unsigned_dynamic_fee_transaction(
        chain_id=1, nonce=0, max_priority_fee_per_gas=0, max_fee_per_gas=1, gas=21_000,
        to=b"\x01" * 20, value=0, data=b"", access_list=(),
    ).as_signed_transaction(KEY)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(
    entries=entries_strategy,
    success=st.booleans(),
    gas_used=st.one_of(st.integers(0, 127), st.integers(0, 2**63)),
    typed=st.booleans(),
)
def test_receipts_equal_py_evm(
    entries: list[tuple[bytes, tuple[int, ...], bytes]], success: bool, gas_used: int, typed: bool
) -> None:
    tx = _typed_tx() if typed else _legacy_tx()
    status = b"\x01" if success else b""
    expected = tx.make_receipt(status, gas_used, tuple(entries))  # type: ignore[attr-defined]
    fast = build_receipt(tx, success, gas_used, entries)
    assert type(fast) is type(expected)
    assert fast == expected
    assert fast.bloom == expected.bloom
    assert fast.encode() == expected.encode()
    inner = Receipt(status, gas_used, [Log(a, t, d) for a, t, d in entries])
    assert receipt_payload(status, gas_used, inner.bloom, entries) == rlp.encode(inner, cache=False)


@settings(max_examples=100, deadline=None)
@given(entries=entries_strategy)
def test_bloom_equals_eth_bloom(entries: list[tuple[bytes, tuple[int, ...], bytes]]) -> None:
    items = [
        item for a, topics, _ in entries for item in (a, *(t.to_bytes(32, "big") for t in topics))
    ]
    assert log_bloom(entries) == int(BloomFilter.from_iterable(items))


def test_long_payloads_take_long_prefixes() -> None:
    """Lists and strings of 56 bytes and more use the length-of-length prefixes."""
    for size in (55, 56, 255, 256, 70_000):
        entries = [(b"\x02" * 20, (1, 2), bytes(size))]
        inner = Receipt(b"\x01", 21_000, [Log(a, t, d) for a, t, d in entries])
        assert receipt_payload(b"\x01", 21_000, inner.bloom, entries) == rlp.encode(
            inner, cache=False
        )


def test_the_embedded_chain_builds_its_receipts_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A mined block's receipts come from fastreceipt (py-evm's would pass the equality
    tests above just as well, so this is what shows the chain uses them)."""
    built: list[ReceiptAPI] = []

    def counted(*args: Any) -> ReceiptAPI:
        built.append(build_receipt(*args))
        return built[-1]

    monkeypatch.setattr(fastreceipt, "build_receipt", counted)
    sender = "0x" + KEY.public_key.to_canonical_address().hex()
    genesis = GenesisConfig(chain_id=1, base_fee_wei=1, prefund={sender: 10**18})
    chain = EmbeddedChain(tmp_path, genesis)
    chain.submit_raw(_typed_tx().encode())  # type: ignore[attr-defined]
    mined = chain.produce_block()
    assert mined is not None and list(mined.receipts) == built and len(built) == 1
