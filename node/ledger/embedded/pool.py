"""The embedded chain's transaction pool: admission, per-sender nonce order, bounds.

Transactions are checked when they arrive (chain id, nonce, gas, fee, funds; the signature
is checked by the chain before), persisted, and handed to the block builder in arrival order
with each sender's nonces consecutive. The pool is bounded in total (`global_slots`) and fair
per sender, as geth's: every sender is guaranteed `account_slots` transactions; when the pool
is full, a newcomer takes the slot of the highest nonce of the sender holding the most
transactions, if that sender holds more than its guaranteed share and more than the
newcomer's sender; otherwise the newcomer is refused. So a flood of transactions from a few
funded senders cannot fill the pool for the others (docs/ledger.md, "Transaction pool").
All methods run under the chain's lock.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth.abc import BlockHeaderAPI, SignedTransactionAPI
from eth_typing import Address

from gridledger.node.errors import ConfigError, LedgerError
from gridledger.node.ledger.embedded.store import ChainStore

log = logging.getLogger(__name__)

MAX_NONCE_AHEAD = 64
"""A transaction up to this many nonces past its sender's next one is queued until the gap
fills (as geth and anvil do); further ahead it is refused."""


class TransactionRejectedError(LedgerError):
    """A transaction failed admission (the message says which check and the numbers)."""


@dataclass(frozen=True, slots=True)
class PoolLimits:
    """global_slots: transactions in the pool at most; account_slots: transactions of one
    sender that a flood from others cannot evict (geth: accountslots 16, globalslots 5120)."""

    global_slots: int = 50_000
    account_slots: int = 64

    def __post_init__(self) -> None:
        if not 1 <= self.account_slots <= self.global_slots:
            raise ConfigError(
                f"pool: need 1 <= account_slots <= global_slots, "
                f"got {self.account_slots} and {self.global_slots}"
            )


class TxPool:
    """Pooled transactions by hash (`txs`, in arrival order) and the nonces per sender."""

    def __init__(self, store: ChainStore, chain_id: int, limits: PoolLimits) -> None:
        self.store = store
        self.chain_id = chain_id
        self.limits = limits
        self.txs: dict[bytes, SignedTransactionAPI] = {}
        # Pooled nonces per sender, and the next nonce after the sender's run of pooled nonces
        # contiguous from its account nonce: admission is O(1), not a pool scan.
        self._pooled: dict[bytes, set[int]] = {}
        self._next: dict[bytes, int] = {}
        self.evicted = 0

    def pending_nonce(self, address: bytes) -> int | None:
        """The sender's next nonce past its pooled ones, None if it has none pooled."""
        return self._next.get(address)

    # ------------------------------------------------------------------ admission
    def admit(self, tx: SignedTransactionAPI, state: Any, head: BlockHeaderAPI) -> int:
        """Pool rules for a transaction whose signature was checked: chain id, pool room,
        nonce (the sender's next, or queued up to MAX_NONCE_AHEAD past it), gas limit, fee,
        funds. Returns the sender's next nonce before this transaction."""
        sender = tx.sender
        if tx.chain_id is not None and tx.chain_id != self.chain_id:
            raise TransactionRejectedError(
                f"chain id {tx.chain_id} does not match this chain's {self.chain_id}"
            )
        pooled = self._next.get(sender)
        expected = int(state.get_nonce(Address(sender))) if pooled is None else pooled
        if tx.nonce < expected:
            raise TransactionRejectedError(f"nonce too low: got {tx.nonce}, expected {expected}")
        if tx.nonce >= expected + MAX_NONCE_AHEAD:
            raise TransactionRejectedError(
                f"nonce too high: got {tx.nonce}, expected {expected} "
                f"(at most {MAX_NONCE_AHEAD - 1} ahead are queued)"
            )
        if tx.nonce in self._pooled.get(sender, ()):
            raise TransactionRejectedError(
                f"nonce {tx.nonce} of {sender.hex()} is already pooled (no replacement)"
            )
        if tx.gas > head.gas_limit:
            raise TransactionRejectedError(
                f"gas {tx.gas} exceeds the block gas limit {head.gas_limit}"
            )
        max_fee = tx.max_fee_per_gas
        if max_fee < (head.base_fee_per_gas or 0):
            raise TransactionRejectedError(
                f"max fee per gas {max_fee} is below the base fee {head.base_fee_per_gas}"
            )
        # Funds for every pooled transaction of the sender are not reserved: a transaction
        # that cannot pay when mined is dropped then (see EmbeddedChain._build).
        balance = state.get_balance(sender)
        cost = tx.gas * max_fee + tx.value
        if balance < cost:
            raise TransactionRejectedError(
                f"insufficient funds: balance {balance} wei, gas * max fee + value = {cost}"
            )
        if len(self.txs) >= self.limits.global_slots:
            self._make_room(sender)
        return expected

    def _make_room(self, sender: bytes) -> None:
        """Evict the highest nonce of the sender holding the most transactions, if it holds
        more than its guaranteed share and more than `sender`; else refuse `sender`'s."""
        own = len(self._pooled.get(sender, ()))
        largest = max(self._pooled, key=lambda s: len(self._pooled[s]))
        held = len(self._pooled[largest])
        if largest == sender or held <= self.limits.account_slots or held <= own + 1:
            raise TransactionRejectedError(
                f"the pool is full ({len(self.txs)} of {self.limits.global_slots} "
                f"transactions) and no sender holds more than its share "
                f"({self.limits.account_slots}) and more than this sender ({own})"
            )
        top = max(self._pooled[largest])
        victim = next(t for t in self.txs.values() if t.sender == largest and t.nonce == top)
        self.store.commit_block(mined_tx_hashes=[victim.hash])
        self._forget(victim)
        self.evicted += 1
        log.info(
            "pool full: evicted nonce %d of %s (%d pooled) for a transaction of %s (%d pooled)",
            top,
            largest.hex(),
            held,
            sender.hex(),
            own,
        )

    def _forget(self, tx: SignedTransactionAPI) -> None:
        del self.txs[tx.hash]
        nonces = self._pooled[tx.sender]
        nonces.discard(tx.nonce)
        if not nonces:
            del self._pooled[tx.sender]
            self._next.pop(tx.sender, None)
        elif self._next.get(tx.sender, 0) > tx.nonce:
            self._next[tx.sender] = tx.nonce

    def add(self, tx: SignedTransactionAPI, raw: bytes, expected: int) -> None:
        """Persist and pool an admitted transaction (`expected`: from `admit`)."""
        self.store.add_pool_tx(tx.hash, raw)
        self.txs[tx.hash] = tx
        nonces = self._pooled.setdefault(tx.sender, set())
        nonces.add(tx.nonce)
        if tx.nonce == expected:  # it may close a gap: the queued ones behind become ready
            following = tx.nonce + 1
            while following in nonces:
                following += 1
            self._next[tx.sender] = following

    # ------------------------------------------------------------------ after blocks
    def remove(self, txs: Sequence[SignedTransactionAPI]) -> None:
        """Forget mined or dropped transactions (the store drops them with the block)."""
        for tx in txs:
            self.txs.pop(tx.hash, None)

    def prune(self, state: Any) -> None:
        """Drop pooled transactions whose nonce the head state has passed; recount nonces."""
        stale = [tx for tx in self.txs.values() if tx.nonce < state.get_nonce(tx.sender)]
        if stale:
            self.store.commit_block(mined_tx_hashes=[tx.hash for tx in stale])
            for tx in stale:
                del self.txs[tx.hash]
        self.recount(state)

    def recount(self, state: Any) -> None:
        """Rebuild the pooled nonces per sender and each sender's next nonce (its account
        nonce on the head state, past every pooled nonce contiguous from it)."""
        self._pooled = {}
        for tx in self.txs.values():
            self._pooled.setdefault(tx.sender, set()).add(tx.nonce)
        self._next = {}
        for sender, nonces in self._pooled.items():
            following = int(state.get_nonce(Address(sender)))
            while following in nonces:
                following += 1
            self._next[sender] = following

    # ------------------------------------------------------------------ for the builder
    def has_ready(self, state: Any) -> bool:
        """Whether some pooled transaction can go into the next block (its sender's next
        nonce), not only queued ones waiting for a gap to fill."""
        if not self.txs:
            return False
        return any(
            following > state.get_nonce(Address(sender)) for sender, following in self._next.items()
        )

    def ready(self, state: Any) -> tuple[list[SignedTransactionAPI], list[SignedTransactionAPI]]:
        """The pooled transactions that can be mined now, in arrival order with each sender's
        nonces consecutive from its account nonce (a queued one right after the one that
        closes its gap); and the stale ones (nonce below the account's), to drop."""
        following: dict[bytes, int] = {}
        waiting: dict[bytes, dict[int, SignedTransactionAPI]] = {}
        ready: list[SignedTransactionAPI] = []
        stale: list[SignedTransactionAPI] = []
        for tx in self.txs.values():
            sender = tx.sender
            n = following.get(sender)
            if n is None:
                n = int(state.get_nonce(Address(sender)))
            if tx.nonce < n:
                stale.append(tx)
                continue
            if tx.nonce > n:
                waiting.setdefault(sender, {})[tx.nonce] = tx
                following[sender] = n
                continue
            ready.append(tx)
            n += 1
            queued = waiting.get(sender, {})
            while n in queued:
                ready.append(queued.pop(n))
                n += 1
            following[sender] = n
        return ready, stale


def fitting(txs: Sequence[SignedTransactionAPI], gas_limit: int) -> list[SignedTransactionAPI]:
    """The longest selection of `txs` in order whose gas limits fit `gas_limit`, skipping a
    sender entirely after its first transaction that does not fit (nonces stay contiguous)."""
    chosen: list[SignedTransactionAPI] = []
    gas = 0
    skipped_senders: set[bytes] = set()
    for tx in txs:
        if tx.sender in skipped_senders:
            continue  # keep each sender's nonces contiguous
        if gas + tx.gas > gas_limit:
            skipped_senders.add(tx.sender)
            continue
        chosen.append(tx)
        gas += tx.gas
    return chosen
