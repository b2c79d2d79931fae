"""The one-pass block trie equals py-evm's HexaryTrie build, root and every node."""

from __future__ import annotations

from eth.db.trie import _make_trie_root_and_nodes
from hypothesis import given, settings
from hypothesis import strategies as st

from gridledger.node.ledger.embedded.fasttrie import ordered_trie_root_and_nodes


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.binary(min_size=1, max_size=120), max_size=300))
def test_same_root_and_nodes_as_py_evm(values: list[bytes]) -> None:
    assert ordered_trie_root_and_nodes(values) == _make_trie_root_and_nodes(tuple(values))


def test_large_blocks_cross_the_one_and_two_byte_index_boundaries() -> None:
    values = [bytes([i % 251]) * (1 + i % 90) for i in range(1_100)]
    assert ordered_trie_root_and_nodes(values) == _make_trie_root_and_nodes(tuple(values))
