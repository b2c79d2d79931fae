"""Metering: signed batches accepted; each kind of bad reading refused, and nothing changes."""

from __future__ import annotations

from eth_account import Account
from eth_utils import keccak

from gridledger.contracts.typed import SECP256K1_N, MeterReading, MeterSignature, reading_digest
from gridledger.node.ledger.deploy import ROLE_OPERATOR
from tests.contracts.harness import DAY0_TS, Participant, Stack, expect_revert

T0 = DAY0_TS - 6 * 3600  # readings lie in the past of the stack's clock


def readings_for(
    p: Participant, start_ts: int, n: int, seq0: int = 1, import_wh: int = 40
) -> list[MeterReading]:
    return [
        MeterReading(p.meter, p.address, start_ts + 60 * k, 60, import_wh + k, k % 3, seq0 + k)
        for k in range(n)
    ]


def submit_raw(
    stack: Stack, readings: list[MeterReading], signatures: list[MeterSignature]
) -> dict[str, object]:
    call = stack.metering.functions.submitReadings(
        [r.as_abi() for r in readings], [s.as_abi() for s in signatures]
    )
    return stack.transact(call, stack.roles.operator)


def test_accepts_a_signed_batch_and_records_every_reading(stack: Stack) -> None:
    p = stack.participants[0]
    batch = readings_for(p, T0, 5)
    receipt = stack.submit_readings(batch, [p.meter_key] * 5)
    events = stack.events(stack.metering, "ReadingAccepted", receipt)
    assert [
        (
            e["args"]["participant"],
            e["args"]["intervalStartTs"],
            e["args"]["durationS"],
            e["args"]["importWh"],
            e["args"]["exportWh"],
            e["args"]["seq"],
        )
        for e in events
    ] == [
        (r.participant, r.interval_start_ts, r.duration_s, r.import_wh, r.export_wh, r.seq)
        for r in batch
    ]
    assert stack.metering.functions.meterState(p.meter).call() == [5, T0 + 300]
    assert stack.import_cap.functions.lastReadingEndOf(p.address).call() == T0 + 300


def test_digest_and_domain_match_the_python_signer(stack: Stack) -> None:
    p = stack.participants[0]
    reading = readings_for(p, T0, 1)[0]
    on_chain = stack.metering.functions.readingDigest(reading.as_abi()).call()
    assert bytes(on_chain) == reading_digest(reading, stack.separator)
    assert bytes(stack.metering.functions.domainSeparator().call()) == stack.separator


def test_signature_by_another_key_is_refused(stack: Stack) -> None:
    p = stack.participants[0]
    reading = readings_for(p, T0, 1)[0]
    forger = keccak(text="forger")
    forged_address = Account.from_key(forger).address
    with expect_revert("MeteringSignatureInvalid", 0, p.meter, forged_address):
        stack.submit_readings([reading], [forger])


def test_node_key_cannot_sign_for_its_meter(stack: Stack) -> None:
    # A participant holding its own account key still cannot forge its meter's readings.
    p = stack.participants[1]
    reading = readings_for(p, T0, 1)[0]
    with expect_revert("MeteringSignatureInvalid", 0, p.meter, p.address):
        stack.submit_readings([reading], [p.key])


def test_meter_not_registered_to_the_participant(stack: Stack) -> None:
    p, q = stack.participants[0], stack.participants[1]
    # q's meter signs a reading claiming to be for p.
    reading = MeterReading(q.meter, p.address, T0, 60, 10, 0, 1)
    with expect_revert("MeteringUnregisteredMeter", 0, p.address, q.meter, p.meter):
        stack.submit_readings([reading], [q.meter_key])


def test_deactivated_participant_is_refused(stack: Stack) -> None:
    p = stack.participants[2]
    stack.transact(stack.registry.functions.deactivate(p.address), stack.roles.operator)
    with expect_revert("MeteringUnregisteredMeter", 0, p.address, p.meter, p.meter):
        stack.submit_readings(readings_for(p, T0, 1), [p.meter_key])


def test_replayed_batch_is_refused(stack: Stack) -> None:
    p = stack.participants[0]
    batch = readings_for(p, T0, 3)
    stack.submit_readings(batch, [p.meter_key] * 3)
    with expect_revert("MeteringSequenceReplayed", 0, p.meter, 1, 3):
        stack.submit_readings(batch, [p.meter_key] * 3)


def test_out_of_order_sequence_inside_a_batch(stack: Stack) -> None:
    p = stack.participants[0]
    a, b = readings_for(p, T0, 2)
    b = MeterReading(b.meter, b.participant, b.interval_start_ts, 60, 1, 0, seq=1)
    with expect_revert("MeteringSequenceReplayed", 1, p.meter, 1, 1):
        stack.submit_readings([a, b], [p.meter_key] * 2)


def test_a_skipped_sequence_number_is_refused(stack: Stack) -> None:
    # A relayer withholding reading 2 (say, the one in violation) cannot get reading 3 accepted,
    # in the same batch or a later one; a meter's first reading must be seq 1.
    p = stack.participants[0]
    one, two, three = readings_for(p, T0, 3)
    with expect_revert("MeteringSequenceGap", 0, p.meter, 2, 1):
        stack.submit_readings([two], [p.meter_key])
    with expect_revert("MeteringSequenceGap", 1, p.meter, 3, 2):
        stack.submit_readings([one, three], [p.meter_key] * 2)
    stack.submit_readings([one], [p.meter_key])
    with expect_revert("MeteringSequenceGap", 0, p.meter, 3, 2):
        stack.submit_readings([three], [p.meter_key])
    stack.submit_readings([two, three], [p.meter_key] * 2)
    assert stack.metering.functions.meterState(p.meter).call() == [3, T0 + 180]


def test_overlapping_interval_is_refused(stack: Stack) -> None:
    p = stack.participants[0]
    stack.submit_readings(readings_for(p, T0, 2), [p.meter_key] * 2)
    overlapping = MeterReading(p.meter, p.address, T0 + 90, 60, 1, 0, 3)
    with expect_revert("MeteringIntervalOverlap", 0, p.meter, T0 + 90, T0 + 120):
        stack.submit_readings([overlapping], [p.meter_key])


def test_future_interval_is_refused(stack: Stack) -> None:
    p = stack.participants[0]
    future = MeterReading(p.meter, p.address, DAY0_TS + 3600, 60, 1, 0, 1)
    with expect_revert("MeteringIntervalInFuture") as caught:
        stack.submit_readings([future], [p.meter_key])
    index, end_ts, now_ts = caught[0].error_args
    assert (index, end_ts) == (0, DAY0_TS + 3660)
    assert now_ts < end_ts


def test_high_s_signature_is_refused(stack: Stack) -> None:
    p = stack.participants[0]
    reading = readings_for(p, T0, 1)[0]
    low = stack.sign(reading, p.meter_key)
    high_s = (SECP256K1_N - int.from_bytes(low.s, "big")).to_bytes(32, "big")
    malleated = MeterSignature(v=55 - low.v, r=low.r, s=high_s)  # 27 <-> 28
    with expect_revert("MeteringSignatureHighS", 0, high_s):
        submit_raw(stack, [reading], [malleated])


def test_malformed_signature_is_refused(stack: Stack) -> None:
    p = stack.participants[0]
    reading = readings_for(p, T0, 1)[0]
    good = stack.sign(reading, p.meter_key)
    with expect_revert("MeteringSignatureMalformed", 0):
        submit_raw(stack, [reading], [MeterSignature(v=29, r=good.r, s=good.s)])


def test_batch_size_limits(stack: Stack) -> None:
    p = stack.participants[0]
    cap = stack.metering.functions.MAX_BATCH().call()
    with expect_revert("MeteringBatchSize", 0, cap):
        submit_raw(stack, [], [])
    over = readings_for(p, T0 - 3 * 3600, cap + 1)
    sigs = [stack.sign(r, p.meter_key) for r in over]
    with expect_revert("MeteringBatchSize", cap + 1, cap):
        submit_raw(stack, over, sigs)
    with expect_revert("MeteringSignatureCount", 2, 1):
        submit_raw(stack, over[:2], sigs[:1])


def test_zero_duration_is_refused(stack: Stack) -> None:
    p = stack.participants[0]
    reading = MeterReading(p.meter, p.address, T0, 0, 1, 0, 1)
    with expect_revert("MeteringZeroDuration", 0):
        stack.submit_readings([reading], [p.meter_key])


def test_a_rejected_batch_changes_nothing(stack: Stack) -> None:
    p = stack.participants[0]
    good = readings_for(p, T0, 3)
    bad = MeterReading(p.meter, p.address, T0 + 180, 60, 1, 0, seq=2)  # replays seq 2
    before = stack.metering.functions.meterState(p.meter).call()
    block_before = stack.w3.eth.block_number
    with expect_revert("MeteringSequenceReplayed", 3, p.meter, 2, 3):
        stack.submit_readings([*good, bad], [p.meter_key] * 4)
    assert stack.metering.functions.meterState(p.meter).call() == before
    assert stack.import_cap.functions.lastReadingEndOf(p.address).call() == 0
    # The good readings alone are still accepted afterwards.
    stack.submit_readings(good, [p.meter_key] * 3)
    assert stack.metering.functions.meterState(p.meter).call() == [3, T0 + 180]
    assert stack.w3.eth.block_number > block_before


def test_one_batch_can_carry_several_meters(stack: Stack) -> None:
    p, q = stack.participants[0], stack.participants[1]
    batch = readings_for(p, T0, 2) + readings_for(q, T0, 3) + readings_for(p, T0 + 120, 1, 3)
    keys = [p.meter_key] * 2 + [q.meter_key] * 3 + [p.meter_key]
    stack.submit_readings(batch, keys)
    assert stack.metering.functions.meterState(p.meter).call() == [3, T0 + 180]
    assert stack.metering.functions.meterState(q.meter).call() == [3, T0 + 180]
    assert stack.import_cap.functions.lastReadingEndOf(q.address).call() == T0 + 180


def test_operator_pause_stops_readings(stack: Stack) -> None:
    p = stack.participants[0]
    with expect_revert("AccessControlUnauthorizedAccount", p.address, ROLE_OPERATOR):
        stack.transact(stack.metering.functions.pause(), p.address)
    stack.transact(stack.metering.functions.pause(), stack.roles.operator)
    with expect_revert("EnforcedPause"):
        stack.submit_readings(readings_for(p, T0, 1), [p.meter_key])
    stack.transact(stack.metering.functions.unpause(), stack.roles.operator)
    stack.submit_readings(readings_for(p, T0, 1), [p.meter_key])


def test_only_metering_may_forward_readings(stack: Stack) -> None:
    p = stack.participants[0]
    call = stack.import_cap.functions.recordReadings(p.address, [1])
    with expect_revert("AccessControlUnauthorizedAccount"):
        stack.transact(call, stack.roles.operator)
