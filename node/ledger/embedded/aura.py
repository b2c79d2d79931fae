"""Aura-style proof of authority on the embedded chain: sealing and checking blocks.

Time is cut into steps of `period_s`; the block of step s is proposed by
authorities[s mod n], has timestamp genesis_ts + s * period_s, and carries in extra_data the
step (8 bytes, big-endian) and the proposer's secp256k1 signature (65 bytes: r, s, v) over the
header with only the step in extra_data. Difficulty stays 0 (Cancun headers); py-evm's Clique
needs London, so this seal is our own (docs/architecture.md). A replica re-executes every
block (py-evm checks the state, transaction and receipt roots) after `check_seal` accepted it.
`finalized_number` gives Aura's finality; fork choice builds on it (issue 4).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

import rlp
from eth.abc import BlockHeaderAPI, ComputationAPI, ReceiptAPI, SignedTransactionAPI, StateAPI
from eth.vm.forks.cancun import CancunVM
from eth_keys.datatypes import PrivateKey, Signature
from eth_utils.crypto import keccak

from gridledger.contracts.typed import SECP256K1_N
from gridledger.node.errors import LedgerError
from gridledger.node.ledger.embedded import fastreceipt
from gridledger.node.ledger.embedded.fastvm import GridledgerState

STEP_BYTES = 8
SEAL_BYTES = 65


class GridledgerVM(CancunVM):
    """Cancun, with room in extra_data for the Aura step and seal; receipts built by
    fastreceipt (the same receipts, faster)."""

    extra_data_max_bytes = STEP_BYTES + SEAL_BYTES
    _state_class = GridledgerState

    @classmethod
    def make_receipt(
        cls,
        base_header: BlockHeaderAPI,
        transaction: SignedTransactionAPI,
        computation: ComputationAPI,
        state: StateAPI,
    ) -> ReceiptAPI:
        return fastreceipt.make_receipt(cls, base_header, transaction, computation)


class SealError(LedgerError):
    """A block's seal, step, proposer or timestamp breaks the Aura rules (the message says
    which, with the numbers)."""


@dataclass(frozen=True, slots=True)
class Aura:
    """authorities: the sealers' addresses in turn order; period_s [s]; genesis_ts [unix s]."""

    authorities: tuple[bytes, ...]
    period_s: int
    genesis_ts: int

    def __post_init__(self) -> None:
        if not self.authorities:
            raise LedgerError("Aura needs at least one authority")
        if self.period_s < 1:
            raise LedgerError(f"Aura period must be >= 1 s, got {self.period_s}")

    def step_at(self, ts: int) -> int:
        return (ts - self.genesis_ts) // self.period_s

    def slot_ts(self, step: int) -> int:
        return self.genesis_ts + step * self.period_s

    def proposer(self, step: int) -> bytes:
        return self.authorities[step % len(self.authorities)]


def step_of(header: BlockHeaderAPI) -> int:
    """The Aura step of a sealed header (0 for the unsealed genesis)."""
    return int.from_bytes(header.extra_data[:STEP_BYTES], "big") if header.extra_data else 0


def seal_hash(header: BlockHeaderAPI) -> bytes:
    """What the proposer signs: the header with only the step in extra_data."""
    return keccak(rlp.encode(header.copy(extra_data=header.extra_data[:STEP_BYTES])))


def seal(header: BlockHeaderAPI, key: PrivateKey) -> bytes:
    """extra_data for `header` (whose extra_data holds the step): the step and the signature."""
    signature = key.sign_msg_hash(seal_hash(header))
    return header.extra_data[:STEP_BYTES] + signature.to_bytes()


def sealer_of(header: BlockHeaderAPI) -> bytes:
    """The address that sealed `header`.

    The seal's s must be in the lower half of the curve order (as for meter readings,
    contracts.typed.recover_meter): (r, n - s) with the other v is a second valid signature
    of the same header, which anybody could make, so one sealed block would have two hashes.
    """
    raw = header.extra_data[STEP_BYTES:]
    if len(raw) != SEAL_BYTES:
        raise SealError(f"block {header.block_number}: seal is {len(raw)} bytes, not {SEAL_BYTES}")
    s_value = int.from_bytes(raw[32:64], "big")
    if s_value > SECP256K1_N // 2:
        raise SealError(
            f"block {header.block_number}: seal s = {s_value:#x} is in the upper half of the "
            "curve order"
        )
    try:
        public_key = Signature(raw).recover_public_key_from_msg_hash(seal_hash(header))
    except Exception as exc:  # malformed r, s or v
        raise SealError(f"block {header.block_number}: seal does not recover: {exc}") from exc
    return bytes(public_key.to_canonical_address())


FINALITY_CACHE_HEADS = 256
"""Chain heads whose sealer summary `FinalityCache` keeps (recent heads and branch tips)."""
_ALL_SEALERS = 1 << 62  # `_Sealers.exact_up_to` once the walk reached genesis


@dataclass(frozen=True, slots=True)
class _Sealers:
    """For the chain ending in one block: the highest block each address sealed on it, exact
    for every address among the `exact_up_to` most recent sealers."""

    last: dict[bytes, int]
    exact_up_to: int


class FinalityCache:
    """`finalized_number` without walking back to the last final block each time.

    Walking down from the head, distinct sealers turn up in the order of the highest block
    each sealed, so the final block is the quorum-th largest of those numbers. That summary
    is kept per chain head (by hash, which fixes the whole chain below it); a new head
    extends its parent's summary with one recovered seal. So a Status message or a
    ``finalized`` query costs a dictionary lookup, and a new block one signature recovery,
    however far back the last final block is (finality stalls while a minority seals). A
    head not in the cache is walked as before, down to a cached ancestor or until a quorum
    of sealers turned up.
    """

    def __init__(self, size: int = FINALITY_CACHE_HEADS) -> None:
        self._size = size
        self._heads: OrderedDict[bytes, _Sealers] = OrderedDict()
        self._lock = threading.Lock()

    def _get(self, block_hash: bytes, quorum: int) -> _Sealers | None:
        with self._lock:
            found = self._heads.get(block_hash)
            if found is None or found.exact_up_to < quorum:
                return None
            self._heads.move_to_end(block_hash)
            return found

    def _put(self, block_hash: bytes, sealers: _Sealers) -> None:
        with self._lock:
            self._heads[block_hash] = sealers
            self._heads.move_to_end(block_hash)
            while len(self._heads) > self._size:
                self._heads.popitem(last=False)

    def finalized(self, headers_down: Iterable[BlockHeaderAPI], aura: Aura) -> int:
        """`finalized_number` of the chain whose headers `headers_down` walks (head first)."""
        quorum = len(aura.authorities) // 2 + 1
        above: list[tuple[bytes, int]] = []  # (sealer, number) from the head down
        seen: dict[bytes, int] = {}
        base: _Sealers | None = None
        head_hash: bytes | None = None
        for header in headers_down:
            block_hash = bytes(header.hash)
            if head_hash is None:
                head_hash = block_hash
            if header.block_number == 0:
                base = _Sealers({}, _ALL_SEALERS)
                break
            base = self._get(block_hash, quorum)
            if base is not None:
                break
            sealer, number = sealer_of(header), int(header.block_number)
            above.append((sealer, number))
            seen.setdefault(sealer, number)
            if len(seen) >= quorum:
                break
        if base is None:  # a quorum turned up on the walk: exact for quorums up to it
            result = _Sealers(seen, len(seen))
        else:
            last = dict(base.last)
            for sealer, number in reversed(above):
                last[sealer] = number
            result = _Sealers(last, base.exact_up_to)
        if head_hash is not None:
            self._put(head_hash, result)
        ranked = sorted(result.last.values(), reverse=True)
        return ranked[quorum - 1] if len(ranked) >= quorum else 0


_FINALITY = FinalityCache()


def finalized_number(headers_down: Iterable[BlockHeaderAPI], aura: Aura) -> int:
    """The highest final block number, walking `headers_down` from the head towards genesis.

    A block is final once more than half of the authorities have sealed it or a block on top
    of it; every ancestor of a final block is final. The genesis block is final. A single
    authority (or a minority, e.g. one side of a partition) sealing alone never finalizes.
    Answered through a process-wide `FinalityCache` (keyed by block hash, so replicas in one
    process share it safely).
    """
    return _FINALITY.finalized(headers_down, aura)


def check_seal(header: BlockHeaderAPI, parent: BlockHeaderAPI, aura: Aura) -> None:
    """Raise SealError unless `header` is a valid Aura successor of `parent`."""
    number = header.block_number
    if header.parent_hash != parent.hash:
        raise SealError(f"block {number}: parent is not block {parent.block_number}")
    step = step_of(header)
    if step <= step_of(parent):
        raise SealError(f"block {number}: step {step} is not after the parent's {step_of(parent)}")
    if header.timestamp != aura.slot_ts(step):
        slot_ts = aura.slot_ts(step)
        raise SealError(
            f"block {number}: timestamp {header.timestamp} is not step {step}'s {slot_ts}"
        )
    expected = aura.proposer(step)
    sealer = sealer_of(header)
    if sealer != expected:
        raise SealError(
            f"block {number}: step {step} sealed by 0x{sealer.hex()}, expected 0x{expected.hex()}"
        )
