"""One account's access to a node's ledger over JSON-RPC: contract calls sent without waiting
(nonces counted locally, so an agent can send a batch per tick), receipts on demand."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import Any, cast

from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3 import HTTPProvider, Web3
from web3.exceptions import TransactionNotFound
from web3.middleware import ExtraDataToPOAMiddleware

from node.errors import LedgerError
from node.ledger.deploy import Deployment

MAX_FEE_WEI = 100 * 10**9
PRIORITY_FEE_WEI = 10**9


def rpc_web3(rpc_url: str, timeout_s: float = 60) -> Web3:
    """web3 over HTTP to a node's /rpc (Aura blocks carry a 73-byte extraData)."""
    w3 = Web3(HTTPProvider(rpc_url, request_kwargs={"timeout": timeout_s}))
    w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
    return w3


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

    def contract(self, name: str) -> Any:
        return self.deployment.contract(self.w3, name)

    def send(self, call: Any, gas: int) -> bytes:
        """Sign and send `call` (a bound contract function); its hash once the node pooled it."""
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
            tx_hash = bytes(self.w3.eth.send_raw_transaction(signed.raw_transaction))
            self._nonce += 1
            self.sent.append(tx_hash)
            return tx_hash

    def wait(self, hashes: Iterable[bytes], timeout_s: float = 120) -> list[dict[str, Any]]:
        """The receipts of `hashes`; LedgerError if one reverted or is missing at the deadline."""
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
