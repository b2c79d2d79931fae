"""The node's intake of meter readings (behind ``POST /v1/readings``).

Every reading is checked as Metering would check it, against the chain's state at the head
plus what this node already holds for the meter, before anything is relayed: the meter is
the registered meter of an active participant, the EIP-712 signature recovers to it (low s),
``seq`` is the meter's next one (contiguous: the chain's last + 1, or the last this node
holds + 1), the duration is positive, the interval starts no earlier than the previous one
ended, and it ends no more than ``max_ahead_s`` after the node's clock. A request is taken
whole or not at all: one refused reading refuses the request, each reading's fate says why,
and nothing is stored. Taken readings wait in one FIFO queue; ``node.meters.relay`` sends
them in Metering batches once the chain's clock has passed their end.

With a `store` (node.meters.queue_store, the REST mount's when the node has a data dir) a
taken request is on disk before it is answered, and leaves the disk once its fate is final;
`restore` takes the stored readings back after a restart and re-checks them against the
chain. Without one (tests) the queue is in memory only, and a restart loses it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_utils.address import to_checksum_address

from gridledger.contracts.errors import ReadingInputError
from gridledger.contracts.typed import SECP256K1_N, SignedReading, domain_separator, recover_meter
from gridledger.node.meters.errors import ReadingsRefusedError, ReadingUnknownError
from gridledger.node.meters.fates import (
    FINAL_STATES,
    Fate,
    FateState,
    MeterOut,
    ReadingsPosted,
    Refusal,
)
from gridledger.node.meters.queue_store import QueueStore, StoredReading
from gridledger.node.views.chain import ChainView

log = logging.getLogger(__name__)

MAX_AHEAD_S = 300
"""A reading may end at most this long after the node's clock [s]: it waits in the queue
until the chain's clock passes its end (a simulation clock may lag the wall clock)."""
FATE_MEMORY = 100_000
"""The node remembers the fates of this many readings (oldest forgotten first)."""

STATUS: dict[str, int] = {
    "MeteringUnregisteredMeter": 403,
    "MeteringSignatureInvalid": 422,
    "MeteringSignatureHighS": 422,
    "MeteringSignatureMalformed": 422,
    "MeteringZeroDuration": 422,
    "MeteringIntervalInFuture": 422,
    "MeteringSequenceReplayed": 409,
    "MeteringSequenceGap": 409,
    "MeteringIntervalOverlap": 409,
    "EnforcedPause": 409,
}
"""The HTTP status of each refusal (a request's status is its first refusal's)."""


@dataclass(slots=True)
class Entry:
    """A reading the node holds, and where it stands."""

    signed: SignedReading
    fate: Fate

    @property
    def key(self) -> tuple[str, int]:
        return (self.signed.reading.meter, self.signed.reading.seq)

    @property
    def end_ts(self) -> int:
        r = self.signed.reading
        return r.interval_start_ts + r.duration_s


@dataclass(slots=True)
class _Cursor:
    """A meter's next expected sequence number and earliest start [unix s]."""

    next_seq: int
    min_start_ts: int


def _refusal(error: str, message: str, **args: Any) -> Refusal:
    return Refusal(error=error, message=message, args=args, status=STATUS[error])


class ReadingIntake:
    """Checks posted readings, queues them for the relay, and remembers their fates."""

    def __init__(
        self,
        chain: ChainView,
        max_ahead_s: int = MAX_AHEAD_S,
        fate_memory: int = FATE_MEMORY,
        store: QueueStore | None = None,
    ) -> None:
        self.chain = chain
        self.max_ahead_s = max_ahead_s
        self.fate_memory = fate_memory
        self.store = store
        self._loaded = store is None
        self._restored = store is None
        self.changed = threading.Condition()
        """Notified whenever a reading is queued or its fate changes; guards the state."""
        self._queue: deque[Entry] = deque()
        self._tails: dict[str, _Cursor] = {}
        self._pending: dict[str, int] = {}
        self._fates: OrderedDict[tuple[str, int], Fate] = OrderedDict()
        self._separator: tuple[object, bytes] | None = None

    # ------------------------------------------------------------ posting
    def post(self, readings: Sequence[SignedReading]) -> ReadingsPosted:
        """Check `readings` (request order) and queue them all, or raise
        ReadingsRefusedError with every reading's fate and queue none. With a store, they
        are on disk before this returns (ReadingQueueStorageError: none was queued)."""
        with self.changed:
            self._restore()
            fates, cursors = self._check(readings)
            if any(f.refusal is not None for f in fates):
                raise ReadingsRefusedError(_not_queued(fates))
            entries = [Entry(s, f) for s, f in zip(readings, fates, strict=True)]
            if self.store is not None:
                self.store.put([StoredReading(e.signed, e.fate.index) for e in entries])
            for entry in entries:
                self._hold(entry)
            self._tails.update(cursors)
            self.changed.notify_all()
            return ReadingsPosted(
                readings=fates, next_seq={m: c.next_seq for m, c in cursors.items()}
            )

    def _hold(self, entry: Entry) -> None:
        self._queue.append(entry)
        self._remember(entry.fate)
        meter = entry.signed.reading.meter
        self._pending[meter] = self._pending.get(meter, 0) + 1

    def _check(
        self, readings: Sequence[SignedReading], held: dict[str, _Cursor] | None = None
    ) -> tuple[list[Fate], dict[str, _Cursor]]:
        """Every reading's fate under Metering's rules. A new request is judged after what
        the node holds, and refused while Metering is paused or for an interval too far
        ahead. Readings the node held already (a restart's re-check) are judged from the
        chain's state `held` (each meter's cursor, read once) alone, and not for a pause or
        their end (they were taken; the relay waits for the chain's clock, and a pause
        refuses their batch)."""
        metering = self.chain.contract("Metering").functions
        registry = self.chain.contract("Registry").functions
        separator = self.separator()
        now_ts = None if held is not None else self.chain.now_ts()
        paused = held is None and bool(self.chain.call(metering.paused()))
        registered: dict[str, tuple[str, bool]] = {}
        cursors = {m: _Cursor(c.next_seq, c.min_start_ts) for m, c in (held or {}).items()}
        fates = []
        for index, signed in enumerate(readings):
            r = signed.reading
            if r.participant not in registered:
                meter_of = to_checksum_address(self.chain.call(registry.meterOf(r.participant)))
                active = bool(self.chain.call(registry.isActive(r.participant)))
                registered[r.participant] = (meter_of, active)
            if r.meter not in cursors:
                cursors[r.meter] = self._cursor(r.meter, metering)
            refusal = self._check_one(
                index, signed, registered[r.participant], cursors[r.meter], separator, now_ts
            )
            if paused and refusal is None:
                refusal = _refusal("EnforcedPause", "Metering is paused by the operator")
            state = FateState.QUEUED if refusal is None else FateState.REFUSED
            fates.append(_fate(index, signed, state, refusal))
        return fates, cursors

    def _check_one(
        self,
        index: int,
        signed: SignedReading,
        registration: tuple[str, bool],
        cursor: _Cursor,
        separator: bytes,
        now_ts: int | None,
    ) -> Refusal | None:
        """Metering's checks in Metering's order; the cursor moves past a reading whose
        sequence number is right, so later readings are judged on their own. Without
        `now_ts` the interval's end is not checked."""
        r = signed.reading
        registered, active = registration
        if registered != r.meter or int(registered, 16) == 0 or not active:
            why = "inactive" if registered == r.meter and int(registered, 16) else "unregistered"
            return _refusal(
                "MeteringUnregisteredMeter",
                f"meter {r.meter} is not the registered meter of an active participant "
                f"{r.participant} ({why}; the Registry has {registered}, active: {active})",
                index=index,
                participant=r.participant,
                meter=r.meter,
                registered=registered,
            )
        refusal = _signature_refusal(index, signed, separator)
        if refusal is not None:
            if r.seq == cursor.next_seq:
                cursor.next_seq += 1
            return refusal
        if r.seq != cursor.next_seq:
            if r.seq < cursor.next_seq:
                return _refusal(
                    "MeteringSequenceReplayed",
                    f"seq {r.seq} of meter {r.meter} was taken already "
                    f"(last {cursor.next_seq - 1})",
                    index=index,
                    meter=r.meter,
                    seq=r.seq,
                    lastSeq=cursor.next_seq - 1,
                )
            return _refusal(
                "MeteringSequenceGap",
                f"seq {r.seq} of meter {r.meter} skips readings: the next is {cursor.next_seq}",
                index=index,
                meter=r.meter,
                seq=r.seq,
                expectedSeq=cursor.next_seq,
            )
        cursor.next_seq += 1
        end_ts = r.interval_start_ts + r.duration_s
        if r.duration_s == 0:
            return _refusal("MeteringZeroDuration", "the interval lasts 0 s", index=index)
        if r.interval_start_ts < cursor.min_start_ts:
            return _refusal(
                "MeteringIntervalOverlap",
                f"the interval starts at {r.interval_start_ts}, before meter {r.meter}'s "
                f"previous interval ended ({cursor.min_start_ts})",
                index=index,
                meter=r.meter,
                intervalStartTs=r.interval_start_ts,
                lastEndTs=cursor.min_start_ts,
            )
        cursor.min_start_ts = end_ts
        if now_ts is not None and end_ts > now_ts + self.max_ahead_s:
            return _refusal(
                "MeteringIntervalInFuture",
                f"the interval ends at {end_ts}, more than {self.max_ahead_s} s after the "
                f"node's clock ({now_ts})",
                index=index,
                intervalEndTs=end_ts,
                nowTs=now_ts,
            )
        return None

    def _cursor(self, meter: str, metering: Any) -> _Cursor:
        tail = self._tails.get(meter)
        if tail is not None:
            return _Cursor(tail.next_seq, tail.min_start_ts)
        last_seq, last_end_ts = self.chain.call(metering.meterState(meter))
        return _Cursor(int(last_seq) + 1, int(last_end_ts))

    def separator(self) -> bytes:
        """Metering's EIP-712 domain separator (chain id and address of this deployment)."""
        deployment = self.chain.deployment()
        if self._separator is None or self._separator[0] is not deployment:
            chain_id = int(self.chain.w3.eth.chain_id)
            value = domain_separator(chain_id, self.chain.address("Metering"))
            self._separator = (deployment, value)
        return self._separator[1]

    # ------------------------------------------------------------ after a restart
    def restore(self) -> None:
        """Take back the readings the store holds (read once), then re-check them against
        the chain (until that succeeds once): a reading whose seq the chain holds already is
        accepted (the chain takes each seq of a meter once, signed by the meter: relayed by
        this node before it stopped, or by another node); the rest are checked as Metering
        would from the chain's state, and the first refused reading of a meter is dropped
        with its refusal, every later one of that meter with it. `post` and the relay call
        this before anything else; without a store it does nothing."""
        with self.changed:
            self._restore()

    def _restore(self) -> None:
        if self._restored:
            return
        assert self.store is not None
        if not self._loaded:
            for held in self.store.load():
                fate = _fate(held.index, held.signed, FateState.QUEUED, None)
                self._hold(Entry(held.signed, fate))
            self._loaded = True
        try:
            self._recheck_held()
        finally:
            self.changed.notify_all()
        self._restored = True

    def _recheck_held(self) -> None:
        """The restart's re-check of every queued reading (none is in flight yet)."""
        entries = list(self._queue)
        if not entries:
            return
        # One read of each meter's state for both steps: a batch mined in between (sent
        # before the restart) must not make its readings look replayed.
        chain = self._chain_cursors({e.key[0] for e in entries})
        on_chain = [e for e in entries if e.key[1] < chain[e.key[0]].next_seq]
        rest = [e for e in entries if e.key[1] >= chain[e.key[0]].next_seq]
        fates, _ = self._check([e.signed for e in rest], held=chain)
        first_refused: dict[str, Entry] = {}
        keep: list[Entry] = []
        drops: list[tuple[Entry, Refusal]] = []
        for entry, fate in zip(rest, fates, strict=True):
            meter = entry.key[0]
            if meter in first_refused:
                drops.append((entry, _dropped_with(first_refused[meter])))
            elif fate.refusal is not None:
                first_refused[meter] = entry
                log.warning(
                    "dropping the queued readings of meter %s from seq %d: %s",
                    meter,
                    entry.key[1],
                    fate.refusal.message,
                )
                args = {**fate.refusal.args, "index": entry.fate.index}
                drops.append((entry, fate.refusal.model_copy(update={"args": args})))
            else:
                keep.append(entry)
        self._queue = deque(keep)
        self._pending, self._tails = {}, {}
        for entry in keep:
            meter = entry.key[0]
            self._pending[meter] = self._pending.get(meter, 0) + 1
            self._tails[meter] = _Cursor(entry.key[1] + 1, entry.end_ts)
        for entry in on_chain:
            self._settle(entry, fate=FateState.ACCEPTED)
        for entry, reason in drops:
            self._settle(entry, fate=FateState.DROPPED, refusal=reason)
        self._forget(on_chain + [entry for entry, _ in drops])
        if on_chain or drops:
            log.info(
                "restored the meter queue: %d readings queued, %d on chain already, %d dropped",
                len(keep),
                len(on_chain),
                len(drops),
            )

    def _chain_cursors(self, meters: set[str]) -> dict[str, _Cursor]:
        """Each meter's next seq and earliest start as the chain has them (not this node)."""
        metering = self.chain.contract("Metering").functions
        cursors = {}
        for meter in meters:
            last_seq, last_end_ts = self.chain.call(metering.meterState(meter))
            cursors[meter] = _Cursor(int(last_seq) + 1, int(last_end_ts))
        return cursors

    # ------------------------------------------------------------ reading back
    def meter(self, meter: str) -> MeterOut:
        """The chain's and this node's view of `meter` (checksummed address)."""
        metering = self.chain.contract("Metering").functions
        last_seq, last_end_ts = self.chain.call(metering.meterState(meter))
        with self.changed:
            cursor = self._tails.get(meter)
            pending = self._pending.get(meter, 0)
        return MeterOut(
            meter=meter,
            chain_last_seq=int(last_seq),
            chain_last_end_ts=int(last_end_ts),
            pending=pending,
            next_seq=cursor.next_seq if cursor else int(last_seq) + 1,
            next_start_min_ts=cursor.min_start_ts if cursor else int(last_end_ts),
        )

    def fate(self, meter: str, seq: int) -> Fate:
        """The fate of reading `seq` of `meter`: as this node remembers it, else `accepted`
        when the chain holds it (every seq up to the meter's last was accepted)."""
        with self.changed:
            known = self._fates.get((meter, seq))
        if known is not None:
            return known
        state = self.meter(meter)
        if 1 <= seq <= state.chain_last_seq:
            return Fate(
                index=-1,
                meter=meter,
                participant=None,
                seq=seq,
                interval_start_ts=-1,
                fate=FateState.ACCEPTED,
            )
        raise ReadingUnknownError(
            f"reading {seq} of meter {meter} is neither held by this node nor on the chain; "
            f"the meter's next reading is {state.next_seq}"
        )

    def wait_final(self, keys: Sequence[tuple[str, int]], timeout_s: float) -> list[Fate]:
        """The fates of `keys` once all are final (accepted or dropped) or at the deadline."""
        deadline = time.monotonic() + timeout_s
        with self.changed:
            while True:
                fates = [self._fates[k] for k in keys if k in self._fates]
                left = deadline - time.monotonic()
                if all(f.fate in FINAL_STATES for f in fates) or left <= 0:
                    return fates
                self.changed.wait(left)

    # ------------------------------------------------------------ the relay's side
    def take_batch(self, head_ts: int, max_readings: int) -> list[Entry]:
        """The oldest queued readings, up to the first one the chain's clock (`head_ts`)
        has not passed, at most `max_readings`; they leave the queue (the relay reports
        each one's end through `sent` / `accepted` / `dropped`)."""
        with self.changed:
            batch: list[Entry] = []
            while self._queue and len(batch) < max_readings and self._queue[0].end_ts <= head_ts:
                batch.append(self._queue.popleft())
            return batch

    def recheck(self, batch: list[Entry]) -> list[Entry]:
        """The readings of a taken `batch` still to send: those whose seq the chain holds
        already (a batch this node sent before a restart, mined since; another node's) are
        accepted and leave it, so sending them cannot get the batch refused as
        MeteringSequenceReplayed and the meter's later readings dropped with it."""
        chain = self._chain_cursors({e.key[0] for e in batch})
        on_chain = [e for e in batch if e.key[1] < chain[e.key[0]].next_seq]
        if on_chain:
            log.info("%d readings of a batch are on chain already; not sent", len(on_chain))
            self._update(on_chain, FateState.ACCEPTED)
        return [e for e in batch if e.key[1] >= chain[e.key[0]].next_seq]

    def requeue(self, batch: list[Entry]) -> None:
        """Put the readings of a taken `batch` that were neither sent nor settled back at
        the head of the queue, in their order (the relay failed before sending them)."""
        with self.changed:
            self._queue.extendleft(reversed([e for e in batch if e.fate.fate is FateState.QUEUED]))
            self.changed.notify_all()

    def queued(self) -> int:
        with self.changed:
            return len(self._queue)

    def sent(self, batch: list[Entry], tx_hash: str) -> None:
        self._update(batch, FateState.SENT, tx_hash=tx_hash)

    def accepted(self, batch: list[Entry], tx_hash: str, block_number: int) -> None:
        self._update(batch, FateState.ACCEPTED, tx_hash=tx_hash, block_number=block_number)

    def dropped(self, batch: list[Entry], refusal: Refusal) -> None:
        """The chain refused `batch`: drop it and every later queued reading of its meters
        (they would leave a gap); their meters' next sequence numbers come from the chain."""
        with self.changed:
            meters = {e.signed.reading.meter for e in batch}
            later = [e for e in self._queue if e.signed.reading.meter in meters]
            self._queue = deque(e for e in self._queue if e.signed.reading.meter not in meters)
            for meter in meters:
                self._tails.pop(meter, None)
                self._pending.pop(meter, None)
            with_batch = _dropped_with(batch[0]) if batch else None
            reasons = [(e, refusal) for e in batch] + [(e, with_batch) for e in later]
            for entry, reason in reasons:
                self._settle(entry, fate=FateState.DROPPED, refusal=reason)
            try:
                self._forget(batch + later)
            finally:
                self.changed.notify_all()

    def _update(self, batch: list[Entry], state: FateState, **fields: Any) -> None:
        with self.changed:
            for entry in batch:
                self._settle(entry, fate=state, **fields)
                if state is FateState.ACCEPTED:
                    meter = entry.signed.reading.meter
                    left = self._pending.get(meter, 1) - 1
                    if left > 0:
                        self._pending[meter] = left
                    else:  # the chain holds the meter's last reading now
                        self._pending.pop(meter, None)
                        self._tails.pop(meter, None)
            try:
                if state is FateState.ACCEPTED:
                    self._forget(batch)
            finally:
                self.changed.notify_all()

    def _settle(self, entry: Entry, **fields: Any) -> None:
        entry.fate = entry.fate.model_copy(update=fields)
        self._remember(entry.fate)

    def _forget(self, entries: list[Entry]) -> None:
        """Remove readings whose fate is final from the store (memory is updated first: a
        failure leaves them on disk, and the next restart's re-check settles them)."""
        if self.store is not None and entries:
            self.store.remove([e.key for e in entries])

    def _remember(self, fate: Fate) -> None:
        key = (fate.meter, fate.seq)
        self._fates[key] = fate
        self._fates.move_to_end(key)
        while len(self._fates) > self.fate_memory:
            self._fates.popitem(last=False)


def _dropped_with(first: Entry) -> Refusal:
    """The refusal of a reading dropped because an earlier one of its meter was."""
    meter, seq = first.key
    return Refusal(
        error="NotQueued",
        message=f"dropped with the earlier reading {meter} seq {seq} (a reading after a "
        "dropped one of its meter would leave a gap)",
        status=409,
    )


def _fate(index: int, signed: SignedReading, state: FateState, refusal: Refusal | None) -> Fate:
    r = signed.reading
    return Fate(
        index=index,
        meter=r.meter,
        participant=r.participant,
        seq=r.seq,
        interval_start_ts=r.interval_start_ts,
        fate=state,
        refusal=refusal,
    )


def _signature_refusal(index: int, signed: SignedReading, separator: bytes) -> Refusal | None:
    r, sig = signed.reading, signed.signature
    s_value = int.from_bytes(sig.s, "big")
    if s_value > SECP256K1_N // 2:
        return _refusal(
            "MeteringSignatureHighS",
            "the signature's s is in the upper half of the curve order (malleable)",
            index=index,
            s="0x" + sig.s.hex(),
        )
    try:
        recovered = recover_meter(r, sig, separator)
    except ReadingInputError as exc:
        return _refusal(
            "MeteringSignatureMalformed", f"the signature is malformed: {exc}", index=index
        )
    if recovered != r.meter:
        return _refusal(
            "MeteringSignatureInvalid",
            f"the signature recovers to {recovered}, not the reading's meter {r.meter}",
            index=index,
            expected=r.meter,
            recovered=recovered,
        )
    return None


def _not_queued(fates: list[Fate]) -> list[Fate]:
    """The fates of a refused request: sound readings are refused as `NotQueued`."""
    first = next(f.index for f in fates if f.refusal is not None)
    reason = Refusal(
        error="NotQueued",
        message=f"not queued: reading {first} of the request was refused, and a "
        "request is taken whole or not at all",
        status=409,
        cause=False,
    )
    return [
        fate
        if fate.refusal is not None
        else fate.model_copy(update={"fate": FateState.REFUSED, "refusal": reason})
        for fate in fates
    ]
