"""Fixtures: in-process nodes (fast) for the REST tests; real node processes are started by
the tests that need one (test_node_process.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gridledger.contracts.units import TOKEN_UNITS
from tests.node.rest.inprocess import InProcessNode

PROSUMER_TOKENS_UNITS = 1_000 * TOKEN_UNITS


@pytest.fixture(scope="module")
def fresh_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessNode]:
    """A node whose prosumer is neither admitted nor funded."""
    node = InProcessNode(tmp_path_factory.mktemp("fresh") / "data")
    yield node
    node.stop()


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessNode]:
    """A node whose prosumer is admitted (with a meter) and holds PROSUMER_TOKENS_UNITS."""
    node = InProcessNode(tmp_path_factory.mktemp("node") / "data")
    node.admit_prosumer(PROSUMER_TOKENS_UNITS)
    yield node
    node.stop()
