"""The intake against a reference model, with hypothesis: random requests of readings (some
forged, out of sequence, overlapping, empty or in the future) are taken whole exactly when
the model takes every reading of them, each refusal names the model's error, and a refused
request leaves the meter's next seq and earliest start where they were."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridledger.contracts.typed import MeterReading, SignedReading, sign_reading
from gridledger.node.meters.errors import ReadingsRefusedError
from gridledger.node.meters.intake import MAX_AHEAD_S, ReadingIntake
from gridledger.node.views.chain import ChainView
from tests.node.meters.helpers import separator_of
from tests.node.rest.inprocess import InProcessNode


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessNode]:
    node = InProcessNode(tmp_path_factory.mktemp("intake-model") / "data")
    yield node
    node.stop()


@dataclass(frozen=True)
class Spec:
    """A reading relative to the meter's expected next one."""

    seq_offset: int  # 0: the expected seq
    start_offset_s: int  # from the earliest allowed start
    duration_s: int
    forged: bool


specs = st.builds(
    Spec,
    st.sampled_from([0, 0, 0, 0, -1, 1, 2]),
    st.sampled_from([0, 0, 0, 60, -30, 40 * 86_400]),
    st.sampled_from([60, 60, 60, 0, 900]),
    st.sampled_from([False] * 7 + [True]),
)


@dataclass
class Cursor:
    """The model's view of the meter: next seq, earliest start [unix s], the readings taken."""

    next_seq: int = 1
    min_start_ts: int = 0
    taken: int = 0


def _model(
    request: list[Spec], cursor: Cursor, base_ts: int, limit_ts: int
) -> tuple[list[tuple[int, int, int, bool]], list[str | None], Cursor]:
    """The request's readings (seq, start, duration, forged), each one's refusal per the
    rules in the intake's order (None: fine), and the cursor if the request is taken."""
    cur = Cursor(cursor.next_seq, cursor.min_start_ts, cursor.taken)
    readings, refusals = [], []
    for s in request:
        seq = max(0, cur.next_seq + s.seq_offset)
        start = max(cur.min_start_ts, base_ts) + s.start_offset_s
        readings.append((seq, start, s.duration_s, s.forged))
        refusal: str | None = None
        if s.forged:
            refusal = "MeteringSignatureInvalid"
            if seq == cur.next_seq:
                cur.next_seq += 1
        elif seq != cur.next_seq:
            refusal = "MeteringSequenceReplayed" if seq < cur.next_seq else "MeteringSequenceGap"
        else:
            cur.next_seq += 1
            if s.duration_s == 0:
                refusal = "MeteringZeroDuration"
            elif start < cur.min_start_ts:
                refusal = "MeteringIntervalOverlap"
            else:
                cur.min_start_ts = start + s.duration_s
                if cur.min_start_ts > limit_ts:
                    refusal = "MeteringIntervalInFuture"
        refusals.append(refusal)
    cur.taken += len(request)
    return readings, refusals, cur


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(requests=st.lists(st.lists(specs, min_size=1, max_size=4), min_size=1, max_size=4))
def test_the_intake_takes_a_request_exactly_when_the_model_takes_all_of_it(
    node: InProcessNode, requests: list[list[Spec]]
) -> None:
    intake = ReadingIntake(ChainView(node.service))  # no relay: nothing reaches the chain
    participant: LocalAccount = Account.create()
    meter: LocalAccount = Account.create()
    forger: LocalAccount = Account.create()
    node.admit(participant.address, meter.address)
    separator = separator_of(node.w3, node.contract("Metering").address)
    head = node.head_ts()
    base_ts = head - head % 60 - 30 * 86_400
    cursor = Cursor()
    for request in requests:
        limit_ts = max(node.head_ts(), int(time.time())) + MAX_AHEAD_S
        readings, refusals, after = _model(request, cursor, base_ts, limit_ts)
        signed = []
        for seq, start, duration_s, forged in readings:
            r = MeterReading(meter.address, participant.address, start, duration_s, 10, 0, seq)
            key = forger if forged else meter
            signed.append(SignedReading(r, sign_reading(r, bytes(key.key), separator)))
        if all(refusal is None for refusal in refusals):
            posted = intake.post(signed)
            assert [f.fate.value for f in posted.readings] == ["queued"] * len(signed)
            assert posted.next_seq == {meter.address: after.next_seq}
            cursor = after
        else:
            with pytest.raises(ReadingsRefusedError) as refused:
                intake.post(signed)
            got = [
                f.refusal.error if f.refusal is not None and f.refusal.cause else None
                for f in refused.value.fates
            ]
            assert got == refusals
            first = next(r for r in refusals if r is not None)
            assert refused.value.first.error == first
        state = intake.meter(meter.address)
        assert (state.next_seq, state.next_start_min_ts, state.pending) == (
            cursor.next_seq,
            cursor.min_start_ts,
            cursor.taken,
        )
