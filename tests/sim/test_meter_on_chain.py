"""Sim-signed readings verified on chain: the Metering contract accepts a simulated meter's
day, and refuses a reading changed after signing."""

from __future__ import annotations

import dataclasses

import pytest
from eth_utils.crypto import keccak

from gridledger.contracts.typed import SignedReading
from gridledger.node.errors import ContractRevertError
from gridledger.node.ledger.ephemeral import EphemeralChain
from gridledger.node.ledger.stack import DAY0_TS, Stack, build_stack
from gridledger.sim.meter import Meter
from gridledger.sim.runner import simulate_run, tables_of
from gridledger.sim.scenarios import resolve

N_READINGS = 60  # 17:00-18:00 of MG1's day, one reading a minute (one batch)


@pytest.fixture(scope="module")
def chain() -> tuple[Stack, Meter]:
    stack = build_stack(EphemeralChain(), n_participants=0)
    stack.at_time(DAY0_TS + 86_400)  # the simulated day (from DAY0_TS) lies in the past
    participant = stack.engine.add_account(keccak(text="sim participant MG1"))
    meter = Meter(keccak(text="sim meter MG1"), participant, stack.separator)
    stack.transact(stack.registry.functions.admit(participant, meter.address), stack.roles.operator)
    return stack, meter


def _submit(stack: Stack, signed: list[SignedReading]) -> dict[str, object]:
    call = stack.metering.functions.submitReadings(
        [s.reading.as_abi() for s in signed], [s.signature.as_abi() for s in signed]
    )
    return stack.transact(call, stack.roles.operator)


def test_sim_signed_readings_are_accepted_then_a_tampered_one_is_refused(
    chain: tuple[Stack, Meter],
) -> None:
    stack, meter = chain
    scenario = resolve("fedmgdt")
    ticks, _ = tables_of([("E2", simulate_run(scenario, "E2"))])
    mg1 = ticks[(ticks["microgrid"] == "MG1") & (ticks["tick"] >= 17 * 60)].head(N_READINGS)
    start_ts = int(mg1["time_ts"].iloc[0])
    assert start_ts == scenario.start_ts + 17 * 3600 == DAY0_TS + 61_200
    signed = meter.read_steps(
        start_ts, scenario.dt_s, mg1["import_wh"].to_numpy(), mg1["export_wh"].to_numpy()
    )

    receipt = _submit(stack, signed)
    events = stack.events(stack.metering, "ReadingAccepted", receipt)
    assert [
        (e["args"]["participant"], e["args"]["importWh"], e["args"]["exportWh"], e["args"]["seq"])
        for e in events
    ] == [
        (meter.participant, s.reading.import_wh, s.reading.export_wh, s.reading.seq) for s in signed
    ]
    assert sum(e["args"]["importWh"] for e in events) == int(mg1["import_wh"].sum()) > 0
    assert stack.metering.functions.meterState(meter.address).call() == [
        N_READINGS,
        start_ts + N_READINGS * 60,
    ]

    # The next reading, signed, then its import lowered by whoever relays it.
    honest = meter.read(start_ts + N_READINGS * 60, 60, 150, 0)
    tampered = dataclasses.replace(honest.reading, import_wh=honest.reading.import_wh - 100)
    with pytest.raises(ContractRevertError) as info:
        _submit(stack, [SignedReading(tampered, honest.signature)])
    assert info.value.name == "MeteringSignatureInvalid"
    _, expected, recovered = (str(a).lower() for a in info.value.error_args)
    assert expected == meter.address.lower()  # the registered meter
    assert recovered != expected  # what the altered digest recovers to
    # The honest reading still goes through: nothing was consumed by the refused one.
    receipt = _submit(stack, [honest])
    assert len(stack.events(stack.metering, "ReadingAccepted", receipt)) == 1
