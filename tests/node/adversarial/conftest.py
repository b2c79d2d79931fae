"""One two-node testnet per module (real node processes sealing a block per second in
turn); the attacks go to node1, and every node must come through them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.node.testnet.harness import LocalTestnet

NODE = "node1"
NODES = 2


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalTestnet]:
    testnet = LocalTestnet(Path(tmp_path_factory.mktemp("adversarial")) / "net", NODES).up()
    yield testnet
    testnet.down()
