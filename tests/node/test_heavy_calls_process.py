"""A real node process under the heaviest eth_calls a stranger may send (BLAKE2F up to the
gas cap, each stopped at the EVM timeout): another client's JSON-RPC and REST reads answer
within a second and its transactions keep being mined; every heavy call is answered with
the timeout error."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from eth_account import Account

from tests.node.nodeproc import NodeProcess, start_node, write_config
from tests.node.txs import BLAKE2F, blake2f_input, signed_transfer

USER = Account.from_key(b"\x07" * 32)
EVM_TIMEOUT_S = 3.0
ATTACK_S = 8.0


@pytest.fixture
def node(tmp_path: Path) -> Iterator[NodeProcess]:
    config = write_config(tmp_path / "node.toml", {USER.address: 10**24}, block_period_s=0.2)
    with config.open("a", encoding="utf-8") as out:
        out.write(f"\n[rpc]\nevm_timeout_s = {EVM_TIMEOUT_S}\nrequest_budget_s = 6.0\n")
    proc = start_node(tmp_path / "data", config)
    yield proc
    proc.stop()


def rpc(node: NodeProcess, method: str, *params: Any, timeout_s: float = 30) -> Any:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
    return requests.post(f"{node.url}/rpc", json=body, timeout=timeout_s).json()


def test_heavy_calls_stall_neither_reads_nor_blocks(node: NodeProcess) -> None:
    heavy = {"to": BLAKE2F, "data": "0x" + blake2f_input(49_900_000).hex()}  # no gas: the 50M cap
    batch = [
        {"jsonrpc": "2.0", "id": i, "method": "eth_call", "params": [heavy, "latest"]}
        for i in range(3)
    ]
    stop = threading.Event()
    answers: list[str] = []

    def attack() -> None:
        while not stop.is_set():
            reply = requests.post(f"{node.url}/rpc", json=batch, timeout=60).json()
            answers.extend(r["error"]["message"] for r in reply)

    assert requests.get(f"{node.url}/v1/market/intervals/1", timeout=10).ok  # warm
    attacker = threading.Thread(target=attack)
    attacker.start()
    time.sleep(0.5)  # the first batch is executing
    read_s: list[float] = []
    mined = 0
    try:
        start_head = int(rpc(node, "eth_blockNumber")["result"], 16)
        end = time.monotonic() + ATTACK_S
        nonce = 0
        while time.monotonic() < end:
            t0 = time.monotonic()
            rpc(node, "eth_blockNumber", timeout_s=10)
            assert requests.get(f"{node.url}/v1/market/intervals/1", timeout=10).ok
            read_s.append(time.monotonic() - t0)
            sent = rpc(node, "eth_sendRawTransaction", "0x" + signed_transfer(USER, nonce).hex())
            nonce += 1
            deadline = time.monotonic() + 3.0
            while time.monotonic() < deadline:
                if rpc(node, "eth_getTransactionReceipt", sent["result"])["result"] is not None:
                    mined += 1
                    break
                time.sleep(0.05)
    finally:
        stop.set()
        attacker.join()
    assert max(read_s) < 1.0, read_s  # without the fix, reads wait for a call: seconds
    assert mined == nonce and mined >= 3  # every transfer mined within 3 s
    assert int(rpc(node, "eth_blockNumber")["result"], 16) >= start_head + mined
    assert answers and set(answers) <= {
        f"execution timeout after {EVM_TIMEOUT_S} s (rpc.evm_timeout_s)",
        "execution timeout after 6.0 s (rpc.request_budget_s)",
    }, json.dumps(sorted(set(answers)))
