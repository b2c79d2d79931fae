"""Fork choice: the chain with the most finalized blocks, then the longest; first seen on ties.

A chain is summarised by (finalized height, head height). A candidate branch replaces the
canonical chain only if its summary is strictly greater, and never if it forks below the
canonical chain's finalized block.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, order=True)
class ChainScore:
    """finalized: highest final block number; head: head block number."""

    finalized: int
    head: int


def prefer(candidate: ChainScore, current: ChainScore, fork_number: int) -> bool:
    """Whether to switch to `candidate`, which shares blocks up to `fork_number` with
    `current` (the highest common block)."""
    if fork_number < current.finalized:
        return False  # below finality nothing is ever reverted
    return candidate > current
