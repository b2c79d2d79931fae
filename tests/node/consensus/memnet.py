"""An in-memory network joining Consensus replicas in one process, with cuttable links:
messages are delivered synchronously to the peer's handler (which queues gossip), so tests
decide when each replica works (`settle`)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from eth_account import Account
from eth_keys.datatypes import PrivateKey

from gridledger.node.consensus.clock import SimClock
from gridledger.node.consensus.engine import Consensus
from gridledger.node.ledger.deploy import MarketTiming, RegulationRules, Roles
from gridledger.node.ledger.embedded.aura import NO_AUTHORITY_SET, Aura
from gridledger.node.ledger.embedded.chain import EmbeddedChain
from gridledger.node.ledger.embedded.genesis import GenesisConfig
from gridledger.node.ledger.genesis_deploy import record_deployment
from gridledger.node.p2p.wire import Message
from tests.node.txs import signed_transfer

USER = Account.from_key(b"\x0b" * 32)
GENESIS_TS = 1_800_000_000
PERIOD_S = 5


class MemLink:
    """One replica's view of the network (the Network protocol of consensus)."""

    def __init__(self, net: MemNet, name: str) -> None:
        self.net = net
        self.name = name

    def broadcast(self, message: Message) -> None:
        for peer in list(self.net.nodes):
            if peer != self.name and self.net.linked(self.name, peer):
                self.net.nodes[peer].handle(self.name, message)

    def request(self, peer: str, message: Message, timeout_s: float) -> Message | None:
        if peer not in self.net.nodes or not self.net.linked(self.name, peer):
            return None
        return self.net.nodes[peer].handle(self.name, message)

    def peers_alive(self) -> list[str]:
        return [p for p in self.net.nodes if p != self.name and self.net.linked(self.name, p)]


ROLE_KEYS = [Account.from_key(bytes([0x31 + i]) * 32) for i in range(4)]
"""admin, operator, regulator, treasury of the contracts deployed at genesis (`contracts`)."""


class MemNet:
    """`size` authority replicas n0..n{size-1} in `tmp`, on one SimClock; with `contracts`,
    the contract stack and AuthoritySet are deployed at genesis (`self.contracts`)."""

    def __init__(self, tmp: Path, size: int, contracts: bool = False) -> None:
        self.keys = [PrivateKey(bytes([0x50 + i]) * 32) for i in range(size)]
        authorities = tuple(bytes(k.public_key.to_canonical_address()) for k in self.keys)
        self.genesis = GenesisConfig(
            prefund={
                USER.address: 10**24,
                **{a.address: 10**24 for a in ROLE_KEYS},
                **{"0x" + a.hex(): 10**21 for a in authorities},  # as on a testnet
            },
            timestamp_ts=GENESIS_TS,
            authorities=tuple("0x" + a.hex() for a in authorities),
            period_s=PERIOD_S,
        )
        self.contracts: dict[str, str] = {}
        if contracts:
            roles = Roles(*(a.address for a in ROLE_KEYS))
            timing = MarketTiming(GENESIS_TS - GENESIS_TS % 86_400)
            txs, self.contracts = record_deployment(
                self.genesis, ROLE_KEYS[0], roles, RegulationRules(), timing
            )
            self.genesis = dataclasses.replace(self.genesis, deploy_txs=txs)
        authority_set = self.contracts.get("AuthoritySet")
        self.aura = Aura(
            authorities,
            PERIOD_S,
            GENESIS_TS,
            self.genesis.chain_id,
            bytes.fromhex(authority_set[2:]) if authority_set else NO_AUTHORITY_SET,
        )
        self.clock = SimClock(GENESIS_TS)
        self.tmp = tmp
        self.cut: set[frozenset[str]] = set()
        self.nodes: dict[str, Consensus] = {}
        for i, key in enumerate(self.keys):
            self.add(f"n{i}", key)

    def add(self, name: str, key: PrivateKey | None) -> Consensus:
        chain = EmbeddedChain(self.tmp / name, self.genesis, aura=self.aura)
        authority_set = self.contracts.get("AuthoritySet")
        node = Consensus(
            chain,
            self.aura,
            key,
            self.clock,
            name=name,
            authority_set=bytes.fromhex(authority_set[2:]) if authority_set else None,
        )
        node.attach(MemLink(self, name))
        self.nodes[name] = node
        return node

    def linked(self, a: str, b: str) -> bool:
        return frozenset((a, b)) not in self.cut

    def isolate(self, name: str) -> None:
        self.cut |= {frozenset((name, p)) for p in self.nodes if p != name}

    def heal(self) -> None:
        self.cut.clear()

    def settle(self) -> None:
        """Let every replica process its queue until nothing moves; then exchange status
        (which starts syncs) and settle again."""
        for _ in range(2):
            while sum(node.drain() for node in self.nodes.values()):
                pass
            for node in self.nodes.values():
                node.network.broadcast(node.status_message())  # type: ignore[union-attr]
        while sum(node.drain() for node in self.nodes.values()):
            pass

    def run_steps(self, first: int, last: int) -> None:
        """Advance the clock through steps first..last; each step's proposer seals."""
        for step in range(first, last + 1):
            self.clock.advance_to(self.aura.slot_ts(step))
            for node in self.nodes.values():
                node.seal_step(step)
            self.settle()

    def close(self) -> None:
        for node in self.nodes.values():
            node.chain.close()


def transfer(nonce: int, value: int = 7) -> bytes:
    return signed_transfer(USER, nonce, value=value, to="44")
