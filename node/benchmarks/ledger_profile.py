"""Where the embedded chain's time goes on the readings workload (BENCHMARKS.md, issue 3).

In-process, no HTTP: an embedded chain in a temporary directory, the contract stack deployed,
10 meters admitted, then `batches` Metering batches of 60 EIP-712 signed readings (the
`bench ledger` workload) signed, pooled, and mined by `produce_block` until the pool is empty.
Done twice on the same chain: once timed (microseconds of block building per reading), once
under cProfile, whose functions are printed by cumulative and by own time.

    .venv/bin/python -m node.benchmarks.ledger_profile [--batches 100] [--top 30]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from eth_account import Account
from web3 import Web3
from web3.middleware import SignAndSendRawMiddlewareBuilder

from gridledger.contracts.typed import domain_separator
from gridledger.node.benchmarks.workload import READINGS_PER_BATCH, reading_batch
from gridledger.node.ledger.deploy import MarketTiming, RegulationRules, Roles, deploy_stack
from gridledger.node.ledger.embedded.chain import EmbeddedChain
from gridledger.node.ledger.embedded.genesis import GenesisConfig
from gridledger.node.ledger.embedded.provider import EmbeddedProvider
from gridledger.node.ledger.embedded.rpc import JsonRpc

CHAIN_ID = 31_337
DEPLOYER = Account.from_key(b"\x0f" * 32)
METERS = [Account.from_key(bytes([0x30 + i]) * 32) for i in range(10)]
PARTICIPANTS = [Account.from_key(bytes([0x50 + i]) * 32) for i in range(10)]


class _MiningProvider(EmbeddedProvider):
    """Mines a block after every accepted transaction (setup only)."""

    def __init__(self, chain: EmbeddedChain) -> None:
        super().__init__(JsonRpc(chain))
        self.chain = chain

    def make_request(self, method: Any, params: Any) -> Any:
        response = super().make_request(method, params)
        if method == "eth_sendRawTransaction" and "result" in response:
            self.chain.produce_block()
        return response


def _signed_batches(
    chain: EmbeddedChain, metering: Any, start_ts: int, first: int, n: int
) -> list[bytes]:
    """Batches `first`..`first + n - 1`: batch b is meter b mod 10's hour b // 10 after
    `start_ts` [unix s], one reading a minute."""
    separator = domain_separator(CHAIN_ID, metering.address)
    nonce = chain.pending_nonce(bytes.fromhex(DEPLOYER.address[2:]))
    raws = []
    for b in range(first, first + n):
        k = b % len(METERS)
        tx = reading_batch(
            metering, METERS[k], PARTICIPANTS[k].address, start_ts, b // len(METERS), separator
        )
        fields = {
            "from": DEPLOYER.address, "nonce": nonce + b - first, "gas": 2_000_000,
            "chainId": CHAIN_ID, "maxFeePerGas": 10**9, "maxPriorityFeePerGas": 0,
        }  # fmt: skip
        raws.append(bytes(DEPLOYER.sign_transaction(tx.build_transaction(fields)).raw_transaction))
    return raws


def _mine_all(chain: EmbeddedChain, raws: list[bytes]) -> float:
    """Pool `raws`, mine until the pool is empty; seconds spent mining."""
    for raw in raws:
        chain.submit_raw(raw)
    started = time.perf_counter()
    while chain.pool:
        mined = chain.produce_block()
        if mined is None or any(r.state_root != b"\x01" for r in mined.receipts):
            raise RuntimeError("a reading batch failed")
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=100, help="batches of 60 readings per run")
    parser.add_argument("--top", type=int, default=30, help="functions listed per ordering")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="gridledger-profile-"))
    genesis = GenesisConfig(chain_id=CHAIN_ID, prefund={DEPLOYER.address: 10**27})
    chain = EmbeddedChain(workdir, genesis)
    try:
        w3 = Web3(_MiningProvider(chain))
        w3.middleware_onion.inject(SignAndSendRawMiddlewareBuilder.build(DEPLOYER), layer=0)
        admin = DEPLOYER.address
        head_ts = int(chain.head_header().timestamp)
        roles = Roles(admin, admin, admin, admin)
        d = deploy_stack(w3, roles, RegulationRules(), MarketTiming(head_ts - head_ts % 86400))
        registry, metering = d.contract(w3, "Registry"), d.contract(w3, "Metering")
        for participant, meter in zip(PARTICIPANTS, METERS, strict=True):
            registry.functions.admit(participant.address, meter.address).transact({"from": admin})
        n = args.batches
        hours = (len(METERS) + 2 * n) // len(METERS) + 1
        start_ts = int(chain.head_header().timestamp) - 3600 * hours
        _mine_all(chain, _signed_batches(chain, metering, start_ts, 0, len(METERS)))  # warm up
        readings = n * READINGS_PER_BATCH
        mined_s = _mine_all(chain, _signed_batches(chain, metering, start_ts, len(METERS), n))
        per_reading_us = 1e6 * mined_s / readings
        print(
            f"{readings} readings mined in {mined_s:.3f} s: {per_reading_us:.1f} us per reading, "
            f"{readings / mined_s:,.0f} readings/s"
        )
        raws = _signed_batches(chain, metering, start_ts, len(METERS) + n, n)
        profile = cProfile.Profile()
        profile.enable()
        _mine_all(chain, raws)
        profile.disable()
        for order in ("cumulative", "tottime"):
            out = io.StringIO()
            pstats.Stats(profile, stream=out).sort_stats(order).print_stats(args.top)
            print(f"--- by {order} time (under cProfile, which slows Python calls more than C)")
            print(out.getvalue().split("\n\n", 1)[-1].strip())
    finally:
        chain.close()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
