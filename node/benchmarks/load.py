"""Requests per second a node answers, with their latency, alone and while one client sends
the heaviest eth_calls it allows.

Workload: one embedded-chain node process on loopback with the default limits (50M gas cap,
5 s EVM timeout, docs/ledger.md "Execution limits"), its contracts deployed, in a temporary
directory removed afterwards. Readers: `clients` threads, each with its own HTTP connection,
sending requests back to back until `requests` of a kind are answered (or `max_s` [s] has
passed): REST reads (`GET /v1/market/intervals/1`: the market contract's views, through the
node's own eth_calls) and JSON-RPC reads (`eth_getBalance` and `eth_blockNumber`, taking
turns). Two phases: alone, then while one attacker sends eth_calls into BLAKE2F (0x09) with
as many rounds as the gas cap pays for, one after the other (each stopped by the timeout).
The phases take turns `rounds` times, so that other load on the machine weighs on both.
Figures per phase and kind: requests/s, p50 and p99 latency [ms]; and the ratio of the p99
under attack to the p99 alone (the goal: under 2).
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from gridledger.node.keys import passphrase
from gridledger.node.launch import NodeProcess
from gridledger.node.ledger.embedded.budget import CallLimits

Progress = Callable[[str], None]
BLAKE2F = "0x" + "00" * 19 + "09"
ROUNDS = CallLimits().gas_cap - 30_000  # the call's intrinsic gas and calldata fit beside
READ_ADDRESS = "0x" + "66" * 20


def _heavy_call() -> dict[str, Any]:
    data = ROUNDS.to_bytes(4, "big") + bytes(64 + 128 + 16) + b"\x01"
    return {"to": BLAKE2F, "data": "0x" + data.hex()}


def _rest(session: requests.Session, url: str, i: int) -> None:
    session.get(f"{url}/v1/market/intervals/1", timeout=30).raise_for_status()


def _rpc(session: requests.Session, url: str, i: int) -> None:
    body: dict[str, Any]
    if i % 2:
        body = {"jsonrpc": "2.0", "id": i, "method": "eth_blockNumber", "params": []}
    else:
        params = [READ_ADDRESS, "latest"]
        body = {"jsonrpc": "2.0", "id": i, "method": "eth_getBalance", "params": params}
    reply = session.post(f"{url}/rpc", json=body, timeout=30)
    reply.raise_for_status()
    if "result" not in reply.json():
        raise RuntimeError(f"JSON-RPC read failed: {reply.text[:200]}")


def _run(
    url: str, send: Callable[[requests.Session, str, int], None], total: int, clients: int,
    max_s: float,
) -> tuple[list[float], float]:  # fmt: skip
    """`total` requests from `clients` threads back to back: their latencies [s] and the
    wall time [s]."""
    latencies_s: list[float] = []
    lock = threading.Lock()
    issued = iter(range(total))
    end = time.monotonic() + max_s

    def client() -> None:
        with requests.Session() as session:
            while time.monotonic() < end:
                with lock:
                    i = next(issued, None)
                if i is None:
                    return
                t0 = time.perf_counter()
                send(session, url, i)
                took = time.perf_counter() - t0
                with lock:
                    latencies_s.append(took)

    start = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies_s, time.perf_counter() - start


class _Attacker:
    """One client sending the heaviest allowed eth_call, one after the other."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.stop = threading.Event()
        self.answers: dict[str, int] = {}
        self.thread = threading.Thread(target=self._run, name="attacker")

    def _run(self) -> None:
        body: dict[str, Any] = {"jsonrpc": "2.0", "id": 1, "method": "eth_call"}
        body["params"] = [_heavy_call()]
        with requests.Session() as session:
            while not self.stop.is_set():
                reply = session.post(f"{self.url}/rpc", json=body, timeout=120).json()
                answer = reply.get("error", {}).get("message", "a result")
                self.answers[answer] = self.answers.get(answer, 0) + 1

    def __enter__(self) -> _Attacker:
        self.thread.start()
        time.sleep(0.5)  # its first call is executing
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


def _deployed(node: NodeProcess) -> bool:
    return bool(node.get("/v1/contracts/addresses"))


def _merge(parts: list[tuple[list[float], float]]) -> dict[str, float]:
    latencies_s = [x for part, _ in parts for x in part]
    wall_s = sum(wall for _, wall in parts)
    cuts = statistics.quantiles(latencies_s, n=100)
    return {
        "requests": len(latencies_s),
        "requests_per_s": round(len(latencies_s) / wall_s, 1),
        "p50_ms": round(cuts[49] * 1000, 2),
        "p99_ms": round(cuts[98] * 1000, 2),
    }


def measure(
    requests_per_kind: int, clients: int, max_s: float, rounds: int, progress: Progress
) -> dict[str, Any]:
    """Both phases on a fresh node, taking turns `rounds` times (alone, attack, alone, ...)
    so that other load on the machine weighs on both alike; the figures (nested: phase,
    kind, figure)."""
    work = Path(tempfile.mkdtemp(prefix="gridledger-bench-load-"))
    node = NodeProcess(work / "data", passphrase(), log_path=work / "node.log")
    try:
        progress("starting a node and deploying the contracts")
        node.start(_deployed, timeout_s=120)
        kinds = {"rest": _rest, "rpc": _rpc}
        for send in kinds.values():  # warm: compiled code, caches
            _run(node.url, send, 20, 1, max_s)
        samples: dict[str, dict[str, list[tuple[list[float], float]]]] = {
            phase: {kind: [] for kind in kinds} for phase in ("alone", "attack")
        }
        answers: dict[str, int] = {}
        per_round = max(1, requests_per_kind // rounds)
        for turn in range(rounds):
            for phase in ("alone", "attack"):
                progress(f"round {turn + 1}/{rounds}, {phase}: {per_round} requests of each kind")
                if phase == "alone":
                    for kind, send in kinds.items():
                        samples[phase][kind].append(_run(node.url, send, per_round, clients, max_s))
                    continue
                with _Attacker(node.url) as attacker:
                    for kind, send in kinds.items():
                        samples[phase][kind].append(_run(node.url, send, per_round, clients, max_s))
                for answer, count in attacker.answers.items():
                    answers[answer] = answers.get(answer, 0) + count
        progress(f"heavy calls answered: {answers}")
        figures: dict[str, Any] = {
            "clients": clients,
            "rounds": rounds,
            "heavy_call_rounds": ROUNDS,
            "heavy_calls_answered": sum(answers.values()),
            "heavy_calls_timed_out": sum(n for a, n in answers.items() if "timeout" in a),
        }
        for phase, by_kind in samples.items():
            figures[phase] = {kind: _merge(parts) for kind, parts in by_kind.items()}
        for kind in kinds:
            alone, attack = figures["alone"][kind], figures["attack"][kind]
            figures[f"p99_ratio_attack_to_alone.{kind}"] = round(
                attack["p99_ms"] / alone["p99_ms"], 2
            )
        return figures
    finally:
        node.stop()
        shutil.rmtree(work, ignore_errors=True)
