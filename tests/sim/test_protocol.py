"""Bus protocol v2: messages round-trip; malformed ones are refused with the reason; a
signed reading survives the trip and still recovers to its meter."""

from __future__ import annotations

import json
from typing import Any

import pytest
from eth_utils.crypto import keccak

from gridledger.contracts.typed import SECP256K1_N, recover_meter
from gridledger.sim.controllers import MicrogridState, Observation
from gridledger.sim.errors import ProtocolError
from gridledger.sim.federation.protocol import (
    Actions,
    MessageType,
    Register,
    Welcome,
    decode,
    end_message,
    nests_deeper_than,
    parse_end,
    parse_signed_reading,
    parse_tick,
    signed_reading_json,
    tick_message,
    welcome_message,
)
from gridledger.sim.meter import Meter
from gridledger.sim.scenarios import resolve
from tests.sim.meter_helpers import DOMAIN_A, PARTICIPANT_A, PARTICIPANT_B

ACTIONS = (MessageType.ACTIONS,)
OBS = Observation(
    7,
    1_800_058_020,
    420.0,
    {"A": MicrogridState(1.5, 0.25, 900.0, 45.0), "B": MicrogridState(3.0, 0.0)},
)


def _meter() -> Meter:
    return Meter(keccak(text="protocol test meter"), PARTICIPANT_A, DOMAIN_A.separator)


def _reading_json(**changes: Any) -> dict[str, Any]:
    body = signed_reading_json(_meter().read(1_800_057_600, 60, 12, 0))
    for key, value in changes.items():
        if key.startswith("sig_"):
            body["signature"][key[4:]] = value
        else:
            body[key] = value
    return body


def test_tick_round_trips_to_the_same_observation_and_readings() -> None:
    meter = _meter()
    signed = meter.read(1_800_057_960, 60, 0, 3)
    frame = tick_message(OBS, {"A": signed})
    assert json.loads(frame)["v"] == 2
    msg_type, body = decode(frame, (MessageType.TICK,))
    tick = parse_tick(body)
    assert msg_type is MessageType.TICK and tick.observation == OBS
    assert tick.readings == {"A": signed}
    # What went over the bus verifies against the meter (no chain needed).
    over = tick.readings["A"]
    assert recover_meter(over.reading, over.signature, DOMAIN_A.separator) == meter.address
    empty = parse_tick(decode(tick_message(OBS), (MessageType.TICK,))[1])
    assert empty.readings == {}


def _tick_body(**measurements: Any) -> dict[str, Any]:
    body = decode(tick_message(OBS), (MessageType.TICK,))[1]
    body["measurements"].update(measurements)
    return body


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({**_tick_body(), "measurements": [1.0]}, "measurements must be an object, got [1.0]"),
        (_tick_body(A=[1.0]), "measurements.A must be an object, got [1.0]"),
        (_tick_body(A={"p_load_w": "1 kW", "p_pv_w": 0.0}), "measurements.A.p_load_w must be"),
        (_tick_body(B={"p_load_w": 1.0, "p_pv_w": 0.0, "soc_pct": True}), "measurements.B.soc"),
        (_tick_body(**{"": {"p_load_w": 1.0, "p_pv_w": 0.0}}), "measurements key must be a name"),
        ({**_tick_body(), "readings": {"A": {}}}, "readings.A: missing fields ['meter'"),
    ],
)
def test_bad_ticks_are_refused(body: dict[str, Any], reason: str) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_tick(body)
    assert str(info.value).startswith(reason)


def test_a_reading_on_the_bus_is_the_meter_reading_fields_and_the_signature() -> None:
    meter = _meter()
    body = signed_reading_json(meter.read(1_800_057_600, 60, 12, 0))
    assert list(body) == [
        "meter", "participant", "interval_start_ts", "duration_s", "import_wh", "export_wh",
        "seq", "signature",
    ]  # fmt: skip
    assert body["meter"] == meter.address and body["participant"] == PARTICIPANT_A
    assert (body["interval_start_ts"], body["duration_s"], body["seq"]) == (1_800_057_600, 60, 1)
    assert body["signature"]["v"] in (27, 28)
    assert len(body["signature"]["r"]) == len(body["signature"]["s"]) == 66
    signed = parse_signed_reading(json.loads(json.dumps(body)))
    assert recover_meter(signed.reading, signed.signature, DOMAIN_A.separator) == meter.address


def test_nesting_is_counted_outside_strings_only() -> None:
    assert not nests_deeper_than(b"[" * 16 + b"]" * 16, 16)
    assert nests_deeper_than(b"[" * 17 + b"]" * 17, 16)
    assert not nests_deeper_than(b'{"a": "' + b"[{" * 50 + b'\\" ["}', 16)
    decode(b'{"v": 2, "type": "actions", "pad": "' + b"[" * 50 + b'"}', ACTIONS)


def test_actions_and_register_round_trip() -> None:
    actions = Actions(3, {"MG1": 2500.0})
    assert Actions.parse(decode(actions.encode(), ACTIONS)[1]) == actions
    for reg in (
        Register("operator", ("MG1",)),
        Register("node-1", (), {"MG1": PARTICIPANT_A, "MG2": PARTICIPANT_B}, DOMAIN_A),
    ):
        assert Register.parse(decode(reg.encode(), (MessageType.REGISTER,))[1]) == reg
    body = json.loads(Register("n", (), {"MG1": PARTICIPANT_A}, DOMAIN_A).encode())
    assert body["metering"] == {"chain_id": 31337, "verifying_contract": "0x" + "11" * 20}


def test_welcome_describes_the_run_and_its_meters() -> None:
    meters = {"MG1": _meter().address}
    frame = welcome_message("op", resolve("fedmgdt"), meters, {"MG1": PARTICIPANT_A})
    _, body = decode(frame, (MessageType.WELCOME,))
    assert (body["dt_s"], body["n_steps"]) == (60, 1440)
    assert body["microgrids"] == {"MG1": True, "MG2": False, "MG3": False}
    assert body["contracts"][0]["window_start_s"] == 61_200
    welcome = Welcome.parse(body)
    assert (welcome.federate, welcome.meters, welcome.participants) == (
        "op",
        meters,
        {"MG1": PARTICIPANT_A},
    )
    assert welcome.contracts[0].cap_w == 6_000.0
    _, body = decode(welcome_message("op", resolve("fedmgdt")), (MessageType.WELCOME,))
    assert (body["meters"], body["participants"]) == ({}, {})
    body["participants"] = {"MG1": PARTICIPANT_A}
    with pytest.raises(ProtocolError, match=r"meters \[\] and participants \['MG1'\] must name"):
        Welcome.parse(body)


def test_end_carries_the_last_readings() -> None:
    signed = _meter().read(0, 60, 1, 0)
    end = parse_end(decode(end_message("complete", 1440, {"A": signed}), (MessageType.END,))[1])
    assert (end.reason, end.ticks, end.readings) == ("complete", 1440, {"A": signed})


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (b"{", "not a JSON message"),
        (b'"actions"', "a message is a JSON object, got str"),
        (b'{"type": "actions"}', "protocol version None (this bus speaks 2)"),
        (b'{"v": 1, "type": "actions"}', "protocol version 1 (this bus speaks 2)"),
        (b'{"v": 2, "type": "bid"}', "unknown message type 'bid'"),
        (b'{"v": 2, "type": "tick"}', "unexpected 'tick' message (expected actions)"),
        (b'{"v": 2, "type": "actions", "tick": 1, "setpoints_w": {"A": Infinity}}', "Infinity"),
        (b'{"v": 2, "tick": ' + b"9" * 5000 + b"}", "not a JSON message: Exceeds the limit"),
        (b"[" * 1500 + b"]" * 1500, "nests deeper than 16 levels"),
        (b"[" * 17 + b"]" * 17, "nests deeper than 16 levels"),
    ],
)
def test_bad_envelopes_are_refused(frame: bytes, reason: str) -> None:
    with pytest.raises(ProtocolError, match="^" + reason.replace("(", r"\(").replace(")", r"\)")):
        decode(frame, ACTIONS)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"tick": 1}, "actions: missing fields ['setpoints_w'], unknown fields []"),
        (
            {"tick": 1, "setpoints_w": {}, "x": 1},
            "actions: missing fields [], unknown fields ['x']",
        ),
        ({"tick": -1, "setpoints_w": {}}, "tick must be an integer >= 0, got -1"),
        ({"tick": True, "setpoints_w": {}}, "tick must be an integer >= 0, got True"),
        ({"tick": 1, "setpoints_w": [1.0]}, "setpoints_w must be an object"),
        ({"tick": 1, "setpoints_w": {"A": "1 kW"}}, "setpoints_w.A must be a finite number"),
    ],
)
def test_bad_actions_are_refused(body: dict[str, object], reason: str) -> None:
    with pytest.raises(ProtocolError) as info:
        Actions.parse(body)
    assert str(info.value).startswith(reason)


CONTRACT = "0x" + "11" * 20
METERING = {"chain_id": 31337, "verifying_contract": CONTRACT}


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"participants": {"A": PARTICIPANT_A}}, "participants need metering (the Metering"),
        ({"metering": METERING}, "metering given without participants"),
        (
            {"participants": {"A": PARTICIPANT_A.lower()}, "metering": METERING},
            f"participants.A is not EIP-55 checksummed: got {PARTICIPANT_A.lower()}, "
            f"expected {PARTICIPANT_A}",
        ),
        (
            {"participants": {"A": "0x" + "00" * 20}, "metering": METERING},
            "participants.A is the zero address",
        ),
        (
            {"participants": {"A": "0x12"}, "metering": METERING},
            "participants.A must be 0x and 40 hex digits, got '0x12'",
        ),
        (
            {"participants": {"A": PARTICIPANT_A}, "metering": {**METERING, "chain_id": 0}},
            "metering: chain_id must be in [1, 2**256), got 0",
        ),
        (
            {"participants": {"A": PARTICIPANT_A}, "metering": {"chain_id": 1}},
            "metering: missing fields ['verifying_contract'], unknown fields []",
        ),
        ({"participants": []}, "participants must be an object, got []"),
    ],
)
def test_bad_registrations_are_refused(changes: dict[str, Any], reason: str) -> None:
    body = {"federate": "n", "controls": [], "participants": {}, "metering": None, **changes}
    with pytest.raises(ProtocolError) as info:
        Register.parse(body)
    assert str(info.value).startswith(reason), str(info.value)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"seq": -1}, "r.seq must be an integer >= 0, got -1"),
        ({"import_wh": 2**64}, f"r: import_wh={2**64} is outside uint64"),
        ({"duration_s": 2**32}, f"r: duration_s={2**32} is outside uint32"),
        ({"import_wh": 1.5}, "r.import_wh must be an integer >= 0, got 1.5"),
        ({"meter": "0x" + "ab" * 20}, "r.meter is not EIP-55 checksummed"),
        ({"sig_v": 29}, "r.signature.v must be 27 or 28, got 29"),
        ({"sig_r": "0x12"}, "r.signature.r must be 0x and 64 hex digits, got '0x12'"),
        (
            {"sig_s": "0x" + (SECP256K1_N - 1).to_bytes(32, "big").hex()},
            "r.signature.s is in the upper half of the curve order",
        ),
        ({"signature": [27]}, "r.signature must be an object, got [27]"),
        ({"extra": 1}, "r: missing fields [], unknown fields ['extra']"),
    ],
)
def test_bad_readings_are_refused(changes: dict[str, Any], reason: str) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_signed_reading(_reading_json(**changes), "r")
    assert str(info.value).startswith(reason), str(info.value)


def test_a_reading_changed_on_the_way_no_longer_recovers_to_its_meter() -> None:
    meter = _meter()
    body = _reading_json(import_wh=11)  # signed for 12 Wh
    signed = parse_signed_reading(body)
    assert recover_meter(signed.reading, signed.signature, DOMAIN_A.separator) != meter.address
