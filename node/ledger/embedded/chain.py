"""The embedded chain: py-evm's CancunVM behind a transaction pool and a block builder.

One writer at a time (a lock): py-evm is not thread-safe. Transactions are checked when they
arrive (signature, chain id, nonce, balance, gas), persisted to the pool, and mined in blocks
built once each, as py-evm's `mine_all` does: every transaction applied, then the tries
(building a block transaction by transaction rebuilds its tries every time: see
docs/architecture.md).
A pooled transaction that no longer applies when mined leaves the pool.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import rlp
from eth.abc import BlockAPI, BlockHeaderAPI, ReceiptAPI, SignedTransactionAPI
from eth.chains.base import MiningChain
from eth.db.atomic import AtomicDB
from eth.db.schema import SchemaV1
from eth.exceptions import HeaderNotFound, TransactionNotFound
from eth.rlp.sedes import chain_gaps
from eth.vm.spoof import SpoofTransaction
from eth_typing import Address, BlockNumber, Hash32
from eth_utils.crypto import keccak
from eth_utils.exceptions import ValidationError

from gridledger.node.errors import LedgerError
from gridledger.node.ledger.embedded import fasttrie, txsender
from gridledger.node.ledger.embedded.aura import (
    Aura,
    GridledgerVM,
    check_seal,
    finalized_number,
    seal,
)
from gridledger.node.ledger.embedded.genesis import GenesisConfig
from gridledger.node.ledger.embedded.genesis_build import create_genesis
from gridledger.node.ledger.embedded.store import ChainStore, LogRow

MAX_POOL_TXS = 50_000
MAX_NONCE_AHEAD = 64
"""A transaction up to this many nonces past its sender's next one is queued until the gap
fills (as geth and anvil do); further ahead it is refused."""

fasttrie.install()  # block tries in one pass: same roots and nodes (tested), far faster


class TransactionRejectedError(LedgerError):
    """A transaction failed admission (the message says which check and the numbers)."""


class GenesisMismatchError(LedgerError):
    """The data directory holds a chain with another genesis."""


@dataclass(frozen=True, slots=True)
class _Built:
    """A block built on the pool: its receipts, and the pooled transactions it takes out
    (mined, or dropped because they no longer apply)."""

    block: BlockAPI
    receipts: tuple[ReceiptAPI, ...]
    dropped: tuple[SignedTransactionAPI, ...]


@dataclass(frozen=True, slots=True)
class MinedBlock:
    """A block and its receipts, as mined or read back."""

    block: BlockAPI
    receipts: tuple[ReceiptAPI, ...]


def _chain_class(chain_id: int) -> type[MiningChain]:
    return type(
        "GridledgerChain",
        (MiningChain,),
        {"vm_configuration": ((0, GridledgerVM),), "chain_id": chain_id},
    )


class EmbeddedChain:
    """A persistent py-evm chain in `data_dir` (created from `genesis` on first open)."""

    def __init__(self, data_dir: Path, genesis: GenesisConfig, aura: Aura | None = None) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.genesis = genesis
        self.aura = aura
        self.store = ChainStore(data_dir / "chain.sqlite")
        self.lock = threading.RLock()
        chain_class = _chain_class(genesis.chain_id)
        stored = self.store.get_meta("genesis")
        self.chain: MiningChain
        if stored is None:
            try:
                self.chain = create_genesis(chain_class, AtomicDB(self.store), genesis)
            except Exception:
                self.store.discard_pending()
                self.store.close()
                raise
            self.store.commit_block(meta={"genesis": genesis.fingerprint()})
        elif stored != genesis.fingerprint():
            raise GenesisMismatchError(
                f"{data_dir} holds a chain with genesis {stored[:12]}..., "
                f"not {genesis.fingerprint()[:12]}... (another config?)"
            )
        else:
            self.chain = chain_class(AtomicDB(self.store))
        self.pool: dict[bytes, SignedTransactionAPI] = {}
        # Pooled nonces per sender, and the next nonce after the sender's run of pooled nonces
        # contiguous from its account nonce: admission is O(1), not a pool scan.
        self._pooled: dict[bytes, set[int]] = {}
        self._pool_nonces: dict[bytes, int] = {}
        self._head_state: Any = None  # state after the head block, cached between blocks
        self.new_block = threading.Condition(self.lock)
        self.tx_listeners: list[Callable[[bytes], None]] = []
        for raw in self.store.pool_txs():
            tx = self._decode(raw)
            self.pool[tx.hash] = tx
        self._prune_pool()

    # ------------------------------------------------------------------ pool
    def _decode(self, raw: bytes) -> SignedTransactionAPI:
        builder = self.chain.get_vm().get_transaction_builder()
        try:
            tx: SignedTransactionAPI = builder.decode(raw)
        except Exception as exc:
            raise TransactionRejectedError(f"transaction does not decode: {exc}") from exc
        return tx

    def _state(self) -> Any:
        if self._head_state is None:
            self._head_state = self.chain.get_vm(self.head_header()).state
        return self._head_state

    def pending_nonce(self, address: bytes) -> int:
        with self.lock:
            pooled = self._pool_nonces.get(address)
            if pooled is not None:
                return pooled
            return int(self._state().get_nonce(Address(address)))

    def submit_raw(self, raw: bytes, announce: bool = True) -> bytes:
        """Check and pool a signed raw transaction; return its hash once it is on disk.
        A transaction new to the pool is handed to `tx_listeners` (gossip) if `announce`."""
        tx = self._decode(raw)
        self._check_signature(tx)  # outside the lock: the recovery need not stop block building
        with self.lock:
            if tx.hash in self.pool:
                return bytes(tx.hash)
            expected = self._admit(tx)
            self.store.add_pool_tx(tx.hash, raw)
            self.pool[tx.hash] = tx
            nonces = self._pooled.setdefault(tx.sender, set())
            nonces.add(tx.nonce)
            if tx.nonce == expected:  # it may close a gap: the queued ones behind become ready
                following = tx.nonce + 1
                while following in nonces:
                    following += 1
                self._pool_nonces[tx.sender] = following
            self.new_block.notify_all()
        if announce:
            for listener in self.tx_listeners:
                listener(raw)
        return bytes(tx.hash)

    @staticmethod
    def _check_signature(tx: SignedTransactionAPI) -> None:
        """py-evm's checks of the fields and the signature; the sender is recovered (and
        kept by the transaction)."""
        try:
            tx.validate()
            txsender.cache_sender(tx)
            _ = tx.sender
        except Exception as exc:
            raise TransactionRejectedError(f"invalid transaction: {exc}") from exc

    def _admit(self, tx: SignedTransactionAPI) -> int:
        """Pool rules for a transaction whose signature was checked: chain id, pool size,
        nonce (the sender's next, or queued up to MAX_NONCE_AHEAD past it), gas limit, fee,
        funds. Returns the sender's next nonce before this transaction."""
        sender = tx.sender
        if tx.chain_id is not None and tx.chain_id != self.genesis.chain_id:
            raise TransactionRejectedError(
                f"chain id {tx.chain_id} does not match this chain's {self.genesis.chain_id}"
            )
        if len(self.pool) >= MAX_POOL_TXS:
            raise TransactionRejectedError(f"the pool is full ({MAX_POOL_TXS} transactions)")
        expected = self.pending_nonce(sender)
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
        head = self.head_header()
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
        # that cannot pay when mined is dropped then (see _build).
        balance = self._state().get_balance(sender)
        cost = tx.gas * max_fee + tx.value
        if balance < cost:
            raise TransactionRejectedError(
                f"insufficient funds: balance {balance} wei, gas * max fee + value = {cost}"
            )
        return expected

    # ------------------------------------------------------------------ blocks
    def produce_block(
        self, timestamp_ts: int | None = None, empty_ok: bool = False
    ) -> MinedBlock | None:
        """Mine the pooled transactions that are ready (each sender's next nonces), fit and
        apply into one block; None if none is ready (unless `empty_ok`: then an empty block,
        e.g. to move the clock)."""
        with self.lock:
            if not self.has_ready_transactions() and not empty_ok:
                return None
            if timestamp_ts is not None:
                self.chain.set_header_timestamp(max(timestamp_ts, self.head_header().timestamp + 1))
            try:
                vm, built = self._build(self.chain.header)
                vm.validate_block(built.block)
                self._persist(built.block)
            except Exception:
                self.store.discard_pending()
                raise
            return self._committed(built.block, built.receipts, built.dropped)

    def produce_sealed_block(
        self, aura: Aura, step: int, key: Any, build_budget_s: float | None = None
    ) -> MinedBlock:
        """Build, seal (as `key`, the proposer of `step`) and persist the block of `step`,
        with the pooled transactions that fit and apply (possibly none). With
        `build_budget_s` [s], no transaction is started once that much time has gone into
        the block (at least one is): the rest wait for the next block, so that a block can
        be built, and re-executed by the other replicas, within its slot."""
        with self.lock:
            head = self.head_header()
            base = self.chain.create_header_from_parent(head).copy(
                timestamp=aura.slot_ts(step), extra_data=step.to_bytes(8, "big")
            )
            try:
                deadline = None if build_budget_s is None else time.monotonic() + build_budget_s
                _, built = self._build(base, deadline)
                block = built.block
                sealed = block.copy(header=block.header.copy(extra_data=seal(block.header, key)))
                check_seal(sealed.header, head, aura)
                self._persist(sealed)
            except Exception:
                self.store.discard_pending()
                raise
            return self._committed(sealed, built.receipts, built.dropped)

    def _persist(self, block: BlockAPI) -> None:
        """py-evm's Chain.persist_block without reading the new canonical blocks back."""
        self.chain.validate_block(block)
        self.chain.chaindb.persist_block(block)

    def _build(self, base: BlockHeaderAPI, deadline: float | None = None) -> tuple[Any, _Built]:
        """The VM of `base` and the block on it with the pooled transactions that fit and
        apply (none started after the monotonic `deadline`, if any, but the first), not
        persisted. A pooled transaction that no longer applies (nonce or funds: the pool does
        not reserve a sender's funds, and a reorg can change both) is in `dropped`, to leave
        the pool with the mined ones."""
        vm = self.chain.get_vm(base)
        ready, stale = self._ready()
        header, receipts, txs, invalid = _apply_valid(vm, self._fitting(ready), base, deadline)
        invalid += stale
        filled = vm.set_block_transactions_and_withdrawals(vm.get_block(), header, txs, receipts)
        block = vm.finalize_block(vm.pack_block(filled)).block
        return vm, _Built(block, tuple(receipts), (*txs, *invalid))

    def import_sealed_block(self, block: BlockAPI, aura: Aura) -> MinedBlock:
        """Check a peer's block (seal, step, proposer, timestamp, parent), re-execute it
        (state, transaction and receipt roots), and persist it. Raises without changing
        anything if any check fails."""
        with self.lock:
            try:
                check_seal(block.header, self.head_header(), aura)
                result = self.chain.import_block(block)
            except Exception:
                self.store.discard_pending()
                raise
            imported = result.imported_block
            receipts = self.receipts_of(imported)
            return self._committed(imported, receipts, list(imported.transactions))

    def _committed(
        self, block: BlockAPI, receipts: tuple[ReceiptAPI, ...], txs: Sequence[SignedTransactionAPI]
    ) -> MinedBlock:
        self.store.commit_block(
            logs=_log_rows(block, receipts),
            mined_tx_hashes=[tx.hash for tx in txs],
            meta={"head": str(block.number)},
        )
        for tx in txs:
            self.pool.pop(tx.hash, None)
        self.chain.header = self.chain.create_header_from_parent(block.header)
        self._head_state = None
        self._recount_nonces()
        self.new_block.notify_all()
        return MinedBlock(block, receipts)

    def rewind_to(self, number: int, repool: bool = False) -> list[SignedTransactionAPI]:
        """Make block `number` the head again; return the transactions of the blocks dropped,
        and with `repool` put them back into the pool in the same commit (a reorg). States are
        content-addressed, so the old state is still there: only the canonical lookups and the
        log index move."""
        with self.lock:
            head = self.head_header().block_number
            if not 0 <= number <= head:
                raise LedgerError(f"cannot rewind to block {number}: head is {head}")
            dropped: list[SignedTransactionAPI] = []
            for n in range(number + 1, head + 1):
                block = self.block_by_number(n)
                dropped.extend(block.transactions)
                for tx in block.transactions:
                    del self.store[SchemaV1.make_transaction_hash_to_block_lookup_key(tx.hash)]
                del self.store[SchemaV1.make_block_number_to_hash_lookup_key(BlockNumber(n))]
            target = self.header_by_number(number)
            self.store[SchemaV1.make_canonical_head_hash_lookup_key()] = target.hash
            # py-evm records which heights it holds ("gaps" and the next missing height):
            # after the rewind nothing below `number` is missing and `number + 1` is next.
            no_gaps = rlp.encode(((), number + 1), sedes=chain_gaps)
            self.store[SchemaV1.make_chain_gaps_lookup_key()] = no_gaps
            self.store[SchemaV1.make_header_chain_gaps_lookup_key()] = no_gaps
            pooled = [(tx.hash, tx.encode()) for tx in dropped] if repool else []
            self.store.commit_block(
                meta={"head": str(number)}, drop_logs_after=number, pooled=pooled
            )
            self.chain = type(self.chain)(AtomicDB(self.store))
            self._head_state = None
            if repool:
                for tx in dropped:
                    self.pool[tx.hash] = tx
                self._prune_pool()
            return dropped

    def _prune_pool(self) -> None:
        """Drop pooled transactions whose nonce the head state has passed; recount nonces."""
        state = self._state()
        stale = [tx for tx in self.pool.values() if tx.nonce < state.get_nonce(tx.sender)]
        if stale:
            self.store.commit_block(mined_tx_hashes=[tx.hash for tx in stale])
            for tx in stale:
                del self.pool[tx.hash]
        self._recount_nonces()

    def _recount_nonces(self) -> None:
        """Rebuild the pooled nonces per sender and each sender's next nonce (its account
        nonce on the head state, past every pooled nonce contiguous from it)."""
        self._pooled = {}
        for tx in self.pool.values():
            self._pooled.setdefault(tx.sender, set()).add(tx.nonce)
        state = self._state()
        self._pool_nonces = {}
        for sender, nonces in self._pooled.items():
            following = int(state.get_nonce(Address(sender)))
            while following in nonces:
                following += 1
            self._pool_nonces[sender] = following

    def has_ready_transactions(self) -> bool:
        """Whether some pooled transaction can go into the next block (its sender's next
        nonce), not only queued ones waiting for a gap to fill."""
        with self.lock:
            if not self.pool:
                return False
            state = self._state()
            return any(
                following > state.get_nonce(Address(sender))
                for sender, following in self._pool_nonces.items()
            )

    def _ready(self) -> tuple[list[SignedTransactionAPI], list[SignedTransactionAPI]]:
        """The pooled transactions that can be mined now, in arrival order with each sender's
        nonces consecutive from its account nonce (a queued one right after the one that
        closes its gap); and the stale ones (nonce below the account's), to drop."""
        state = self._state()
        following: dict[bytes, int] = {}
        waiting: dict[bytes, dict[int, SignedTransactionAPI]] = {}
        ready: list[SignedTransactionAPI] = []
        stale: list[SignedTransactionAPI] = []
        for tx in self.pool.values():
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

    def _fitting(self, txs: Sequence[SignedTransactionAPI]) -> list[SignedTransactionAPI]:
        limit = self.head_header().gas_limit
        chosen: list[SignedTransactionAPI] = []
        gas = 0
        skipped_senders: set[bytes] = set()
        for tx in txs:
            if tx.sender in skipped_senders:
                continue  # keep each sender's nonces contiguous
            if gas + tx.gas > limit:
                skipped_senders.add(tx.sender)
                continue
            chosen.append(tx)
            gas += tx.gas
        return chosen

    # ------------------------------------------------------------------ queries
    def head_header(self) -> BlockHeaderAPI:
        return self.chain.get_canonical_head()

    def is_canonical(self, block_hash: bytes) -> bool:
        """Whether `block_hash` is on this replica's canonical chain."""
        with self.lock:
            try:
                header = self.chain.get_block_header_by_hash(Hash32(block_hash))
                number = header.block_number
                return bool(self.header_by_number(number).hash == block_hash)
            except (HeaderNotFound, LedgerError, KeyError, ValueError):
                return False

    def finalized_number(self) -> int:
        """The highest final block: by Aura's rule on a sealed chain, the head otherwise
        (a lone node has nobody to disagree with)."""
        with self.lock:
            head = self.head_header()
            if self.aura is None:
                return int(head.block_number)
            return finalized_number(self.headers_down(head), self.aura)

    def headers_down(self, head: BlockHeaderAPI) -> Iterator[BlockHeaderAPI]:
        """`head` and its ancestors, down to genesis."""
        header = head
        while True:
            yield header
            if header.block_number == 0:
                return
            header = self.chain.get_block_header_by_hash(header.parent_hash)

    def header_by_number(self, number: int) -> BlockHeaderAPI:
        try:
            return self.chain.get_canonical_block_header_by_number(BlockNumber(number))
        except HeaderNotFound as exc:
            raise LedgerError(f"no block {number}") from exc

    def block_by_number(self, number: int) -> BlockAPI:
        with self.lock:
            return self.chain.get_canonical_block_by_number(
                self.header_by_number(number).block_number
            )

    def block_by_hash(self, block_hash: bytes) -> BlockAPI | None:
        with self.lock:
            try:
                return self.chain.get_block_by_hash(Hash32(block_hash))
            except (HeaderNotFound, KeyError, ValueError):
                return None

    def receipts_of(self, block: BlockAPI) -> tuple[ReceiptAPI, ...]:
        with self.lock:
            return tuple(block.get_receipts(self.chain.chaindb))

    def mined_receipt(self, number: int, index: int) -> MinedReceipt:
        """Transaction `index` of canonical block `number` with its receipt, without loading
        the rest of the block: one transaction and one or two receipts from the block's tries,
        its logs from the log index."""
        with self.lock:
            header = self.header_by_number(number)
            vm_class = self.chain.get_vm_class(header)
            db = self.chain.chaindb
            at = BlockNumber(number)
            tx = db.get_transaction_by_index(at, index, vm_class.get_transaction_builder())
            receipts = vm_class.get_receipt_builder()
            receipt = db.get_receipt_by_index(at, index, receipts)
            previous = db.get_receipt_by_index(at, index - 1, receipts).gas_used if index else 0
            logs = self.store.logs_of_transaction(number, index)
        return MinedReceipt(header, tx, index, receipt, receipt.gas_used - previous, logs)

    def transaction_location(self, tx_hash: bytes) -> tuple[int, int] | None:
        """(block number, index) of a mined transaction, from py-evm's hash index."""
        with self.lock:
            try:
                number, index = self.chain.chaindb.get_transaction_index(Hash32(tx_hash))
            except (TransactionNotFound, KeyError):
                return None
            return int(number), int(index)

    def state_at(self, number: int) -> Any:
        header = self.header_by_number(number)
        return self.chain.get_vm(header).state

    def call_transaction(
        self,
        header: BlockHeaderAPI,
        sender: bytes,
        to: bytes,
        data: bytes,
        value: int = 0,
        gas: int | None = None,
    ) -> SpoofTransaction:
        """An unsigned call from `sender` for the state after `header`: the sender's nonce
        there, the block's base fee as gas price, and its gas limit unless `gas` is given."""
        with self.lock:
            unsigned = self.chain.create_unsigned_transaction(
                nonce=self.chain.get_vm(header).state.get_nonce(Address(sender)),
                gas_price=header.base_fee_per_gas or 0,
                gas=header.gas_limit if gas is None else gas,
                to=Address(to),
                value=value,
                data=data,
            )
        return SpoofTransaction(unsigned, from_=sender)

    def execute_call(self, tx: SpoofTransaction, header: BlockHeaderAPI) -> Any:
        """Run `tx` on the state after `header` (any block held, canonical or not) and discard
        the changes."""
        with self.lock:
            state = self.chain.get_vm(header).state
            snapshot = state.snapshot()
            try:
                # Like geth's eth_call, a call does not need the caller to hold its gas money.
                gas_cost = tx.gas * tx.gas_price
                state.set_balance(tx.sender, state.get_balance(tx.sender) + gas_cost)
                return state.apply_transaction(cast(Any, tx))
            finally:
                state.revert(snapshot)

    def call_at(self, header: BlockHeaderAPI, to: bytes, data: bytes) -> bytes:
        """The return data of a read-only call to `to` on the state after `header`;
        LedgerError if it reverts."""
        tx = self.call_transaction(header, b"\x00" * 20, to, data)
        computation = self.execute_call(tx, header)
        if computation.is_error:
            raise LedgerError(f"call to 0x{to.hex()} failed: {computation.error!r}")
        return bytes(computation.output)

    def close(self) -> None:
        with self.lock:
            self.store.close()


Txs = list[SignedTransactionAPI]


@dataclass(frozen=True, slots=True)
class MinedReceipt:
    """A mined transaction's receipt with what eth_getTransactionReceipt reports beside it."""

    header: BlockHeaderAPI
    tx: SignedTransactionAPI
    index: int
    receipt: ReceiptAPI
    gas_used: int  # by this transaction alone [gas]
    logs: list[LogRow]


def _apply_valid(
    vm: Any, txs: Sequence[SignedTransactionAPI], base: BlockHeaderAPI, deadline: float | None
) -> tuple[BlockHeaderAPI, list[ReceiptAPI], Txs, Txs]:
    """py-evm's apply_all_transactions, skipping transactions that fail validation (nonce,
    funds, gas) and starting none after the monotonic `deadline` but the first:
    (header, receipts, applied, invalid). Stopping early keeps each sender's nonces in
    order: what is left is a suffix of `txs`."""
    header = base
    receipts: list[ReceiptAPI] = []
    applied: Txs = []
    invalid: Txs = []
    bad_senders: set[bytes] = set()
    for tx in txs:
        if deadline is not None and applied and time.monotonic() >= deadline:
            break
        if tx.sender in bad_senders:  # a later nonce of a sender whose earlier one failed
            continue
        try:  # validation fails before the transaction changes any state
            receipt, _ = vm.apply_transaction(header, tx)
        except ValidationError:
            invalid.append(tx)
            bad_senders.add(tx.sender)
            continue
        header = vm.increment_blob_gas_used(vm.add_receipt_to_header(header, receipt), tx)
        receipts.append(receipt)
        applied.append(tx)
    return header, receipts, applied, invalid


def _log_rows(block: BlockAPI, receipts: Sequence[ReceiptAPI]) -> list[LogRow]:
    rows: list[LogRow] = []
    log_index = 0
    for tx_index, (tx, receipt) in enumerate(zip(block.transactions, receipts, strict=True)):
        for log in receipt.logs:
            rows.append(
                LogRow(
                    block_number=block.number,
                    log_index=log_index,
                    tx_index=tx_index,
                    tx_hash=tx.hash,
                    block_hash=block.hash,
                    address=log.address,
                    topics=tuple(t.to_bytes(32, "big") for t in log.topics),
                    data=log.data,
                )
            )
            log_index += 1
    return rows


def contract_address(sender: bytes, nonce: int) -> bytes:
    """The address CREATE gives a contract deployed by `sender` at `nonce`."""
    return keccak(rlp.encode([sender, nonce]))[12:]
