"""Bus protocol v1: messages round-trip; malformed ones are refused with the reason."""

from __future__ import annotations

import json

import pytest

from sim.controllers import MicrogridState, Observation
from sim.errors import ProtocolError
from sim.federation.protocol import (
    Actions,
    MessageType,
    Register,
    decode,
    parse_tick,
    tick_message,
    welcome_message,
)
from sim.scenarios import resolve

ACTIONS = (MessageType.ACTIONS,)


def test_tick_round_trips_to_the_same_observation() -> None:
    obs = Observation(
        7,
        1_800_058_020,
        420.0,
        {"A": MicrogridState(1.5, 0.25, 900.0, 45.0), "B": MicrogridState(3.0, 0.0)},
    )
    frame = tick_message(obs)
    assert json.loads(frame)["v"] == 1
    msg_type, body = decode(frame, (MessageType.TICK,))
    assert msg_type is MessageType.TICK and parse_tick(body) == obs


def test_actions_and_register_round_trip() -> None:
    actions = Actions(3, {"MG1": 2500.0})
    assert Actions.parse(decode(actions.encode(), ACTIONS)[1]) == actions
    reg = Register("operator", ("MG1",))
    assert Register.parse(decode(reg.encode(), (MessageType.REGISTER,))[1]) == reg


def test_welcome_describes_the_run() -> None:
    _, body = decode(welcome_message("op", resolve("fedmgdt")), (MessageType.WELCOME,))
    assert (body["dt_s"], body["n_steps"]) == (60, 1440)
    assert body["microgrids"] == {"MG1": True, "MG2": False, "MG3": False}
    assert body["contracts"][0]["window_start_s"] == 61_200


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (b"{", "not a JSON message"),
        (b'"actions"', "a message is a JSON object, got str"),
        (b'{"type": "actions"}', "protocol version None (this bus speaks 1)"),
        (b'{"v": 1, "type": "bid"}', "unknown message type 'bid'"),
        (b'{"v": 1, "type": "tick"}', "unexpected 'tick' message (expected actions)"),
        (b'{"v": 1, "type": "actions", "tick": 1, "setpoints_w": {"A": Infinity}}', "Infinity"),
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
