"""One single-node testnet (a real node process sealing a block per second) per module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.node.testnet.harness import LocalTestnet

NODE = "node1"


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalTestnet]:
    testnet = LocalTestnet(Path(tmp_path_factory.mktemp("adversarial")) / "net", 1).up()
    yield testnet
    testnet.down()
