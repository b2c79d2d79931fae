"""Embedded chain vs anvil on one workload, over JSON-RPC on loopback, in one run.

Workload (identical on both engines, transactions signed before the clock starts):
- calls: `calls_txs` GridToken transfers from one sender (a plain ~35k-gas contract call);
- readings: `reading_batches` Metering batches of 60 EIP-712 signed readings from 10 meters,
  relayed by one sender.
Each is submitted as JSON-RPC batches of eth_sendRawTransaction; the clock stops when the last
receipt is available. The embedded node seals blocks itself (0.2 s period); anvil runs with
`--no-mining` and is told to mine (evm_mine) after each submission batch, as docs/architecture.md
says (its automine dropped transactions under bursts). History: `history_txs` transfers are
mined on the embedded chain, then a receipt look-up of the oldest transaction and two log
queries are timed (median of 20): one rare topic over the whole chain (1 result, the index at
work) and every log of one block (hundreds of results, the serialisation at work).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from eth_account import Account
from web3 import HTTPProvider, Web3
from web3.middleware import SignAndSendRawMiddlewareBuilder

from gridledger.contracts.typed import domain_separator
from gridledger.node.benchmarks.workload import READINGS_PER_BATCH, reading_batch
from gridledger.node.keys import PASSPHRASE_ENV
from gridledger.node.launch import NodeProcess, free_port
from gridledger.node.ledger.deploy import (
    Deployment,
    MarketTiming,
    RegulationRules,
    Roles,
    deploy_stack,
)

Progress = Callable[[str], None]
ANVIL = Path(__file__).resolve().parents[2] / "contracts" / "node_modules" / ".bin" / "anvil"
DEPLOYER = Account.from_key(b"\x21" * 32)
RELAYER = Account.from_key(b"\x22" * 32)
CHAIN_ID = 31_337
SUBMIT_BATCH = 50


@dataclass(frozen=True, slots=True)
class Endpoint:
    name: str
    url: str
    mine: Callable[[], None]


def _wait(url: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    body: dict[str, Any] = {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}
    while time.monotonic() < deadline:
        try:
            if requests.post(url, json=body, timeout=1).ok:
                return
        except requests.RequestException:
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer in {timeout_s} s")


@contextmanager
def embedded_node(workdir: Path) -> Iterator[Endpoint]:
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = workdir / "node.toml"
    config.write_text(
        "[node]\nblock_period_s = 0.2\ndeploy_contracts = false\n\n[chain.prefund]\n"
        f'"{DEPLOYER.address}" = "{10**27}"\n"{RELAYER.address}" = "{10**27}"\n',
        encoding="utf-8",
    )
    node = NodeProcess(
        workdir / "data",
        os.environ.get(PASSPHRASE_ENV, "bench"),
        port=port,
        extra_args=("--config", str(config)),
    ).start()
    try:
        yield Endpoint("embedded", f"{node.url}/rpc", lambda: None)
    finally:
        node.stop()


@contextmanager
def anvil() -> Iterator[Endpoint]:
    if not ANVIL.exists():
        raise FileNotFoundError(f"{ANVIL} is missing: run `npm ci` in contracts/")
    port = free_port()
    proc = subprocess.Popen(
        [
            str(ANVIL),
            "--port",
            str(port),
            "--hardfork",
            "cancun",
            "--chain-id",
            str(CHAIN_ID),
            "--gas-limit",
            "60000000",
            "--no-mining",
            "--silent",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(url)
        for who in (DEPLOYER, RELAYER):
            _rpc(url, "anvil_setBalance", [who.address, hex(10**27)])
        yield Endpoint("anvil", url, lambda: _rpc(url, "evm_mine", []))
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _rpc(url: str, method: str, params: list[Any]) -> Any:
    body: dict[str, Any] = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    reply = requests.post(url, json=body, timeout=60).json()
    if "error" in reply:
        raise RuntimeError(f"{method}: {reply['error']}")
    return reply["result"]


def _w3(endpoint: Endpoint) -> Web3:
    w3 = Web3(HTTPProvider(endpoint.url, request_kwargs={"timeout": 120}))
    w3.middleware_onion.inject(SignAndSendRawMiddlewareBuilder.build(DEPLOYER), layer=0)
    return w3


def _deploy(endpoint: Endpoint, w3: Web3) -> Deployment:
    """deploy_stack over HTTP; on anvil each wiring transaction needs a mine."""
    if endpoint.name == "anvil":
        _rpc(endpoint.url, "evm_setAutomine", [True])
    roles = Roles(DEPLOYER.address, DEPLOYER.address, DEPLOYER.address, DEPLOYER.address)
    head_ts = int(w3.eth.get_block("latest")["timestamp"])
    deployment = deploy_stack(w3, roles, RegulationRules(), MarketTiming(head_ts - head_ts % 86400))
    if endpoint.name == "anvil":
        _rpc(endpoint.url, "evm_setAutomine", [False])
    return deployment


def _send_all(endpoint: Endpoint, raws: list[bytes]) -> float:
    """Submit `raws` in JSON-RPC batches; seconds until the last receipt exists."""
    started = time.perf_counter()
    hashes: list[str] = []
    for i in range(0, len(raws), SUBMIT_BATCH):
        body: list[Any] = [
            {
                "jsonrpc": "2.0",
                "id": k,
                "method": "eth_sendRawTransaction",
                "params": ["0x" + raw.hex()],
            }
            for k, raw in enumerate(raws[i : i + SUBMIT_BATCH])
        ]
        replies = requests.post(endpoint.url, json=body, timeout=120).json()
        for reply in replies:
            if "error" in reply:
                raise RuntimeError(f"{endpoint.name} refused a transaction: {reply['error']}")
            hashes.append(reply["result"])
        endpoint.mine()
    last = hashes[-1]
    while True:
        if _rpc(endpoint.url, "eth_getTransactionReceipt", [last]) is not None:
            return time.perf_counter() - started
        time.sleep(0.01)


def _signed(w3: Web3, calls: list[Any], gas: int) -> list[bytes]:
    nonce = w3.eth.get_transaction_count(RELAYER.address)
    base = w3.eth.get_block("latest")["baseFeePerGas"]
    raws = []
    for k, call in enumerate(calls):
        tx = call.build_transaction(
            {
                "from": RELAYER.address,
                "nonce": nonce + k,
                "gas": gas,
                "chainId": CHAIN_ID,
                "maxFeePerGas": 2 * base + 10**9,
                "maxPriorityFeePerGas": 10**9,
            }
        )
        raws.append(bytes(RELAYER.sign_transaction(tx).raw_transaction))
    return raws


def _workloads(
    endpoint: Endpoint, calls_txs: int, reading_batches: int, progress: Progress
) -> dict[str, float]:
    w3 = _w3(endpoint)
    progress(f"{endpoint.name}: deploying the contracts")
    d = _deploy(endpoint, w3)
    token, registry, metering = (d.contract(w3, n) for n in ("GridToken", "Registry", "Metering"))
    meters = [Account.from_key(bytes([0x30 + i]) * 32) for i in range(10)]
    participants = [Account.from_key(bytes([0x50 + i]) * 32) for i in range(10)]
    setup = [token.functions.mint(RELAYER.address, 10**15)]
    setup += [
        registry.functions.admit(p.address, m.address)
        for p, m in zip(participants, meters, strict=True)
    ]
    for call in setup:
        tx_hash = call.transact({"from": DEPLOYER.address, "gas": 500_000})
        endpoint.mine()
        w3.eth.wait_for_transaction_receipt(tx_hash, timeout=60)
    progress(f"{endpoint.name}: {calls_txs} token transfers")
    transfers = [token.functions.transfer(DEPLOYER.address, 1) for _ in range(calls_txs)]
    calls_s = _send_all(endpoint, _signed(w3, transfers, 100_000))
    progress(f"{endpoint.name}: {reading_batches} batches of 60 signed readings")
    separator = domain_separator(CHAIN_ID, d.addresses["Metering"])
    head_ts = int(w3.eth.get_block("latest")["timestamp"])
    start_ts = head_ts - 60 * 60 * reading_batches
    batches = [
        reading_batch(
            metering,
            meters[b % len(meters)],
            participants[b % len(meters)].address,
            start_ts,
            b // len(meters),
            separator,
        )
        for b in range(reading_batches)
    ]
    readings_s = _send_all(endpoint, _signed(w3, batches, 2_000_000))
    return {
        "calls_per_s": calls_txs / calls_s,
        "readings_per_s": READINGS_PER_BATCH * reading_batches / readings_s,
    }


def _history(endpoint: Endpoint, history_txs: int, progress: Progress) -> dict[str, float]:
    """Latency of receipt and log queries [ms] with `history_txs` transfers in the chain."""
    w3 = _w3(endpoint)
    d = _deploy(endpoint, w3)
    token = d.contract(w3, "GridToken")
    tx_hash = token.functions.mint(RELAYER.address, 10**15).transact(
        {"from": DEPLOYER.address, "gas": 200_000}
    )
    endpoint.mine()
    w3.eth.wait_for_transaction_receipt(tx_hash, timeout=60)
    first_block = w3.eth.block_number
    done = 0
    first_hash = None
    while done < history_txs:
        n = min(2_000, history_txs - done)
        raws = _signed(w3, [token.functions.transfer(DEPLOYER.address, 1)] * n, 100_000)
        if first_hash is None:
            first_hash = "0x" + Web3.keccak(raws[0]).hex().removeprefix("0x")
        _send_all(endpoint, raws)
        done += n
        progress(f"{endpoint.name}: history {done}/{history_txs} transactions")
    receipt_ms = _timed(lambda: _rpc(endpoint.url, "eth_getTransactionReceipt", [first_hash]))
    transfer = "0x" + Web3.keccak(text="Transfer(address,address,uint256)").hex().removeprefix("0x")
    zero = "0x" + "00" * 32
    whole = {"fromBlock": "0x0", "toBlock": "latest"}
    # The mint is the only Transfer from the zero address: one log among history_txs + 1,
    # found through the topic index over the whole chain.
    rare = [{**whole, "topics": [transfer, zero]}]
    rare_ms = _timed(lambda: _rpc(endpoint.url, "eth_getLogs", rare))
    one_block = [
        {
            "fromBlock": hex(first_block + 1),
            "toBlock": hex(first_block + 1),
            "address": token.address,
        }
    ]
    dense = len(_rpc(endpoint.url, "eth_getLogs", one_block))
    dense_ms = _timed(lambda: _rpc(endpoint.url, "eth_getLogs", one_block))
    return {
        "receipt_ms": receipt_ms,
        "logs_rare_topic_whole_chain_ms": rare_ms,
        f"logs_one_block_{dense}_results_ms": dense_ms,
    }


def _timed(fn: Callable[[], Any], repeats: int = 20) -> float:
    samples = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples)


def measure(
    calls_txs: int = 2_000,
    reading_batches: int = 100,
    history_txs: int = 100_000,
    progress: Progress = lambda _: None,
) -> dict[str, float]:
    """All figures keyed by name, e.g. readings_per_s.embedded / .anvil / .ratio."""
    workdir = Path(tempfile.mkdtemp(prefix="gridledger-bench-"))
    out: dict[str, float] = {}
    try:
        with embedded_node(workdir) as emb:
            res_e = _workloads(emb, calls_txs, reading_batches, progress)
        with anvil() as anv:
            res_a = _workloads(anv, calls_txs, reading_batches, progress)
        for key in res_e:
            out[f"{key}.embedded"] = round(res_e[key], 1)
            out[f"{key}.anvil"] = round(res_a[key], 1)
            out[f"{key}.ratio"] = round(res_e[key] / res_a[key], 3)
        if history_txs:
            with embedded_node(workdir / "history") as emb:
                for key, value in _history(emb, history_txs, progress).items():
                    out[f"history_{history_txs}.{key}.embedded"] = round(value, 2)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return out
