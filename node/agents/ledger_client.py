"""One account's access to a node's ledger over JSON-RPC: contract calls signed at once and
sent in order by a background thread (nonces counted locally, so an agent answering a
simulation tick never waits on the node), receipts on demand."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterable
from typing import Any, cast

import requests
from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3.exceptions import TransactionNotFound

from gridledger.node.errors import LedgerError
from gridledger.node.ledger.deploy import Deployment
from gridledger.node.ledger.http import rpc_web3

log = logging.getLogger(__name__)

MAX_FEE_WEI = 100 * 10**9
PRIORITY_FEE_WEI = 10**9
SEND_ATTEMPTS = 5  # a send after a dropped connection is tried again, 0.5 s, 1 s, 2 s ... apart


class LedgerClient:
    """`account` sending to the contracts of `deployment` through the node at `rpc_url`."""

    def __init__(self, rpc_url: str, account: LocalAccount, deployment: Deployment) -> None:
        self.w3 = rpc_web3(rpc_url)
        self.account = account
        self.address = account.address
        self.deployment = deployment
        self.chain_id = int(self.w3.eth.chain_id)
        self._nonce = int(self.w3.eth.get_transaction_count(account.address, "pending"))
        self._lock = threading.Lock()
        self.sent: list[bytes] = []
        self.errors: list[str] = []
        self._outbox: queue.Queue[tuple[bytes, bytes] | None] = queue.Queue()
        self._sender = threading.Thread(target=self._send_loop, daemon=True, name="ledger-send")
        self._sender.start()

    def contract(self, name: str) -> Any:
        return self.deployment.contract(self.w3, name)

    def send(self, call: Any, gas: int) -> bytes:
        """Sign `call` (a bound contract function) and queue it for sending; its hash."""
        with self._lock:
            tx = call.build_transaction(
                cast(
                    Any,
                    {
                        "from": self.address,
                        "nonce": self._nonce,
                        "gas": gas,
                        "chainId": self.chain_id,
                        "maxFeePerGas": MAX_FEE_WEI,
                        "maxPriorityFeePerGas": PRIORITY_FEE_WEI,
                    },
                )
            )
            signed = self.account.sign_transaction(tx)
            tx_hash = bytes(signed.hash)
            self._nonce += 1
            self.sent.append(tx_hash)
            self._outbox.put((tx_hash, bytes(signed.raw_transaction)))
            return tx_hash

    def _send_loop(self) -> None:
        while True:
            item = self._outbox.get()
            if item is None:
                return
            try:
                self._hand_over(*item)
            except Exception as exc:  # the node refused it: later nonces will not mine either
                self.errors.append(str(exc)[:300])
                log.error("%s: the node refused a transaction: %s", self.address, exc)
            finally:
                self._outbox.task_done()

    def _hand_over(self, tx_hash: bytes, raw: bytes) -> None:
        """Send `raw`; after a dropped connection or a timeout (the node may or may not have
        taken it), send it again unless the node knows its hash: the local nonce count stays
        in step with the node's."""
        for attempt in range(SEND_ATTEMPTS):
            try:
                self.w3.eth.send_raw_transaction(raw)
                return
            except (requests.ConnectionError, requests.Timeout) as exc:
                if attempt + 1 == SEND_ATTEMPTS:
                    raise
                log.warning("%s: sending 0x%s failed (%s); again", self.address, tx_hash.hex(), exc)
                time.sleep(0.5 * 2**attempt)
                try:
                    self.w3.eth.get_transaction(HexBytes(tx_hash))
                    return  # the node took it before the connection dropped
                except TransactionNotFound:
                    continue
                except (requests.ConnectionError, requests.Timeout):
                    continue

    def flush(self) -> None:
        """Wait until every queued transaction was handed to the node; LedgerError if the node
        refused any."""
        self._outbox.join()
        if self.errors:
            raise LedgerError(f"{self.address}: the node refused transactions: {self.errors[0]}")

    def close(self) -> None:
        self._outbox.put(None)

    def wait(self, hashes: Iterable[bytes], timeout_s: float = 120) -> list[dict[str, Any]]:
        """The receipts of `hashes`; LedgerError if one reverted or is missing at the deadline."""
        self.flush()
        deadline = time.monotonic() + timeout_s
        receipts = []
        for tx_hash in hashes:
            while True:
                try:
                    receipt = self.w3.eth.get_transaction_receipt(HexBytes(tx_hash))
                    break
                except TransactionNotFound:
                    pass
                if time.monotonic() > deadline:
                    raise LedgerError(f"transaction 0x{tx_hash.hex()} not mined in {timeout_s} s")
                time.sleep(0.05)
            if receipt["status"] != 1:
                raise LedgerError(f"transaction 0x{tx_hash.hex()} reverted")
            receipts.append(dict(receipt))
        return receipts

    def transact(self, call: Any, gas: int) -> dict[str, Any]:
        """Send `call` and wait for its receipt."""
        return self.wait([self.send(call, gas)])[0]
