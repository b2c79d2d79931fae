"""The embedded chain: py-evm's CancunVM behind a transaction pool and a block builder.

One writer at a time (a lock): py-evm is not thread-safe. Transactions are checked when they
arrive (signature here, the rest in pool.TxPool), persisted to the pool, and mined in blocks
built once each, as py-evm's `mine_all` does: every transaction applied, then the tries
(building a block transaction by transaction rebuilds its tries every time: see
docs/architecture.md).
A pooled transaction that no longer applies when mined leaves the pool.

Execution is bounded (budget.py), given a budget: a block's build in time (its first
transaction in CPU time), a peer's block's re-execution in CPU time; calls (eth_call) run on
a state of their own outside the lock, so they never hold up sealing or imports
(docs/ledger.md, "Execution limits").
"""

from __future__ import annotations

import logging
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
from gridledger.node.ledger.embedded import budget, fasttrie, txsender
from gridledger.node.ledger.embedded.aura import (
    Aura,
    GridledgerVM,
    check_seal,
    seal,
)
from gridledger.node.ledger.embedded.genesis import GenesisConfig
from gridledger.node.ledger.embedded.genesis_build import create_genesis
from gridledger.node.ledger.embedded.pool import (
    PoolLimits,
    TransactionRejectedError,
    TxPool,
    fitting,
)
from gridledger.node.ledger.embedded.store import ChainStore, LogRow

__all__ = ["EmbeddedChain", "MinedBlock", "TransactionRejectedError"]

log = logging.getLogger(__name__)

fasttrie.install()  # block tries in one pass: same roots and nodes (tested), far faster


class GenesisMismatchError(LedgerError):
    """The data directory holds a chain with another genesis."""


@dataclass(frozen=True, slots=True)
class _Built:
    """A block built on the pool: its receipts, and the pooled transactions it takes out
    (mined, or dropped because they no longer apply or cannot run within a block's budget)."""

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

    def __init__(
        self,
        data_dir: Path,
        genesis: GenesisConfig,
        aura: Aura | None = None,
        pool_limits: PoolLimits | None = None,
    ) -> None:
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
        self.txpool = TxPool(self.store, genesis.chain_id, pool_limits or PoolLimits())
        self.pool = self.txpool.txs  # pooled transactions by hash, in arrival order
        self._head_state: Any = None  # state after the head block, cached between blocks
        self.new_block = threading.Condition(self.lock)
        self.tx_listeners: list[Callable[[bytes], None]] = []
        for raw in self.store.pool_txs():
            tx = self._decode(raw)
            self.pool[tx.hash] = tx
        self.txpool.prune(self._state())
        self.justified = self._load_justified()
        self.vote_domain = bytes(20)
        """AuthoritySet's address, the finality votes' domain (set by the consensus)."""
        self.changes = 0
        """Counts changes of the canonical chain (blocks committed, rewinds): a cache of
        canonical look-ups is valid while it stays the same."""

    # ------------------------------------------------------------------ finality
    def _load_justified(self) -> tuple[int, bytes]:
        """The highest stored justification still on the canonical chain, (number, hash);
        genesis if none."""
        head = int(self.head_header().block_number)
        for number, block_hash in self.store.justifications_down():
            if number <= head and bytes(self.header_by_number(number).hash) == block_hash:
                return number, block_hash
        return 0, bytes(self.header_by_number(0).hash)

    def record_justification(self, number: int, block_hash: bytes, data: bytes) -> None:
        """Store the justification of canonical block `number` (durable before it counts)
        and make it the finalized block if it is higher."""
        with self.lock:
            if bytes(self.header_by_number(number).hash) != block_hash:
                raise LedgerError(f"block {number} 0x{block_hash.hex()[:12]} is not canonical")
            self.store.put_justification(number, block_hash, data)
            if number > self.justified[0]:
                self.justified = (number, block_hash)

    def justification_covering(self, number: int) -> tuple[int, bytes, bytes] | None:
        """The stored justification that proves block `number` final: its own, or the lowest
        one above it (a justified block's ancestors are final); (number, hash, data)."""
        with self.lock:
            if number > self.justified[0]:
                return None
            return self.store.justification_covering(number)

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
            pooled = self.txpool.pending_nonce(address)
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
            expected = self.txpool.admit(tx, self._state(), self.head_header())
            self.txpool.add(tx, raw, expected)
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

    # ------------------------------------------------------------------ blocks
    def produce_block(
        self,
        timestamp_ts: int | None = None,
        empty_ok: bool = False,
        build_budget_s: float | None = None,
    ) -> MinedBlock | None:
        """Mine the pooled transactions that are ready (each sender's next nonces), fit and
        apply into one block; None if none is ready (unless `empty_ok`: then an empty block,
        e.g. to move the clock). `build_budget_s` [s] bounds the block's execution as in
        `produce_sealed_block`."""
        with self.lock:
            if not self.has_ready_transactions() and not empty_ok:
                return None
            if timestamp_ts is not None:
                self.chain.set_header_timestamp(max(timestamp_ts, self.head_header().timestamp + 1))
            try:
                deadline = None if build_budget_s is None else time.monotonic() + build_budget_s
                vm, built = self._build(self.chain.header, deadline)
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
        the block, and one still running then is aborted: it waits for the next block, or,
        if it was the block's first (it cannot run within any block's budget), it leaves the
        pool (logged). So a block is built, and re-executed by the other replicas, within
        its slot."""
        self._check_seal_domain(aura)
        with self.lock:
            head = self.head_header()
            base = self.chain.create_header_from_parent(head).copy(
                timestamp=aura.slot_ts(step), extra_data=step.to_bytes(8, "big")
            )
            try:
                deadline = None if build_budget_s is None else time.monotonic() + build_budget_s
                _, built = self._build(base, deadline)
                block = built.block
                extra_data = seal(block.header, key, aura)
                sealed = block.copy(header=block.header.copy(extra_data=extra_data))
                check_seal(sealed.header, head, aura)
                self._persist(sealed)
            except Exception:
                self.store.discard_pending()
                raise
            return self._committed(sealed, built.receipts, built.dropped)

    def _check_seal_domain(self, aura: Aura) -> None:
        """Seals sign the chain id: an Aura of another chain would seal blocks no replica of
        this one accepts (and evidence AuthoritySet refuses)."""
        if aura.chain_id != self.genesis.chain_id:
            raise LedgerError(
                f"Aura seals for chain id {aura.chain_id}, this chain is {self.genesis.chain_id}"
            )

    def _persist(self, block: BlockAPI) -> None:
        """py-evm's Chain.persist_block without reading the new canonical blocks back."""
        self.chain.validate_block(block)
        self.chain.chaindb.persist_block(block)

    def _build(self, base: BlockHeaderAPI, deadline: float | None = None) -> tuple[Any, _Built]:
        """The VM of `base` and the block on it with the pooled transactions that fit and
        apply before the monotonic `deadline`, if any, not persisted. A pooled transaction
        that no longer applies (nonce or funds: the pool does not reserve a sender's funds,
        and a reorg can change both), or that alone overruns the deadline, is in `dropped`,
        to leave the pool with the mined ones."""
        vm = self.chain.get_vm(base)
        ready, stale = self.txpool.ready(self._state())
        chosen = fitting(ready, self.head_header().gas_limit)
        header, receipts, txs, invalid, aborted = _apply_valid(vm, chosen, base, deadline)
        if aborted:
            # py-evm cannot revert a transaction cut short (it locks the state's journal when
            # a transaction starts): replay the applied ones on a fresh VM (they succeed).
            vm = self.chain.get_vm(base)
            header, receipts, txs, _, _ = _apply_valid(vm, txs, base, None)
        invalid += stale
        filled = vm.set_block_transactions_and_withdrawals(vm.get_block(), header, txs, receipts)
        block = vm.finalize_block(vm.pack_block(filled)).block
        return vm, _Built(block, tuple(receipts), (*txs, *invalid))

    def import_sealed_block(
        self, block: BlockAPI, aura: Aura, budget_s: float | None = None
    ) -> MinedBlock:
        """Check a peer's block (seal, step, proposer, timestamp, parent), re-execute it
        (state, transaction and receipt roots) within `budget_s` [s] if given
        (budget.ExecutionTimeoutError past it), and persist it. Raises without changing
        anything if any check fails."""
        self._check_seal_domain(aura)
        with self.lock:
            try:
                check_seal(block.header, self.head_header(), aura)
                with budget.cpu_limit(budget_s, "block execution budget, CPU time"):
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
        self.changes += 1
        self.txpool.remove(txs)
        self.chain.header = self.chain.create_header_from_parent(block.header)
        self._head_state = None
        self.txpool.recount(self._state())
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
            self.changes += 1
            if number < self.justified[0]:  # only a test or an operator rewinds below finality
                self.store.drop_justifications_after(number)
                self.justified = self._load_justified()
            if repool:
                for tx in dropped:
                    self.pool[tx.hash] = tx
                self.txpool.prune(self._state())
            return dropped

    def has_ready_transactions(self) -> bool:
        """Whether some pooled transaction can go into the next block (its sender's next
        nonce), not only queued ones waiting for a gap to fill."""
        with self.lock:
            return self.txpool.has_ready(self._state())

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
        """The highest final block: on a sealed chain the highest justified one (authorities'
        finality votes, node.consensus.finality), the head otherwise (a lone node has nobody
        to disagree with)."""
        with self.lock:
            if self.aura is None:
                return int(self.head_header().block_number)
            return self.justified[0]

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
        the changes. Only opening the state takes the lock: the call runs on a state of its
        own (py-evm keeps its writes in memory; the trie nodes it reads are immutable), so a
        long call never holds up sealing or imports. Bound it with budget.limit."""
        with self.lock:
            state = self.chain.get_vm(header).state
        # Like geth's eth_call, a call does not need the caller to hold its gas money.
        gas_cost = tx.gas * tx.gas_price
        state.set_balance(tx.sender, state.get_balance(tx.sender) + gas_cost)
        return state.apply_transaction(cast(Any, tx))

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
) -> tuple[BlockHeaderAPI, list[ReceiptAPI], Txs, Txs, bool]:
    """py-evm's apply_all_transactions, skipping transactions that fail validation (nonce,
    funds, gas), starting none after the monotonic `deadline` and aborting the one running
    then, or the first one once it has used as much CPU time as the block had left:
    (header, receipts, applied, invalid, aborted). After an abort `vm`'s state holds the
    aborted transaction's partial changes: the caller replays `applied` on a fresh VM. An
    aborted first transaction is invalid (no block's budget can hold it). Stopping early
    keeps each sender's nonces in order: what is left is a suffix of `txs`."""
    header = base
    receipts: list[ReceiptAPI] = []
    applied: Txs = []
    invalid: Txs = []
    bad_senders: set[bytes] = set()
    for tx in txs:
        left_s = None if deadline is None else deadline - time.monotonic()
        if left_s is not None and left_s <= 0:
            break
        if tx.sender in bad_senders:  # a later nonce of a sender whose earlier one failed
            continue
        # The block's first transaction is bounded in CPU time (a busy machine must not
        # cost it its place in the pool), the others in time (the block is due).
        bounded = budget.cpu_limit if not applied else budget.limit
        try:  # validation fails before the transaction changes any state
            with bounded(left_s, "block build budget"):
                receipt, _ = vm.apply_transaction(header, tx)
        except ValidationError:
            invalid.append(tx)
            bad_senders.add(tx.sender)
            continue
        except budget.ExecutionTimeoutError as exc:
            if not applied:
                invalid.append(tx)
                log.warning(
                    "dropped transaction 0x%s of %s from the pool: %s, as the first of a block",
                    bytes(tx.hash).hex(),
                    bytes(tx.sender).hex(),
                    exc,
                )
            return header, receipts, applied, invalid, True
        header = vm.increment_blob_gas_used(vm.add_receipt_to_header(header, receipt), tx)
        receipts.append(receipt)
        applied.append(tx)
    return header, receipts, applied, invalid, False


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
