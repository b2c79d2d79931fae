"""Finalized signed readings per second and confirmation latency on 1, 3 and 4-node testnets.

Workload, the same for every size: node 1's operator admits 10 participants with their meters;
then `batches` Metering batches of 60 EIP-712 signed readings (signed before the clock starts)
are sent by one relayer, round-robin to every node's /rpc, in JSON-RPC batches of 10. The clock
runs from the first submission until node 1's finalized block holds the last transaction.
Latency of a transaction: from its submission until node 1 reports a finalized block at or
above the one holding it (polled every 20 ms). Each testnet runs as separate processes on
loopback with 1 s blocks, in a temporary directory removed afterwards.
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import requests
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import HTTPProvider, Web3
from web3.middleware import ExtraDataToPOAMiddleware

from contracts.typed import MeterReading, domain_separator, sign_reading
from node import testnet
from node.keys import PASSPHRASE_ENV, load_or_create
from node.ledger.deploy import Deployment

Progress = Callable[[str], None]
READINGS_PER_BATCH = 60
SUBMIT_CHUNK = 10
PERIOD_S = 1


def _w3(url: str) -> Web3:
    w3 = Web3(HTTPProvider(f"{url}/rpc", request_kwargs={"timeout": 120}))
    w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
    return w3


def _send(w3: Web3, account: LocalAccount, tx: Any) -> Any:
    signed = account.sign_transaction(tx)
    return w3.eth.send_raw_transaction(signed.raw_transaction)


def _fees(w3: Web3) -> Any:
    base = int(w3.eth.get_block("latest")["baseFeePerGas"])
    return {"maxFeePerGas": 2 * base + 10**9, "maxPriorityFeePerGas": 10**9, "chainId": 31_337}


def _setup(w3: Web3, operator: LocalAccount, deployment: Deployment) -> list[LocalAccount]:
    """Admit 10 participants with their meters; the meters' keys."""
    registry = deployment.contract(w3, "Registry")
    meters = [Account.from_key(bytes([0x60 + i]) * 32) for i in range(10)]
    participants = [Account.from_key(bytes([0x70 + i]) * 32) for i in range(10)]
    nonce = w3.eth.get_transaction_count(operator.address)
    hashes = []
    for k, (p, m) in enumerate(zip(participants, meters, strict=True)):
        tx = registry.functions.admit(p.address, m.address).build_transaction(
            cast(Any, {"from": operator.address, "nonce": nonce + k, "gas": 300_000, **_fees(w3)})
        )
        hashes.append(_send(w3, operator, tx))
    for tx_hash in hashes:
        if w3.eth.wait_for_transaction_receipt(tx_hash, timeout=60)["status"] != 1:
            raise RuntimeError("admitting a bench participant failed")
    return meters


def _reading_txs(
    w3: Web3, relayer: LocalAccount, deployment: Deployment, meters: list[LocalAccount], n: int
) -> list[bytes]:
    metering = deployment.contract(w3, "Metering")
    separator = domain_separator(31_337, deployment.addresses["Metering"])
    participants = [Account.from_key(bytes([0x70 + i]) * 32) for i in range(10)]
    head_ts = int(w3.eth.get_block("latest")["timestamp"])
    start_ts = head_ts - 3600 * (n // len(meters) + 2)
    nonce = w3.eth.get_transaction_count(relayer.address)
    fees = _fees(w3)
    raws = []
    for b in range(n):
        k = b % len(meters)
        round_ = b // len(meters)
        readings = [
            MeterReading(
                meters[k].address,
                participants[k].address,
                start_ts + round_ * 3600 + 60 * i,
                60,
                40 + i % 7,
                i % 3,
                1 + round_ * READINGS_PER_BATCH + i,
            )
            for i in range(READINGS_PER_BATCH)
        ]
        sigs = [sign_reading(r, bytes(meters[k].key), separator).as_abi() for r in readings]
        call = metering.functions.submitReadings([r.as_abi() for r in readings], sigs)
        tx = call.build_transaction(
            cast(Any, {"from": relayer.address, "nonce": nonce + b, "gas": 2_000_000, **fees})
        )
        raws.append(bytes(relayer.sign_transaction(cast(Any, tx)).raw_transaction))
    return raws


def _rpc(url: str, method: str, params: list[Any]) -> Any:
    reply = requests.post(
        f"{url}/rpc",
        json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params},
        timeout=30,
    ).json()
    if "error" in reply:
        raise RuntimeError(f"{method}: {reply['error']}")
    return reply["result"]


def _run(urls: list[str], raws: list[bytes], progress: Progress) -> dict[str, float]:
    sent_s: dict[str, float] = {}
    started = time.perf_counter()
    for i in range(0, len(raws), SUBMIT_CHUNK):
        url = urls[(i // SUBMIT_CHUNK) % len(urls)]
        body: Any = [
            {
                "jsonrpc": "2.0",
                "id": k,
                "method": "eth_sendRawTransaction",
                "params": ["0x" + r.hex()],
            }
            for k, r in enumerate(raws[i : i + SUBMIT_CHUNK])
        ]
        now_s = time.perf_counter()
        for reply in requests.post(f"{url}/rpc", json=body, timeout=120).json():
            if "error" in reply:
                raise RuntimeError(f"a node refused a transaction: {reply['error']}")
            sent_s[reply["result"]] = now_s
    progress(f"submitted {len(raws)} transactions in {time.perf_counter() - started:.1f} s")
    block_of: dict[str, int] = {}
    final_at_s: dict[int, float] = {}
    last_final = -1
    deadline = time.perf_counter() + 600
    while len(block_of) < len(sent_s) or max(block_of.values()) > last_final:
        if time.perf_counter() > deadline:
            raise RuntimeError("transactions not finalized within 600 s")
        final = int(_rpc(urls[0], "eth_getBlockByNumber", ["finalized", False])["number"], 16)
        now_s = time.perf_counter()
        for number in range(last_final + 1, final + 1):
            final_at_s[number] = now_s
        last_final = max(last_final, final)
        for tx_hash in [h for h in sent_s if h not in block_of]:
            receipt = _rpc(urls[0], "eth_getTransactionReceipt", [tx_hash])
            if receipt is None:
                break  # sent in order from one relayer: later ones are not mined either
            if receipt["status"] != "0x1":
                raise RuntimeError(f"transaction {tx_hash} reverted")
            block_of[tx_hash] = int(receipt["blockNumber"], 16)
        time.sleep(0.02)
    elapsed_s = time.perf_counter() - started
    latencies = sorted(
        min(t for n, t in final_at_s.items() if n >= block_of[h]) - sent_s[h] for h in sent_s
    )
    return {
        "finalized_readings_per_s": READINGS_PER_BATCH * len(raws) / elapsed_s,
        "finalized_tx_per_s": len(raws) / elapsed_s,
        "latency_p50_s": statistics.median(latencies),
        "latency_p99_s": latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
    }


def measure_size(nodes: int, batches: int, progress: Progress) -> dict[str, float]:
    """Figures of one testnet of `nodes` nodes."""
    workdir = Path(tempfile.mkdtemp(prefix=f"gridledger-bench-testnet{nodes}-"))
    os.environ.setdefault(PASSPHRASE_ENV, "bench")
    try:
        base_port = testnet.free_base_port(nodes)
        entries = testnet.up(workdir, nodes, base_port, PERIOD_S, lambda m: None)
        urls = [e.url for e in entries]
        progress(f"{nodes} node(s) up on ports {base_port}..")
        w3 = _w3(urls[0])
        roles = load_or_create(workdir / "node1" / "keystore")
        deployment = Deployment(testnet.status(workdir)["contracts"])
        meters = _setup(w3, roles["operator"], deployment)
        raws = _reading_txs(w3, roles["treasury"], deployment, meters, batches)
        figures = _run(urls, raws, progress)
    finally:
        testnet.down(workdir, lambda m: None)
        shutil.rmtree(workdir, ignore_errors=True)
    return figures


def measure(sizes: tuple[int, ...], batches: int, progress: Progress) -> dict[str, float]:
    """`{size}_nodes.{figure}` for every size, plus the period and workload."""
    out: dict[str, float] = {"block_period_s": PERIOD_S, "readings": batches * READINGS_PER_BATCH}
    for nodes in sizes:
        progress(f"{nodes} node(s): {batches} batches of {READINGS_PER_BATCH} readings")
        for key, value in measure_size(nodes, batches, progress).items():
            out[f"nodes_{nodes}.{key}"] = round(value, 3)
    if 1 in sizes:
        for nodes in sizes:
            ratio = (
                out[f"nodes_{nodes}.finalized_readings_per_s"]
                / out["nodes_1.finalized_readings_per_s"]
            )
            out[f"nodes_{nodes}.ratio_to_1_node"] = round(ratio, 3)
    return out
