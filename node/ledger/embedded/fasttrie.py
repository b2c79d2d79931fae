"""The transaction and receipt tries of a block, built in one pass.

py-evm builds them by inserting into its general HexaryTrie one key at a time (about 1 ms
per insert here, twice per transaction: the largest cost of mining a block). A block's tries
are special: keys are rlp(0), rlp(1), ..., known all at once, so the Merkle-Patricia trie can
be built bottom-up in one pass. `ordered_trie_root_and_nodes` returns exactly what py-evm's
`make_trie_root_and_nodes` returns (root hash and every stored node), which the tests check
on random inputs; `install()` makes py-evm use it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import eth.db.chain
import eth.vm.base
import rlp
from eth_utils.crypto import keccak
from rlp.sedes import big_endian_int

BLANK_ROOT_HASH = keccak(rlp.encode(b""))


def _nibbles(key: bytes) -> tuple[int, ...]:
    out: list[int] = []
    for byte in key:
        out += (byte >> 4, byte & 0x0F)
    return tuple(out)


def _hex_prefix(nibbles: Sequence[int], leaf: bool) -> bytes:
    flag = 2 if leaf else 0
    if len(nibbles) % 2:
        head = [((flag + 1) << 4) | nibbles[0]]
        rest = nibbles[1:]
    else:
        head = [flag << 4]
        rest = nibbles
    return bytes(head + [(rest[i] << 4) | rest[i + 1] for i in range(0, len(rest), 2)])


def _common_prefix(keys: Sequence[tuple[int, ...]], depth: int) -> int:
    first, last = keys[0], keys[-1]  # keys are sorted: the common prefix of all is theirs
    n = 0
    limit = min(len(first), len(last)) - depth
    while n < limit and first[depth + n] == last[depth + n]:
        n += 1
    return n


def _build(
    items: Sequence[tuple[tuple[int, ...], bytes]], depth: int, nodes: dict[bytes, bytes]
) -> Any:
    if len(items) == 1:
        key, value = items[0]
        return [_hex_prefix(key[depth:], leaf=True), value]
    keys = [k for k, _ in items]
    shared = _common_prefix(keys, depth)
    if shared and all(len(k) > depth + shared for k in keys):
        child = _build(items, depth + shared, nodes)
        return [_hex_prefix(keys[0][depth : depth + shared], leaf=False), _ref(child, nodes)]
    branch: list[Any] = [b""] * 17
    start = 0
    if len(items[0][0]) == depth:  # a key ending here stores its value in the branch
        branch[16] = items[0][1]
        start = 1
    while start < len(items):
        nibble = items[start][0][depth]
        end = start
        while end < len(items) and items[end][0][depth] == nibble:
            end += 1
        branch[nibble] = _ref(_build(items[start:end], depth + 1, nodes), nodes)
        start = end
    return branch


def _ref(node: Any, nodes: dict[bytes, bytes]) -> Any:
    encoded = rlp.encode(node)
    if len(encoded) < 32:
        return node  # small nodes are embedded in their parent
    digest = keccak(encoded)
    nodes[digest] = encoded
    return digest


def ordered_trie_root_and_nodes(values: Sequence[bytes]) -> tuple[bytes, dict[bytes, bytes]]:
    """Root hash and node store of the trie mapping rlp(i) -> values[i]."""
    if not values:
        return BLANK_ROOT_HASH, {}
    items = sorted(
        (_nibbles(rlp.encode(i, sedes=big_endian_int)), value) for i, value in enumerate(values)
    )
    nodes: dict[bytes, bytes] = {}
    root = rlp.encode(_build(items, 0, nodes))
    root_hash = keccak(root)
    nodes[root_hash] = root
    return root_hash, nodes


def make_trie_root_and_nodes(items: Sequence[Any]) -> tuple[bytes, dict[bytes, bytes]]:
    """Drop-in for eth.db.trie.make_trie_root_and_nodes (transactions, receipts, withdrawals)."""
    return ordered_trie_root_and_nodes([item.encode() for item in items])


def install() -> None:
    """Make py-evm's block building and block import use the one-pass builder."""
    eth.vm.base.make_trie_root_and_nodes = make_trie_root_and_nodes  # type: ignore[attr-defined,assignment]
    eth.db.chain.make_trie_root_and_nodes = make_trie_root_and_nodes  # type: ignore[attr-defined,assignment]
