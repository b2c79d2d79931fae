"""A testnet node's replica: its chain from the shared genesis, its consensus and its P2P
transport, assembled from the node's config and data directory."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_utils.address import to_checksum_address

from gridledger.node.config import NodeConfig
from gridledger.node.consensus.clock import Clock, SimClock, WallClock
from gridledger.node.consensus.engine import Consensus
from gridledger.node.errors import ConfigError
from gridledger.node.keys.authority import load_or_create_authority_key
from gridledger.node.keys.curve import load_or_create_curve_keys
from gridledger.node.ledger.embedded.aura import NO_AUTHORITY_SET, Aura, step_of
from gridledger.node.ledger.embedded.chain import EmbeddedChain
from gridledger.node.ledger.embedded.genesis_file import load_genesis_file
from gridledger.node.p2p.peers import Peer
from gridledger.node.p2p.transport import Transport

log = logging.getLogger(__name__)

TEST_FAULT_ENV = "GRIDLEDGER_TEST_FAULT"
"""Test-only faults for the real-process fault tests, "NAME:FAULT" or several separated by
commas: "withhold" makes node NAME seal in turn but never vote; "equivocate" makes it send,
beside each vote, a second signed vote for another block at the same height; "seal-twice"
makes it seal and send, beside each of its blocks, a second block for the same step;
"no-evidence" makes it catch equivocations but submit none to AuthoritySet (for tests that
forge several blocks in one authority's step and need that authority to stay). Any other
node ignores it; the faulty node logs it."""
FAULTS = ("withhold", "equivocate", "seal-twice", "no-evidence")


def apply_test_fault(consensus: Consensus, spec: str | None) -> str | None:
    """Make `consensus` faulty as `spec` (TEST_FAULT_ENV) asks for its node; the fault applied."""
    applied = None
    for item in (spec or "").split(","):
        if not item.strip():
            continue
        name, _, fault = item.strip().partition(":")
        if fault not in FAULTS:
            raise ConfigError(f"{TEST_FAULT_ENV}={spec!r}: a fault is one of {', '.join(FAULTS)}")
        if name != consensus.name:
            continue
        if fault == "withhold":
            consensus.finality.key = None
        elif fault == "equivocate":
            consensus.finality.extra_vote = consensus.finality.equivocation_vote
        elif fault == "seal-twice":
            consensus.extra_seal = consensus.equivocation_block
        else:
            consensus.submits_evidence = False
        log.warning("TEST FAULT: node %s will %s (%s)", consensus.name, fault, TEST_FAULT_ENV)
        applied = fault
    return applied


@dataclass
class Replica:
    chain: EmbeddedChain
    consensus: Consensus
    transport: Transport
    clock: Clock
    contracts: dict[str, str]
    started_ts: float
    dropped_links: set[str] = field(default_factory=set)

    def start(self) -> None:
        self.transport.start()
        self.consensus.start()

    def stop(self) -> None:
        self.consensus.stop()
        self.transport.stop()

    def status(self) -> dict[str, Any]:
        """Head, finalized height, step, peers and offences, for /healthz and status."""
        consensus = self.consensus
        with self.chain.lock:
            head = self.chain.head_header()
            finalized = self.chain.finalized_number()
        address = consensus.address
        return {
            "name": consensus.name,
            "authority": to_checksum_address(address) if address else None,
            "head": int(head.block_number),
            "head_hash": "0x" + bytes(head.hash).hex(),
            "head_step": step_of(head),
            "finalized": finalized,
            "step": consensus.aura.step_at(int(self.clock.now_ts())),
            "peers": self.transport.peers_alive(),
            "dropped_links": sorted(self.dropped_links),
            "pending": len(self.chain.pool),
            "reorgs": consensus.reorgs,
            "rejected_blocks": dict(consensus.rejected),
            "rejected_votes": dict(consensus.rejected_votes),
            "last_vote": consensus.finality.last_vote.height
            if consensus.finality.last_vote
            else None,
            "votes_received": consensus.finality.votes_received,
            "votes_checked": consensus.finality.votes_checked,
            "seal_equivocations": ["0x" + e.sealer.hex() for e in consensus.seal_equivocations],
            "equivocations": ["0x" + e.voter.hex() for e in consensus.finality.evidence],
        }


def open_replica(data_dir: Path, config: NodeConfig) -> Replica:
    """The replica of a testnet node (config.genesis_file set); not started."""
    if config.genesis_file is None:
        raise ConfigError("a testnet node needs chain.genesis_file")
    genesis, contracts = load_genesis_file(config.genesis_file)
    authorities = tuple(bytes.fromhex(a[2:]) for a in genesis.authorities)
    if not authorities:
        raise ConfigError(f"{config.genesis_file}: a testnet genesis needs authorities")
    authority_set = (
        bytes.fromhex(contracts["AuthoritySet"][2:]) if contracts.get("AuthoritySet") else None
    )
    aura = Aura(
        authorities,
        genesis.period_s,
        genesis.timestamp_ts,
        genesis.chain_id,
        authority_set or NO_AUTHORITY_SET,
    )
    key = load_or_create_authority_key(data_dir / "keystore")
    clock: Clock = SimClock(genesis.timestamp_ts) if config.clock == "sim" else WallClock()
    chain = EmbeddedChain(data_dir / "chain", genesis, aura=aura, pool_limits=config.pool)
    consensus = Consensus(chain, aura, key, clock, name=config.name, authority_set=authority_set)
    peers = [Peer(p.name, p.endpoint, p.public_key.encode()) for p in config.peers]
    transport = Transport(
        config.name,
        load_or_create_curve_keys(data_dir / "p2p"),
        f"tcp://{config.host}:{config.p2p_port}",
        peers,
        consensus.handle,
    )
    consensus.attach(transport)
    apply_test_fault(consensus, os.environ.get(TEST_FAULT_ENV))
    return Replica(chain, consensus, transport, clock, contracts, time.time())
