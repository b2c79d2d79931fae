"""Fixtures shared by the consensus tests: in-process networks of 3 and 4 replicas."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.node.consensus.memnet import MemNet


@pytest.fixture
def net3(tmp_path: Path) -> Iterator[MemNet]:
    net = MemNet(tmp_path, 3)
    yield net
    net.close()


@pytest.fixture
def net4(tmp_path: Path) -> Iterator[MemNet]:
    net = MemNet(tmp_path, 4)
    yield net
    net.close()
