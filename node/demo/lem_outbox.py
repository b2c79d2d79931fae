"""Signed transactions of many accounts, fed to a ledger as it mines them.

A node pools at most 64 transactions of one sender ahead of its mined nonce, so an account
sending hundreds (the operator admitting a community, the grid paying its exports) must wait
for blocks in between. `Outbox` signs at once with nonces counted locally, hands the ledger at
most WINDOW unmined transactions per sender, and `drive` seals blocks until everything sent is
mined, inside a window of chain time.
"""

from __future__ import annotations

from collections import defaultdict, deque
from typing import Any, cast

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from hexbytes import HexBytes

from gridledger.node.demo.lem_ledgers import LemLedger
from gridledger.node.errors import LedgerError

WINDOW = 60
"""Unmined transactions per sender handed to the ledger at once (its pool takes 64)."""
MAX_FEE_WEI = 10_000 * 10**9
"""High enough that a run of full blocks (the base fee rises 12.5 % per block) never strands
a transaction; the sandbox accounts are funded for it."""
PRIORITY_FEE_WEI = 10**9


class Outbox:
    """Transactions signed per account, released to `ledger` WINDOW at a time per sender."""

    def __init__(self, ledger: LemLedger) -> None:
        self.ledger = ledger
        self._nonce: dict[ChecksumAddress, int] = {}
        self._queued: dict[ChecksumAddress, deque[bytes]] = defaultdict(deque)
        self._released: dict[ChecksumAddress, int] = {}  # next nonce not yet handed to the ledger
        self._unmined: set[bytes] = set()
        self._scanned = int(ledger.w3.eth.block_number)
        self.sent: list[bytes] = []

    def _next_nonce(self, account: LocalAccount) -> int:
        address = account.address
        if address not in self._nonce:
            self._nonce[address] = int(self.ledger.w3.eth.get_transaction_count(address))
            self._released[address] = self._nonce[address]
        nonce = self._nonce[address]
        self._nonce[address] = nonce + 1
        return nonce

    def _queue(self, account: LocalAccount, tx: dict[str, Any]) -> bytes:
        signed = account.sign_transaction(cast(Any, tx))
        tx_hash = bytes(signed.hash)
        self._queued[account.address].append(bytes(signed.raw_transaction))
        self._unmined.add(tx_hash)
        self.sent.append(tx_hash)
        return tx_hash

    def _fees(self, account: LocalAccount, gas: int) -> dict[str, Any]:
        return {
            "from": account.address,
            "nonce": self._next_nonce(account),
            "gas": gas,
            "chainId": self.ledger.chain_id,
            "maxFeePerGas": MAX_FEE_WEI,
            "maxPriorityFeePerGas": PRIORITY_FEE_WEI,
        }

    def call(self, account: LocalAccount, call: Any, gas: int) -> bytes:
        """Sign the contract call `call` from `account` with gas limit `gas`; its hash."""
        return self._queue(account, call.build_transaction(self._fees(account, gas)))

    def pay(self, account: LocalAccount, to: str, value_wei: int) -> bytes:
        """Sign a plain transfer of `value_wei` from `account` to `to`; its hash."""
        tx = self._fees(account, 21_000) | {"to": to, "value": value_wei, "type": 2}
        tx.pop("from")
        return self._queue(account, tx)

    def pending(self) -> bool:
        """Whether anything signed is not yet handed to the ledger."""
        return any(self._queued.values())

    def pump(self) -> None:
        """Hand the ledger each sender's next transactions, up to WINDOW unmined."""
        raws: list[bytes] = []
        for address, queue in self._queued.items():
            if not queue:
                continue
            mined = int(self.ledger.w3.eth.get_transaction_count(address))
            room = WINDOW - (self._released[address] - mined)
            while queue and room > 0:
                raws.append(queue.popleft())
                self._released[address] += 1
                room -= 1
        if raws:
            self.ledger.submit(raws)

    def all_mined(self) -> bool:
        """Whether every transaction signed so far is in a block (the new blocks' transaction
        lists are read once each)."""
        head = int(self.ledger.w3.eth.block_number)
        for number in range(self._scanned + 1, head + 1):
            block = self.ledger.w3.eth.get_block(number)
            self._unmined.difference_update(bytes(h) for h in block["transactions"])  # type: ignore[arg-type]
        self._scanned = head
        return not self.pending() and not self._unmined

    def drive(self, from_ts: int, until_ts: int, what: str) -> int:
        """Seal blocks from `from_ts` on, one ledger step apart, until everything sent is
        mined; the time of the last block. LedgerError past `until_ts` [unix s]."""
        ts = max(from_ts, self.ledger.now_ts() + self.ledger.block_step_s)
        while True:
            if ts > until_ts:
                raise LedgerError(
                    f"{what}: transactions still unmined at {ts}, past the deadline {until_ts}"
                )
            self.pump()
            self.ledger.seal(ts)
            if self.all_mined():
                return ts
            ts += self.ledger.block_step_s

    def receipts(self, hashes: list[bytes]) -> list[dict[str, Any]]:
        """The receipts of mined `hashes`; LedgerError naming the first that reverted."""
        out = []
        for tx_hash in hashes:
            receipt = dict(self.ledger.w3.eth.get_transaction_receipt(HexBytes(tx_hash)))
            if receipt["status"] != 1:
                raise LedgerError(f"transaction 0x{tx_hash.hex()} reverted")
            out.append(receipt)
        return out
