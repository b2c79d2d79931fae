"""Receipts of the embedded chain, built without pyrlp's general encoder.

py-evm's receipt costs two slow steps per transaction: the logs bloom (eth_bloom hashes every
address and topic through several generator layers) and the receipt's RLP (pyrlp walks the
sedes of every field of every log), which the receipt trie and the database both need. A
reading batch emits 60 logs, so these two made about a sixth of a block's build time.
`make_receipt` returns the same Receipt py-evm's Byzantium-and-later VMs build (status,
cumulative gas, bloom, logs; wrapped as a typed receipt for typed transactions) with the
bloom computed directly (each distinct address or topic hashed once) and the RLP written by
`receipt_payload` and stored in the receipt's `_cached_rlp`, where pyrlp looks first. The
tests compare both with py-evm's and pyrlp's on random logs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eth.abc import ReceiptAPI
from eth.rlp.logs import Log
from eth.rlp.receipts import Receipt
from eth.vm.forks.berlin.transactions import TypedTransaction
from eth.vm.forks.byzantium.constants import EIP658_TRANSACTION_STATUS_CODE_FAILURE as FAILURE
from eth.vm.forks.byzantium.constants import EIP658_TRANSACTION_STATUS_CODE_SUCCESS as SUCCESS
from eth_hash.auto import keccak

LogEntry = tuple[bytes, Sequence[int], bytes]  # (address, topics, data) as py-evm gives them
BLOOM_BYTES = 256


def _bloom_bits(value: bytes) -> int:
    h = keccak(value)
    return (
        (1 << (((h[0] << 8) | h[1]) & 2047))
        | (1 << (((h[2] << 8) | h[3]) & 2047))
        | (1 << (((h[4] << 8) | h[5]) & 2047))
    )


def log_bloom(entries: Sequence[LogEntry]) -> int:
    """The 2048-bit logs bloom of `entries` (Yellow Paper M: 3 bits per address and topic)."""
    seen: dict[bytes, int] = {}
    bloom = 0
    for address, topics, _ in entries:
        for item in (address, *(t.to_bytes(32, "big") for t in topics)):
            bits = seen.get(item)
            if bits is None:
                bits = seen[item] = _bloom_bits(item)
            bloom |= bits
    return bloom


def _prefix(length: int, offset: int) -> bytes:
    if length < 56:
        return bytes((offset + length,))
    size = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((offset + 55 + len(size),)) + size


def _string(value: bytes) -> bytes:
    if len(value) == 1 and value[0] < 0x80:
        return value
    return _prefix(len(value), 0x80) + value


def _list(items: Sequence[bytes]) -> bytes:
    payload = b"".join(items)
    return _prefix(len(payload), 0xC0) + payload


def receipt_payload(status: bytes, gas_used: int, bloom: int, entries: Sequence[LogEntry]) -> bytes:
    """RLP of [status, cumulative gas used, bloom, logs] as pyrlp encodes py-evm's Receipt."""
    gas = gas_used.to_bytes((gas_used.bit_length() + 7) // 8, "big")
    logs = [
        _list(
            (
                _string(address),
                _list([b"\xa0" + t.to_bytes(32, "big") for t in topics]),
                _string(data),
            )
        )
        for address, topics, data in entries
    ]
    return _list(
        (_string(status), _string(gas), _string(bloom.to_bytes(BLOOM_BYTES, "big")), _list(logs))
    )


def build_receipt(
    transaction: Any, success: bool, gas_used: int, entries: Sequence[LogEntry]
) -> ReceiptAPI:
    """The receipt py-evm's `transaction.make_receipt` gives, with its bloom and RLP made here."""
    status = SUCCESS if success else FAILURE
    bloom = log_bloom(entries)
    inner = Receipt(
        state_root=status,
        gas_used=gas_used,
        logs=[Log(address, tuple(topics), data) for address, topics, data in entries],
        bloom=bloom,
    )
    inner._cached_rlp = receipt_payload(status, gas_used, bloom, entries)
    if isinstance(transaction, TypedTransaction):
        builder = transaction.receipt_builder
        return builder.typed_receipt_class(transaction.type_id, inner)  # type: ignore[arg-type]
    return inner


def make_receipt(vm_class: Any, base_header: Any, transaction: Any, computation: Any) -> ReceiptAPI:
    """What ByzantiumVM.make_receipt returns (status by EIP-658, cumulative gas used)."""
    gas_used = base_header.gas_used + vm_class.finalize_gas_used(transaction, computation)
    return build_receipt(
        transaction, not computation.is_error, gas_used, computation.get_log_entries()
    )
