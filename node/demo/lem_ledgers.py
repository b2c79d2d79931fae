"""The ledgers a local energy market's books can be settled on (node/demo/lem_chain.py).

- `embedded`: gridledger's own chain (py-evm, Cancun) in this process, one replica without
  consensus, blocks produced when the settlement asks for them; the contracts deployed at
  genesis exactly as on a testnet.
- `testnet`: a multi-node proof-of-authority testnet on loopback (node/testnet.py), one
  process per node, on the simulation's clock: each block is sealed by the proposer of the step
  the clock was moved to (node/agents/chain_clock.py), transactions reach it through node1's
  JSON-RPC and the gossip.

Both expose the same few operations: submit signed transactions, seal a block at a time, read
through web3. Roles (admin, operator, regulator, treasury) are the testnet's node1 keys, or
sandbox keys on the embedded chain.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import requests
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak
from web3 import Web3

from gridledger.node import testnet
from gridledger.node.agents.chain_clock import ChainClock
from gridledger.node.errors import LedgerError
from gridledger.node.keys import load_role
from gridledger.node.ledger.deploy import Deployment, MarketTiming, RegulationRules, Roles
from gridledger.node.ledger.embedded.chain import EmbeddedChain
from gridledger.node.ledger.embedded.genesis import ROLE_FUND_WEI, GenesisConfig
from gridledger.node.ledger.embedded.provider import EmbeddedProvider
from gridledger.node.ledger.embedded.rpc import JsonRpc
from gridledger.node.ledger.genesis_deploy import record_deployment
from gridledger.node.ledger.http import rpc_web3

Progress = Callable[[str], None]
LEDGERS = ("embedded", "testnet")
RPC_BATCH = 500
"""Raw transactions per JSON-RPC batch sent to a testnet node (its limit is 1,000)."""


def sandbox_account(label: str) -> LocalAccount:
    """A deterministic account for a throw-away run only (never a real deployment)."""
    account: LocalAccount = Account.from_key(keccak(text=f"gridledger-lem-sandbox:{label}"))
    return account


@dataclass(frozen=True, slots=True)
class RoleKeys:
    """The keys of the stack's roles the settlement acts with."""

    operator: LocalAccount
    regulator: LocalAccount
    treasury: str


class LemLedger(Protocol):
    """What the settlement needs from a ledger."""

    name: str
    w3: Web3
    deployment: Deployment
    roles: RoleKeys
    chain_id: int
    block_step_s: int
    """The least time between two blocks the ledger can seal [s]."""

    def submit(self, raws: Sequence[bytes]) -> None:
        """Hand signed raw transactions to the ledger; LedgerError if it refuses one."""

    def seal(self, ts: int) -> None:
        """Produce the next block at time `ts` [unix s] with what is pooled, and wait for it."""

    def now_ts(self) -> int:
        """The head block's time [unix s]."""

    def close(self) -> None:
        """Stop whatever the ledger runs (processes, files)."""


class EmbeddedLedger:
    """gridledger's embedded chain in this process, in a temporary directory."""

    name = "embedded"
    block_step_s = 1

    def __init__(self, genesis_ts: int, timing: MarketTiming, chain_id: int = 31_337) -> None:
        admin, operator, regulator, treasury = (
            sandbox_account(r) for r in ("admin", "operator", "regulator", "treasury")
        )
        roles = Roles(admin.address, operator.address, regulator.address, treasury.address)
        prefund: dict[str, int] = {
            str(a.address): ROLE_FUND_WEI for a in (admin, operator, regulator, treasury)
        }
        genesis = GenesisConfig(chain_id=chain_id, timestamp_ts=genesis_ts, prefund=prefund)
        txs, contracts = record_deployment(genesis, admin, roles, RegulationRules(), timing)
        self._dir = Path(tempfile.mkdtemp(prefix="gridledger-lem-"))
        self.chain = EmbeddedChain(self._dir, dataclasses.replace(genesis, deploy_txs=txs))
        self.w3 = Web3(EmbeddedProvider(JsonRpc(self.chain)))
        self.deployment = Deployment(
            {name: Web3.to_checksum_address(a) for name, a in contracts.items()}
        )
        self.roles = RoleKeys(operator, regulator, treasury.address)
        self.chain_id = chain_id

    def submit(self, raws: Sequence[bytes]) -> None:
        for raw in raws:
            self.chain.submit_raw(raw, announce=False)

    def seal(self, ts: int) -> None:
        self.chain.produce_block(timestamp_ts=ts, empty_ok=True)

    def now_ts(self) -> int:
        return int(self.chain.head_header().timestamp)

    def close(self) -> None:
        self.chain.close()
        shutil.rmtree(self._dir, ignore_errors=True)


class TestnetLedger:
    """A fresh simulation-clock testnet of `nodes` processes in `data_dir` (replaced if one
    is there), stopped by close() unless `keep`."""

    name = "testnet"

    def __init__(
        self,
        data_dir: Path,
        genesis_ts: int,
        timing: MarketTiming,
        progress: Progress,
        nodes: int = 3,
        period_s: int = 60,
        keep: bool = False,
    ) -> None:
        if (data_dir / "testnet.json").exists():
            testnet.down(data_dir, progress)
            shutil.rmtree(data_dir)
        spec = testnet.TestnetSpec(
            nodes=nodes,
            base_port=testnet.free_base_port(nodes),
            period_s=period_s,
            clock="sim",
            genesis_ts=genesis_ts,
            gate_closure_lead_s=timing.gate_closure_lead_s,
            interval_length_s=timing.interval_length_s,
        )
        progress(f"starting a {nodes}-node testnet on loopback (simulation clock)")
        self.data_dir, self.keep, self.progress = data_dir, keep, progress
        self.entries = testnet.up(data_dir, spec, progress)
        self.rpc_url = f"{self.entries[0].url}/rpc"
        self.w3 = rpc_web3(self.rpc_url)
        self.deployment = Deployment(testnet.status(data_dir)["contracts"])
        keystore = data_dir / "node1" / "keystore"
        self.roles = RoleKeys(
            load_role(keystore, "operator"),
            load_role(keystore, "regulator"),
            load_role(keystore, "treasury").address,
        )
        self.chain_id = int(self.w3.eth.chain_id)
        self.block_step_s = period_s
        self.clock = ChainClock(data_dir, self.entries)
        self._session = requests.Session()

    def submit(self, raws: Sequence[bytes]) -> None:
        for start in range(0, len(raws), RPC_BATCH):
            batch: list[dict[str, Any]] = [
                {"jsonrpc": "2.0", "id": i, "method": "eth_sendRawTransaction",
                 "params": ["0x" + raw.hex()]}
                for i, raw in enumerate(raws[start : start + RPC_BATCH])
            ]  # fmt: skip
            reply = self._session.post(self.rpc_url, json=batch, timeout=60)
            reply.raise_for_status()
            refused = [r["error"] for r in reply.json() if "error" in r]
            if refused:
                raise LedgerError(f"the testnet refused {len(refused)} transactions: {refused[0]}")

    def seal(self, ts: int) -> None:
        self.clock.advance(ts)
        self.clock.settle(30.0)

    def now_ts(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def close(self) -> None:
        self._session.close()
        if not self.keep:
            testnet.down(self.data_dir, self.progress)


def open_ledger(
    kind: str,
    genesis_ts: int,
    timing: MarketTiming,
    progress: Progress,
    data_dir: Path | None = None,
    keep: bool = False,
) -> LemLedger:
    """The ledger `kind` (one of LEDGERS); a testnet keeps its data in `data_dir`."""
    if kind == "embedded":
        return EmbeddedLedger(genesis_ts, timing)
    if kind == "testnet":
        if data_dir is None:
            raise LedgerError("a testnet ledger needs a data directory")
        return TestnetLedger(data_dir, genesis_ts, timing, progress, keep=keep)
    raise LedgerError(f"no ledger {kind!r}: choose one of {', '.join(LEDGERS)}")
