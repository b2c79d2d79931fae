"""Finalized signed readings per second, confirmation latency and the cost of finality votes
on testnets of 4, 7 and 10 authorities (any sizes).

Workload, the same for every size: node 1's operator admits (and funds) 10 participants with
their meters; then `batches` Metering batches of 60 EIP-712 signed readings (signed before the
clock starts, each with its gas limit at 1.25 x the estimate of the first) are sent by one
relayer per node (meter k's batches by node k mod n, through that node's /rpc), in JSON-RPC
batches of 10, the nodes taking turns. The clock runs from the
first submission until node 1's finalized block holds the last transaction.
Latency of a transaction: from its submission until node 1 reports a finalized block at or
above the one holding it (polled every 20 ms); finality from the slot: from the holding
block's slot time (its timestamp) until then, i.e. without the wait for the slot. Two runs
per size: a burst (every batch submitted at once: the throughput, queueing included in its
latency) and a paced run (batches offered at a fixed rate below capacity: the confirmation
latency). Each testnet runs as separate processes on loopback with 1 s blocks, in a
temporary directory removed afterwards.

Finality votes (node.consensus.finality), counted on node 1 over the paced run: votes
received per block (copies included) and signatures recovered per block, with the CPU those
recoveries take (one recovery timed here, in this process), and the size of a justification.
"""

from __future__ import annotations

import os
import random
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import requests
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_keys.datatypes import PrivateKey
from web3 import Web3

from gridledger.contracts.typed import domain_separator
from gridledger.node import testnet
from gridledger.node.agents.ledger_client import LedgerClient
from gridledger.node.benchmarks.workload import READINGS_PER_BATCH, reading_batch
from gridledger.node.keys import PASSPHRASE_ENV, load_role
from gridledger.node.ledger.deploy import Deployment
from gridledger.node.ledger.http import rpc_web3
from gridledger.node.ledger.votes import VoteKind, sign_vote, voter_of
from gridledger.node.operator.agent import Member, OperatorAgent

Progress = Callable[[str], None]
SUBMIT_CHUNK = 10
PERIOD_S = 1
GAS_MARGIN = 1.25  # gas limit of a batch = its estimate x this


def _fees(w3: Web3) -> Any:
    base = int(w3.eth.get_block("latest")["baseFeePerGas"])
    return {"maxFeePerGas": 2 * base + 10**9, "maxPriorityFeePerGas": 10**9, "chainId": 31_337}


def _setup(rpc_url: str, operator: LocalAccount, deployment: Deployment) -> list[LocalAccount]:
    """Admit (and fund) 10 participants with their meters; the meters' keys."""
    meters = [Account.from_key(bytes([0x60 + i]) * 32) for i in range(10)]
    participants = [Account.from_key(bytes([0x70 + i]) * 32) for i in range(10)]
    agent = OperatorAgent(LedgerClient(rpc_url, operator, deployment))
    members = [
        Member(f"bench{i}", p.address, m.address)
        for i, (p, m) in enumerate(zip(participants, meters, strict=True))
    ]
    agent.admit_and_fund(members)
    agent.client.close()
    return meters


def _reading_txs(
    w3: Web3,
    relayers: list[LocalAccount],
    deployment: Deployment,
    meters: list[LocalAccount],
    n: int,
) -> list[tuple[int, bytes]]:
    """`n` signed batches as (node index, raw): meter k's batches are relayed by node
    k mod len(relayers)'s relayer, each relayer through its own node (nonces in order)."""
    metering = deployment.contract(w3, "Metering")
    separator = domain_separator(31_337, deployment.addresses["Metering"])
    participants = [Account.from_key(bytes([0x70 + i]) * 32) for i in range(10)]
    head_ts = int(w3.eth.get_block("latest")["timestamp"])
    start_ts = head_ts - 3600 * (n // len(meters) + 2)
    nonces = [int(w3.eth.get_transaction_count(r.address)) for r in relayers]
    fees = _fees(w3)
    raws: list[tuple[int, bytes]] = []
    gas: int | None = None
    for b in range(n):
        k = b % len(meters)
        node = k % len(relayers)
        relayer = relayers[node]
        call = reading_batch(
            metering, meters[k], participants[k].address, start_ts, b // len(meters), separator
        )
        if gas is None:
            # As a wallet would: the estimate (of the costliest case, a meter's first batch,
            # which turns its state slots from zero) with a margin, not a blanket limit that
            # would let a block hold fewer batches than its gas allows.
            gas = int(call.estimate_gas({"from": relayer.address}) * GAS_MARGIN)
        tx = call.build_transaction(
            cast(Any, {"from": relayer.address, "nonce": nonces[node], "gas": gas, **fees})
        )
        nonces[node] += 1
        raws.append((node, bytes(relayer.sign_transaction(cast(Any, tx)).raw_transaction)))
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


def _chunks(raws: list[tuple[int, bytes]]) -> list[tuple[int, list[bytes]]]:
    """Each node's transactions in chunks of SUBMIT_CHUNK, the nodes taking turns."""
    per_node: dict[int, list[bytes]] = {}
    for node, raw in raws:
        per_node.setdefault(node, []).append(raw)
    rounds = max(len(v) for v in per_node.values())
    out = []
    for start in range(0, rounds, SUBMIT_CHUNK):
        for node, txs in sorted(per_node.items()):
            if txs[start : start + SUBMIT_CHUNK]:
                out.append((node, txs[start : start + SUBMIT_CHUNK]))
    return out


class _FinalityWatch:
    """Polls node 1's finalized height every 20 ms on its own thread; when each height was
    first seen."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.seen_s: dict[int, float] = {}
        self.seen_unix_s: dict[int, float] = {}
        self.last = -1
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.wait(0.02):
            final = int(_rpc(self.url, "eth_getBlockByNumber", ["finalized", False])["number"], 16)
            now_s, now_unix_s = time.perf_counter(), time.time()
            for number in range(self.last + 1, final + 1):
                self.seen_s[number] = now_s
                self.seen_unix_s[number] = now_unix_s
            self.last = max(self.last, final)

    def final_at_s(self, number: int) -> float:
        return min(t for n, t in self.seen_s.items() if n >= number)

    def final_at_unix_s(self, number: int) -> float:
        return min(t for n, t in self.seen_unix_s.items() if n >= number)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def _submit(url: str, chunk: list[bytes]) -> list[str]:
    body: Any = [
        {"jsonrpc": "2.0", "id": k, "method": "eth_sendRawTransaction", "params": ["0x" + r.hex()]}
        for k, r in enumerate(chunk)
    ]
    hashes = []
    for reply in requests.post(f"{url}/rpc", json=body, timeout=120).json():
        if "error" in reply:
            raise RuntimeError(f"a node refused a transaction: {reply['error']}")
        hashes.append(reply["result"])
    return hashes


def _run(
    urls: list[str],
    raws: list[tuple[int, bytes]],
    progress: Progress,
    pace_s: float | None = None,
) -> dict[str, float]:
    """Submit `raws` (in chunks as fast as possible, or one every `pace_s` [s]) and time them
    until final."""
    sent_s: dict[str, float] = {}
    watch = _FinalityWatch(urls[0])
    try:
        started = time.perf_counter()
        chunks = _chunks(raws) if pace_s is None else [(n, [r]) for n, r in raws]
        for index, (node, chunk) in enumerate(chunks):
            if pace_s is not None:
                delay_s = started + index * pace_s - time.perf_counter()
                if delay_s > 0:
                    time.sleep(delay_s)
            now_s = time.perf_counter()
            for tx_hash in _submit(urls[node], chunk):
                sent_s[tx_hash] = now_s
        progress(f"submitted {len(raws)} transactions in {time.perf_counter() - started:.1f} s")
        block_of: dict[str, int] = {}
        deadline = time.perf_counter() + 600
        while len(block_of) < len(sent_s) or max(block_of.values()) > watch.last:
            if time.perf_counter() > deadline:
                raise RuntimeError("transactions not finalized within 600 s")
            for tx_hash in [h for h in sent_s if h not in block_of]:
                receipt = _rpc(urls[0], "eth_getTransactionReceipt", [tx_hash])
                if receipt is None:
                    continue
                if receipt["status"] != "0x1":
                    raise RuntimeError(f"transaction {tx_hash} reverted")
                block_of[tx_hash] = int(receipt["blockNumber"], 16)
            time.sleep(0.05)
        elapsed_s = watch.final_at_s(max(block_of.values())) - started
    finally:
        watch.stop()
    latencies = sorted(watch.final_at_s(block_of[h]) - sent_s[h] for h in sent_s)
    slot_ts = {
        n: int(_rpc(urls[0], "eth_getBlockByNumber", [hex(n), False])["timestamp"], 16)
        for n in set(block_of.values())
    }
    # From the holding block's slot (its timestamp) until node 1 reports it final.
    from_slot = sorted(watch.final_at_unix_s(block_of[h]) - slot_ts[block_of[h]] for h in sent_s)
    return {
        "finalized_readings_per_s": READINGS_PER_BATCH * len(raws) / elapsed_s,
        "finalized_tx_per_s": len(raws) / elapsed_s,
        "latency_p50_s": statistics.median(latencies),
        "latency_p99_s": _p99(latencies),
        "finality_from_slot_p50_s": statistics.median(from_slot),
        "finality_from_slot_p99_s": _p99(from_slot),
    }


def _p99(sorted_values: list[float]) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(0.99 * len(sorted_values)))]


VOTE_FRAME_BYTES = 119
"""A vote as a P2P frame [bytes] (node.p2p.wire)."""


def vote_check_s(rounds: int = 2_000) -> float:
    """CPU time of one vote's signature recovery [s] (node.ledger.votes.voter_of)."""
    key = PrivateKey(b"\x42" * 32)
    vote = sign_vote(key, 31_337, b"\x01" * 20, 7, b"\x02" * 32, VoteKind.PRECOMMIT)
    started = time.process_time()
    for _ in range(rounds):
        voter_of(vote, 31_337, b"\x01" * 20)
    return (time.process_time() - started) / rounds


def _health(url: str) -> dict[str, Any]:
    body: dict[str, Any] = requests.get(f"{url}/healthz", timeout=10).json()
    return body


def _justification_bytes(url: str, number: int) -> int:
    reply = requests.get(f"{url}/v1/finality/justifications/{number}", timeout=10).json()
    return (len(reply["rlp"]) - 2) // 2


def measure_size(
    nodes: int, batches: int, paced_batches_per_s: float, progress: Progress
) -> dict[str, float]:
    """Figures of one testnet of `nodes` nodes: throughput with every batch submitted at
    once, then confirmation latency with batches offered at `paced_batches_per_s`."""
    workdir = Path(tempfile.mkdtemp(prefix=f"gridledger-bench-testnet{nodes}-"))
    os.environ.setdefault(PASSPHRASE_ENV, "bench")
    try:
        # A random first port: other testnets on the machine look for free ranges too.
        base_port = testnet.free_base_port(nodes, first=random.randrange(20_000, 31_000, 37))
        spec = testnet.TestnetSpec(nodes, base_port, PERIOD_S)
        entries = testnet.up(workdir, spec, lambda m: None)
        urls = [e.url for e in entries]
        progress(f"{nodes} node(s) up on ports {base_port}..")
        w3 = rpc_web3(f"{urls[0]}/rpc")
        operator = load_role(workdir / "node1" / "keystore", "operator")
        relayers = [load_role(workdir / e.name / "keystore", "treasury") for e in entries]
        deployment = Deployment(testnet.status(workdir)["contracts"])
        meters = _setup(f"{urls[0]}/rpc", operator, deployment)
        raws = _reading_txs(w3, relayers, deployment, meters, 2 * batches)
        burst = _run(urls, raws[:batches], progress)
        before = _health(urls[0])
        paced = _run(urls, raws[batches:], progress, pace_s=1 / paced_batches_per_s)
        after = _health(urls[0])
        blocks = max(1, int(after["head"]) - int(before["head"]))
        received = (int(after["votes_received"]) - int(before["votes_received"])) / blocks
        checked = (int(after["votes_checked"]) - int(before["votes_checked"])) / blocks
        figures = {
            "finalized_readings_per_s": burst["finalized_readings_per_s"],
            "burst_latency_p99_s": burst["latency_p99_s"],
            "paced_offered_readings_per_s": READINGS_PER_BATCH * paced_batches_per_s,
            "paced_finalized_readings_per_s": paced["finalized_readings_per_s"],
            "latency_p50_s": paced["latency_p50_s"],
            "latency_p99_s": paced["latency_p99_s"],
            "latency_p50_periods": paced["latency_p50_s"] / PERIOD_S,
            "latency_p99_periods": paced["latency_p99_s"] / PERIOD_S,
            "finality_from_slot_p50_periods": paced["finality_from_slot_p50_s"] / PERIOD_S,
            "finality_from_slot_p99_periods": paced["finality_from_slot_p99_s"] / PERIOD_S,
            "votes_received_per_block": received,
            "vote_bytes_received_per_block": received * VOTE_FRAME_BYTES,
            "signatures_checked_per_block": checked,
            "justification_bytes": _justification_bytes(urls[0], int(after["finalized"])),
        }
    finally:
        testnet.down(workdir, lambda m: None)
        shutil.rmtree(workdir, ignore_errors=True)
    return figures


def measure(
    sizes: tuple[int, ...], batches: int, paced_batches_per_s: float, progress: Progress
) -> dict[str, float]:
    """`nodes_{size}.{figure}` for every size, plus the period and workload."""
    check_s = vote_check_s()
    out: dict[str, float] = {
        "vote_check_us": round(check_s * 1e6, 1),
        "block_period_s": PERIOD_S,
        "burst_readings": batches * READINGS_PER_BATCH,
        "paced_readings": batches * READINGS_PER_BATCH,
    }
    for nodes in sizes:
        progress(f"{nodes} node(s): 2 x {batches} batches of {READINGS_PER_BATCH} readings")
        figures = measure_size(nodes, batches, paced_batches_per_s, progress)
        figures["vote_check_cpu_ms_per_block"] = (
            figures["signatures_checked_per_block"] * check_s * 1e3
        )
        for key, value in figures.items():
            out[f"nodes_{nodes}.{key}"] = round(value, 3)
    if 1 in sizes:
        for nodes in sizes:
            ratio = (
                out[f"nodes_{nodes}.finalized_readings_per_s"]
                / out["nodes_1.finalized_readings_per_s"]
            )
            out[f"nodes_{nodes}.ratio_to_1_node"] = round(ratio, 3)
    return out
