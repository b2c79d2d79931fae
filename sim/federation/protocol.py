"""The federation bus protocol, version 1: JSON messages, validated on the way in.

Every message is one ZMQ frame holding a JSON object with ``"v": 1`` and a ``"type"``:

====================  =========  ==========================================================
type                  direction  fields
====================  =========  ==========================================================
``register``          fed -> sim ``federate`` (name), ``controls`` (microgrid names whose
                                 battery set-points it will send)
``welcome``           sim -> fed ``federate``, ``scenario``, ``dt_s``, ``n_steps``,
                                 ``start_ts``, ``microgrids`` ({name: has_battery}),
                                 ``contracts`` (list of {microgrid, cap_w, window_start_s,
                                 window_end_s})
``tick``              sim -> fed ``tick``, ``time_ts``, ``t_day_s``, ``measurements``
                                 ({name: {p_load_w, p_pv_w, e_battery_wh, soc_pct}})
``actions``           fed -> sim ``tick``, ``setpoints_w`` ({name: W, > 0 discharge}) for
                                 exactly the microgrids the federate controls
``end``               sim -> fed ``reason``, ``ticks`` (ticks completed)
``refused``           sim -> fed ``reason``: the last message was refused (and ignored)
====================  =========  ==========================================================

Lockstep: the simulator sends ``tick`` t to every federate and computes t + 1 only after
each has answered ``actions`` for t. Anything malformed, of another version, of an
unexpected type or for the wrong tick raises ``ProtocolError`` with the reason; the bus
logs it, answers ``refused`` and carries on. Numbers must be finite (no NaN/Infinity).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sim.controllers import MicrogridState, Observation
from sim.errors import ProtocolError
from sim.scenario import Scenario

PROTOCOL_VERSION = 1


class MessageType(StrEnum):
    """The ``type`` of a bus message."""

    REGISTER = "register"
    WELCOME = "welcome"
    TICK = "tick"
    ACTIONS = "actions"
    END = "end"
    REFUSED = "refused"


def _reject_constant(name: str) -> float:
    raise ProtocolError(f"{name} is not a finite number")


# One encoder and one decoder for all messages: json.dumps/loads with options would build a
# new one per call, which costs more than encoding a tick.
_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False)
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def encode(msg_type: MessageType, **fields: Any) -> bytes:
    """One message as compact UTF-8 JSON."""
    body = {"v": PROTOCOL_VERSION, "type": msg_type.value, **fields}
    return _ENCODER.encode(body).encode()


def decode(frame: bytes, expected: tuple[MessageType, ...]) -> tuple[MessageType, dict[str, Any]]:
    """Parse and check the envelope of ``frame``; its type must be one of ``expected``."""
    try:
        body = _DECODER.decode(frame.decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError(f"not a JSON message: {exc}") from None
    if not isinstance(body, dict):
        raise ProtocolError(f"a message is a JSON object, got {type(body).__name__}")
    version = body.pop("v", None)
    if version != PROTOCOL_VERSION:
        raise ProtocolError(f"protocol version {version!r} (this bus speaks {PROTOCOL_VERSION})")
    raw_type = body.pop("type", None)
    try:
        msg_type = MessageType(raw_type)
    except ValueError:
        raise ProtocolError(f"unknown message type {raw_type!r}") from None
    if msg_type not in expected:
        wanted = " or ".join(t.value for t in expected)
        raise ProtocolError(f"unexpected {msg_type.value!r} message (expected {wanted})")
    return msg_type, body


def _fields(body: dict[str, Any], msg_type: MessageType, names: tuple[str, ...]) -> None:
    missing = [n for n in names if n not in body]
    extra = sorted(set(body) - set(names))
    if missing or extra:
        raise ProtocolError(f"{msg_type.value}: missing fields {missing}, unknown fields {extra}")


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ProtocolError(f"{what} must be a finite number, got {value!r}")
    return float(value)


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ProtocolError(f"{what} must be an integer >= 0, got {value!r}")
    return value


def _name(value: Any, what: str) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= 64:
        raise ProtocolError(f"{what} must be a name of 1-64 characters, got {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class Register:
    """A federate asks to join: its name and the microgrids whose batteries it dispatches."""

    federate: str
    controls: tuple[str, ...]

    def encode(self) -> bytes:
        return encode(MessageType.REGISTER, federate=self.federate, controls=list(self.controls))

    @classmethod
    def parse(cls, body: dict[str, Any]) -> Register:
        _fields(body, MessageType.REGISTER, ("federate", "controls"))
        controls = body["controls"]
        if not isinstance(controls, list):
            raise ProtocolError(f"controls must be a list of names, got {controls!r}")
        names = tuple(_name(c, "controls[]") for c in controls)
        if len(set(names)) != len(names):
            raise ProtocolError(f"controls lists a microgrid twice: {list(names)}")
        return cls(_name(body["federate"], "federate"), names)


@dataclass(frozen=True, slots=True)
class Actions:
    """A federate's battery set-points [W] (> 0 discharge) for tick ``tick``."""

    tick: int
    setpoints_w: dict[str, float]

    def encode(self) -> bytes:
        return encode(MessageType.ACTIONS, tick=self.tick, setpoints_w=self.setpoints_w)

    @classmethod
    def parse(cls, body: dict[str, Any]) -> Actions:
        _fields(body, MessageType.ACTIONS, ("tick", "setpoints_w"))
        raw = body["setpoints_w"]
        if not isinstance(raw, dict):
            raise ProtocolError(f"setpoints_w must be an object, got {raw!r}")
        setpoints = {
            _name(k, "setpoints_w key"): _number(v, f"setpoints_w.{k}") for k, v in raw.items()
        }
        return cls(_int(body["tick"], "tick"), setpoints)


def welcome_message(federate: str, scenario: Scenario) -> bytes:
    """The ``welcome`` answering a registration: what federates need to know of the run."""
    return encode(
        MessageType.WELCOME,
        federate=federate,
        scenario=scenario.name,
        dt_s=scenario.dt_s,
        n_steps=scenario.n_steps,
        start_ts=scenario.start_ts,
        microgrids={mg.name: mg.battery is not None for mg in scenario.microgrids},
        contracts=[
            {
                "microgrid": c.microgrid,
                "cap_w": c.cap_w,
                "window_start_s": c.window_start_s,
                "window_end_s": c.window_end_s,
            }
            for c in scenario.contracts
        ],
    )


def tick_message(obs: Observation) -> bytes:
    """The ``tick`` message carrying observation ``obs``."""
    measurements = {
        name: {
            "p_load_w": s.p_load_w,
            "p_pv_w": s.p_pv_w,
            "e_battery_wh": s.e_battery_wh,
            "soc_pct": s.soc_pct,
        }
        for name, s in obs.microgrids.items()
    }
    return encode(
        MessageType.TICK,
        tick=obs.tick,
        time_ts=obs.time_ts,
        t_day_s=obs.t_day_s,
        measurements=measurements,
    )


def parse_tick(body: dict[str, Any]) -> Observation:
    """The observation in a ``tick`` message body."""
    _fields(body, MessageType.TICK, ("tick", "time_ts", "t_day_s", "measurements"))
    raw = body["measurements"]
    if not isinstance(raw, dict):
        raise ProtocolError("measurements must be an object")
    states = {}
    for name, m in raw.items():
        if not isinstance(m, dict):
            raise ProtocolError(f"measurements.{name} must be an object")
        e_wh, soc = m.get("e_battery_wh"), m.get("soc_pct")
        states[name] = MicrogridState(
            _number(m.get("p_load_w"), f"{name}.p_load_w"),
            _number(m.get("p_pv_w"), f"{name}.p_pv_w"),
            None if e_wh is None else _number(e_wh, f"{name}.e_battery_wh"),
            None if soc is None else _number(soc, f"{name}.soc_pct"),
        )
    return Observation(
        _int(body["tick"], "tick"),
        _int(body["time_ts"], "time_ts"),
        _number(body["t_day_s"], "t_day_s"),
        states,
    )
