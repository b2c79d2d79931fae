"""What becomes of a reading posted to a node: its fate and the refusal that ended it.

A reading is ``queued`` once its signature and sequence passed the node's checks, ``sent`` in
a Metering transaction that is not mined yet, ``accepted`` once that transaction is in a
block (the chain emitted ``ReadingAccepted``), ``refused`` when the node would not take it
(nothing stored), or ``dropped`` when the chain refused its batch after the node took it (a
reading of the same meter relayed elsewhere first, the meter unregistered meanwhile): the
refusal says why, and the meter's next expected sequence number comes back from the chain.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import Field

from gridledger.node.views.records import Record


class FateState(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    ACCEPTED = "accepted"
    REFUSED = "refused"
    DROPPED = "dropped"


FINAL_STATES = frozenset({FateState.ACCEPTED, FateState.REFUSED, FateState.DROPPED})


class Refusal(Record):
    """Why a reading was refused or dropped: the Metering error the chain would raise (same
    name and arguments, `index` the reading's position in the request), or ``NotQueued`` for
    a sound reading refused because another reading of its request was."""

    error: str
    message: str
    args: dict[str, Any] = Field(default_factory=dict)
    status: int = Field(default=409, exclude=True)
    cause: bool = Field(default=True, exclude=True)


class Fate(Record):
    """One reading's fate. `index` is its position in the request that posted it (-1 when
    the node learnt it from the chain); `tx_hash` and `block_number` once sent / mined."""

    index: int
    meter: str
    participant: str | None
    seq: int
    interval_start_ts: int
    fate: FateState
    tx_hash: str | None = None
    block_number: int | None = None
    refusal: Refusal | None = None


class MeterOut(Record):
    """A meter as the node sees it: the chain's last accepted sequence number and interval
    end [unix s], what this node holds for it (queued or sent, not yet mined), and the next
    reading it takes: sequence number `next_seq`, starting no earlier than
    `next_start_min_ts` [unix s]."""

    meter: str
    chain_last_seq: int
    chain_last_end_ts: int
    pending: int
    next_seq: int
    next_start_min_ts: int


class ReadingsPosted(Record):
    """The answer to a taken request: every reading's fate, in request order, and each
    meter's next expected sequence number."""

    readings: list[Fate]
    next_seq: dict[str, int]
