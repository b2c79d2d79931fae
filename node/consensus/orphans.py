"""Blocks whose parent we do not hold: what is checked before their ancestors are fetched,
and how many fetches each peer may cause.

A gossiped block on an unknown parent makes the worker walk back by hash (`GetBlockByHash`,
up to `MAX_REORG_BLOCKS`) to our canonical chain. Before that, `check_orphan` checks what
needs no parent: the step is not in the future, the timestamp is the step's slot, the seal
recovers (low s) to the step's proposer in the authority set in force on our head, and there
were enough steps since our final block for that many blocks. Each fetched ancestor must then link
to its child (number, hash, an earlier step) and be sealed by an authority of that set
(`check_ancestor`); the walk also stops where it would fork below our finalized block, as
fork choice never adopts such a branch. A stranger's junk costs no fetch; an authority's
costs at most `FETCH_BURST` at once and `FETCH_RATE_PER_S` after that (`FetchBudget`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from eth.abc import BlockHeaderAPI

from gridledger.node.errors import LedgerError
from gridledger.node.ledger.embedded.aura import Aura, SealError, sealer_of, step_of

FETCH_BURST = 4096
"""Ancestor fetches a peer may cause at once: the deepest branch sync follows (blocks)."""
FETCH_RATE_PER_S = 128.0
"""Ancestor fetches per second a peer earns back once its burst is spent."""


class OrphanError(LedgerError):
    """An orphan block or a fetched ancestor breaks a rule (the message says which)."""


def check_orphan(header: BlockHeaderAPI, final: BlockHeaderAPI, aura: Aura, now_ts: float) -> None:
    """`OrphanError` unless `header` (parent unknown) could be a valid block of a branch that
    forks at or above our final block `final` (the only ones fork choice adopts), sealed by
    the authority set `aura` in force on our head."""
    number, step = int(header.block_number), step_of(header)
    slot_ts = aura.slot_ts(step)
    if slot_ts > now_ts:
        raise OrphanError(f"block {number}: step {step} starts at {slot_ts}, in the future")
    if header.timestamp != slot_ts:
        raise OrphanError(f"block {number}: timestamp {header.timestamp} is not step {step}'s")
    _check_sealer(header, aura, aura.proposer(step), f"step {step}'s proposer")
    blocks, steps = number - int(final.block_number), step - step_of(final)
    if blocks > steps:
        raise OrphanError(
            f"block {number} at step {step}: {blocks} blocks above our final block "
            f"{final.block_number} in {steps} steps"
        )


def check_ancestor(parent: BlockHeaderAPI, child: BlockHeaderAPI, aura: Aura) -> None:
    """`OrphanError` unless the fetched `parent` links to `child` and an authority sealed it."""
    if parent.hash != child.parent_hash:
        raise OrphanError(f"asked for block 0x{bytes(child.parent_hash).hex()[:12]}, got another")
    if parent.block_number != child.block_number - 1 or step_of(parent) >= step_of(child):
        raise OrphanError(
            f"block {parent.block_number} at step {step_of(parent)} cannot be the parent of "
            f"block {child.block_number} at step {step_of(child)}"
        )
    try:
        sealer = sealer_of(parent, aura)
    except SealError as exc:
        raise OrphanError(str(exc)) from exc
    if sealer not in aura.authorities:
        raise OrphanError(f"block {parent.block_number}: sealed by 0x{sealer.hex()}, no authority")


def _check_sealer(header: BlockHeaderAPI, aura: Aura, expected: bytes, what: str) -> None:
    try:
        sealer = sealer_of(header, aura)
    except SealError as exc:
        raise OrphanError(str(exc)) from exc
    if sealer != expected:
        raise OrphanError(
            f"block {header.block_number}: sealed by 0x{sealer.hex()}, not {what} "
            f"0x{expected.hex()}"
        )


class FetchBudget:
    """A token bucket per peer: `take(peer)` is True while the peer may cause one more fetch."""

    def __init__(
        self,
        burst: int = FETCH_BURST,
        rate_per_s: float = FETCH_RATE_PER_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.burst = burst
        self.rate_per_s = rate_per_s
        self._clock = clock
        self._tokens: dict[str, tuple[float, float]] = {}  # peer -> (tokens, at [s])
        self._lock = threading.Lock()

    def take(self, peer: str) -> bool:
        now_s = self._clock()
        with self._lock:
            tokens, at_s = self._tokens.get(peer, (float(self.burst), now_s))
            tokens = min(float(self.burst), tokens + (now_s - at_s) * self.rate_per_s)
            if tokens < 1.0:
                self._tokens[peer] = (tokens, now_s)
                return False
            self._tokens[peer] = (tokens - 1.0, now_s)
            return True
