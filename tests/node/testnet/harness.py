"""A real testnet for tests: node processes on loopback started by node.testnet."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from eth_account.signers.local import LocalAccount
from web3 import Web3

from gridledger.node import testnet
from gridledger.node.keys import PASSPHRASE_ENV, load_role
from gridledger.node.keys.api_key import load_or_create_api_key
from gridledger.node.ledger.http import rpc_web3
from gridledger.node.testnet import NodeEntry
from tests.node.nodeproc import PASSPHRASE  # one passphrase for every test in a worker
from tests.node.txs import signed_transfer


def wait_for(what: str, check: Callable[[], bool], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


class LocalTestnet:
    """`nodes` node processes in `data_dir` (1 s blocks); `spec` adds TestnetSpec fields
    (operator_service, interval_length_s, ...)."""

    def __init__(self, data_dir: Path, nodes: int, clock: str = "wall", **spec: Any) -> None:
        os.environ[PASSPHRASE_ENV] = PASSPHRASE
        self.data_dir = data_dir
        # a random first port: parallel test workers look for free ranges at the same time
        base_port = testnet.free_base_port(nodes, first=random.randrange(20_000, 31_000, 37))
        self.spec = testnet.TestnetSpec(nodes, base_port, period_s=1, clock=clock, **spec)
        self.entries: list[NodeEntry] = []
        self.lines: list[str] = []

    def up(self) -> LocalTestnet:
        try:
            self.entries = testnet.up(self.data_dir, self.spec, self.lines.append)
        except BaseException:
            self.down()  # a testnet that failed to start leaves no process holding its ports
            raise
        return self

    def down(self) -> None:
        testnet.down(self.data_dir, self.lines.append)

    def entry(self, name: str) -> NodeEntry:
        return next(e for e in self.entries if e.name == name)

    def pid(self, name: str) -> int | None:
        return testnet.running_pid(self.data_dir, self.entry(name))

    def health(self, name: str) -> dict[str, Any]:
        return testnet.health(self.entry(name), timeout_s=3.0) or {}

    def w3(self, name: str) -> Web3:
        return rpc_web3(f"{self.entry(name).url}/rpc", timeout_s=10)

    def account(self, name: str, role: str = "treasury") -> LocalAccount:
        return load_role(self.data_dir / name / "keystore", role)

    def post(
        self, name: str, path: str, body: dict[str, Any], timeout_s: float = 10
    ) -> requests.Response:
        """POST `body` to `path` on node `name` with its API key."""
        key = load_or_create_api_key(self.data_dir / name)
        return requests.post(
            f"{self.entry(name).url}{path}",
            json=body,
            headers={"Authorization": f"Bearer {key}"},
            timeout=timeout_s,
        )

    def admin(self, name: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        reply = self.post(name, path, body)
        reply.raise_for_status()
        result: dict[str, Any] = reply.json()
        return result

    def log(self, name: str) -> str:
        return (self.data_dir / name / "node.log").read_text(encoding="utf-8", errors="replace")


def transfer(
    net: LocalTestnet, via: str, sender: LocalAccount, nonce: int, value: int = 1
) -> bytes:
    """Send a signed transfer through node `via`; its hash once the node acknowledged it."""
    raw = signed_transfer(sender, nonce, value=value)
    return bytes(net.w3(via).eth.send_raw_transaction(raw))
