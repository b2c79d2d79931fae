"""The read model's access to the ledger: bound contracts, view calls and sends with decoded
reverts, event queries, and the market's interval grid (used by REST and the auditor)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from eth_typing import ChecksumAddress
from web3 import Web3
from web3.contract import Contract
from web3.types import TxReceipt

from gridledger.node.errors import NotDeployedError, TransactionFailedError
from gridledger.node.ledger.deploy import Deployment
from gridledger.node.ledger.reverts import decoded_reverts
from gridledger.node.service import NodeService

# A transaction must be mined within this long [s]; the embedded chain needs well under 1 s.
TX_TIMEOUT_S = 60.0


@dataclass(frozen=True, slots=True)
class MarketGrid:
    """Market.sol's immutable interval grid: interval n starts at epoch + n * length [unix s]
    and closes to orders gate_lead_s before that."""

    epoch_start_ts: int
    interval_length_s: int
    gate_lead_s: int

    def start_ts(self, interval: int) -> int:
        return self.epoch_start_ts + interval * self.interval_length_s

    def gate_closure_ts(self, interval: int) -> int:
        start = self.start_ts(interval)
        return start - self.gate_lead_s if start > self.gate_lead_s else 0

    def first_open_after(self, ts: int) -> int:
        """The first interval whose gate closes after `ts` [unix s]."""
        return max(0, (ts + self.gate_lead_s - self.epoch_start_ts) // self.interval_length_s + 1)


class ChainView:
    """Contracts of the node's deployment bound to its web3 (which signs with the node's
    accounts). Raises NotDeployedError until the node has a deployment."""

    def __init__(self, service: NodeService) -> None:
        self.service = service
        self._bound: tuple[Deployment, dict[str, Contract]] | None = None
        self._grid: tuple[Deployment, MarketGrid] | None = None
        self.send_lock = threading.Lock()
        """Held while a transaction from one of the node's accounts takes its nonce (the
        pending count) and enters the pool: orders and relayed readings share the prosumer."""

    @property
    def w3(self) -> Web3:
        return self.service.w3

    def deployment(self) -> Deployment:
        deployment = self.service.deployment
        if deployment is None:
            raise NotDeployedError(
                f"the contracts are not deployed yet (node state: {self.service.state})"
            )
        return deployment

    def contract(self, name: str) -> Contract:
        """The deployed contract `name` (e.g. "Market")."""
        deployment = self.deployment()
        if self._bound is None or self._bound[0] is not deployment:
            self._bound = (deployment, {})
        cache = self._bound[1]
        if name not in cache:
            cache[name] = deployment.contract(self.w3, name)
        return cache[name]

    def address(self, name: str) -> ChecksumAddress:
        return self.deployment().addresses[name]

    def account(self, role: str) -> ChecksumAddress:
        """The node's own account of `role` (e.g. "prosumer")."""
        return self.service.accounts[role].address

    def call(self, fn: Any, sender: str | None = None) -> Any:
        """Call a contract function at the head; reverts raise ContractRevertError."""
        with decoded_reverts():
            return fn.call({"from": sender} if sender else {})

    def send(self, fn: Any, sender: str, gas: int) -> TxReceipt:
        """Send `fn` from the node's account `sender` with a fixed gas limit, wait for its
        receipt; a revert at the preflight call raises ContractRevertError, one when mined
        TransactionFailedError."""
        self.call(fn, sender)
        with self.send_lock, decoded_reverts():
            tx_hash = fn.transact({"from": sender, "gas": gas})
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=TX_TIMEOUT_S)
        if receipt["status"] != 1:
            raise TransactionFailedError(
                f"transaction 0x{bytes(tx_hash).hex()} reverted when mined in block "
                f"{receipt['blockNumber']} (its preflight call had passed)"
            )
        return receipt

    def grid(self) -> MarketGrid:
        """The Market's interval grid (immutables, read once per deployment)."""
        deployment = self.deployment()
        if self._grid is None or self._grid[0] is not deployment:
            m = self.contract("Market").functions
            grid = MarketGrid(
                int(m.epochStartTs().call()),
                int(m.intervalLengthS().call()),
                int(m.gateClosureLeadS().call()),
            )
            self._grid = (deployment, grid)
        return self._grid[1]

    def now_ts(self) -> int:
        """The time the next block will carry at the earliest [unix s]: the head's timestamp
        or the wall clock, whichever is later."""
        head_ts = int(self.w3.eth.get_block("latest")["timestamp"])
        return max(head_ts, int(time.time()))
