"""The federation bus protocol, version 2: JSON messages, validated on the way in.

Every message is one ZMQ frame holding a JSON object with ``"v": 2`` and a ``"type"``.
A message of any other version (v1 peers included) is refused with ``protocol version 1
(this bus speaks 2)``: v2 changed ``register``, ``welcome``, ``tick`` and ``end``.

====================  =========  ==========================================================
type                  direction  fields
====================  =========  ==========================================================
``register``          fed -> sim ``federate`` (name), ``controls`` (microgrid names whose
                                 battery set-points it will send), ``participants``
                                 ({microgrid: participant address} for the microgrids it
                                 represents, may be {}), ``metering`` (null, or
                                 {chain_id, verifying_contract}: the Metering contract those
                                 microgrids' meters sign for; required iff participants is
                                 not empty)
``welcome``           sim -> fed ``federate``, ``scenario``, ``dt_s``, ``n_steps``,
                                 ``start_ts``, ``microgrids`` ({name: has_battery}),
                                 ``contracts`` (list of {microgrid, cap_w, window_start_s,
                                 window_end_s}), ``meters`` ({microgrid: meter address}),
                                 ``participants`` ({microgrid: participant address}; the same
                                 keys as ``meters``)
``tick``              sim -> fed ``tick``, ``time_ts``, ``t_day_s``, ``measurements``
                                 ({name: {p_load_w, p_pv_w, e_battery_wh, soc_pct}}),
                                 ``readings`` ({microgrid: signed reading} of the step that
                                 ended at ``time_ts``; {} at tick 0)
``actions``           fed -> sim ``tick``, ``setpoints_w`` ({name: W, > 0 discharge}) for
                                 exactly the microgrids the federate controls
``end``               sim -> fed ``reason``, ``ticks`` (ticks completed), ``readings``
                                 (those of the last step, which no tick carries; {} if the
                                 run stopped early)
``refused``           sim -> fed ``reason``: the last message was refused (and ignored)
====================  =========  ==========================================================

Meters: only microgrids a federate claims in ``participants`` are metered (one claim per
microgrid); nobody else's energy is signed for an address nobody declared. The simulator
gives each claimed microgrid a meter with a fresh key from the OS's entropy
(``sim.meter.new_meter_key``) for the run; the key never leaves the simulator. Welcomes go
out once every expected federate has registered, so each lists every meter of the run. A
signed reading (``sim.federation.readings``) is the ``MeterReading`` fields plus the
signature::

    {"meter": "0x<EIP-55>", "participant": "0x<EIP-55>", "interval_start_ts": 1800057600,
     "duration_s": 60, "import_wh": 12, "export_wh": 0, "seq": 1,
     "signature": {"v": 27, "r": "0x<64 hex>", "s": "0x<64 hex>"}}

Its energies are the step's metered integers (``sim.pcc.metered_energy_wh`` of the PCC
power, the grid limit applied, the same numbers as the run's ``ticks.csv``); ``seq``
counts from 1 per meter, one reading per step; the EIP-712 domain is the claimant's
``metering``. ``parse_signed_reading`` turns one back into a ``sim.meter.SignedReading``.

Lockstep: the simulator sends ``tick`` t to every federate and computes t + 1 only after
each has answered ``actions`` for t. Anything malformed, of another version, of an
unexpected type or for the wrong tick raises ``ProtocolError`` with the reason; the bus
logs it, answers ``refused`` and carries on. Before parsing, a message is refused if it
nests arrays and objects deeper than `MAX_NESTING` (checked without recursion: the JSON
parser recurses per level, and a process whose recursion limit was raised, as py_ecc does,
would overflow the C stack); integers of more than 4,300 digits are refused by the parser.
Numbers must be finite (no NaN/Infinity); addresses are ``0x`` and 40 hex digits, EIP-55
checksummed, never the zero address.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from gridledger.contracts.typed import SignedReading
from gridledger.sim.controllers import MicrogridState, Observation
from gridledger.sim.errors import ProtocolError
from gridledger.sim.federation import checks
from gridledger.sim.federation.readings import (
    metering_json,
    parse_addresses,
    parse_metering,
    parse_readings,
    parse_signed_reading,
    readings_json,
    signed_reading_json,
)
from gridledger.sim.meter import MeteringDomain
from gridledger.sim.scenario import CapContract, Scenario

__all__ = [
    "PROTOCOL_VERSION",
    "Actions",
    "End",
    "MessageType",
    "Register",
    "Tick",
    "Welcome",
    "decode",
    "encode",
    "end_message",
    "parse_end",
    "parse_signed_reading",
    "parse_tick",
    "signed_reading_json",
    "tick_message",
    "welcome_message",
]

PROTOCOL_VERSION = 2
MAX_NESTING = 16
"""Deepest nesting of arrays and objects in a message (ours nest 5 deep)."""


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
    if nests_deeper_than(frame, MAX_NESTING):
        raise ProtocolError(f"nests deeper than {MAX_NESTING} levels")
    try:
        body = _DECODER.decode(frame.decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError(f"not a JSON message: {exc}") from None
    except (ValueError, RecursionError) as exc:  # e.g. an integer of over 4,300 digits
        raise ProtocolError(f"not a JSON message: {str(exc)[:200]}") from None
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


def nests_deeper_than(frame: bytes, limit: int) -> bool:
    """Whether ``frame``'s JSON arrays and objects nest more than ``limit`` levels (brackets
    inside strings do not count); a loop, no recursion."""
    if frame.count(b"[") + frame.count(b"{") <= limit:
        return False  # cannot nest deeper than it has brackets
    depth = 0
    in_string = escaped = False
    for byte in frame:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return False


def _names(value: Any, what: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise ProtocolError(f"{what} must be a list of names, got {value!r}")
    names = tuple(checks.name(c, f"{what}[]") for c in value)
    if len(set(names)) != len(names):
        raise ProtocolError(f"{what} lists a microgrid twice: {list(names)}")
    return names


@dataclass(frozen=True, slots=True)
class Register:
    """A federate asks to join: its name, the microgrids whose batteries it dispatches, the
    participant address of each microgrid it represents and their Metering domain."""

    federate: str
    controls: tuple[str, ...]
    participants: Mapping[str, str] = field(default_factory=dict)
    metering: MeteringDomain | None = None

    def encode(self) -> bytes:
        return encode(
            MessageType.REGISTER,
            federate=self.federate,
            controls=list(self.controls),
            participants=dict(self.participants),
            metering=metering_json(self.metering),
        )

    @classmethod
    def parse(cls, body: dict[str, Any]) -> Register:
        checks.fields(body, "register", ("federate", "controls", "participants", "metering"))
        participants = parse_addresses(body["participants"], "participants")
        metering = parse_metering(body["metering"])
        if participants and metering is None:
            raise ProtocolError(
                "participants need metering (the Metering contract their meters sign for)"
            )
        if metering is not None and not participants:
            raise ProtocolError("metering given without participants")
        return cls(
            checks.name(body["federate"], "federate"),
            _names(body["controls"], "controls"),
            participants,
            metering,
        )


@dataclass(frozen=True, slots=True)
class Actions:
    """A federate's battery set-points [W] (> 0 discharge) for tick ``tick``."""

    tick: int
    setpoints_w: dict[str, float]

    def encode(self) -> bytes:
        return encode(MessageType.ACTIONS, tick=self.tick, setpoints_w=self.setpoints_w)

    @classmethod
    def parse(cls, body: dict[str, Any]) -> Actions:
        checks.fields(body, "actions", ("tick", "setpoints_w"))
        setpoints = checks.keyed(body["setpoints_w"], "setpoints_w", checks.number)
        return cls(checks.integer(body["tick"], "tick"), setpoints)


WELCOME_FIELDS = (
    "federate", "scenario", "dt_s", "n_steps", "start_ts", "microgrids", "contracts", "meters",
    "participants",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Welcome:
    """What the simulator told a federate about the run: time base, microgrids (name: has a
    battery), contracts, and the meter and participant address of each metered microgrid."""

    federate: str
    scenario: str
    dt_s: int
    n_steps: int
    start_ts: int
    microgrids: dict[str, bool]
    contracts: tuple[CapContract, ...]
    meters: dict[str, str]
    participants: dict[str, str]

    @classmethod
    def parse(cls, body: dict[str, Any]) -> Welcome:
        checks.fields(body, "welcome", WELCOME_FIELDS)
        microgrids = checks.obj(body["microgrids"], "microgrids")
        for mg, has_battery in microgrids.items():
            if not isinstance(has_battery, bool):
                raise ProtocolError(f"microgrids.{mg} must be true or false, got {has_battery!r}")
        raw_contracts = body["contracts"]
        if not isinstance(raw_contracts, list):
            raise ProtocolError(f"contracts must be a list, got {raw_contracts!r}")
        meters = parse_addresses(body["meters"], "meters")
        participants = parse_addresses(body["participants"], "participants")
        if set(meters) != set(participants) or not set(meters) <= set(microgrids):
            raise ProtocolError(
                f"meters {sorted(meters)} and participants {sorted(participants)} must name "
                f"the same microgrids of {sorted(microgrids)}"
            )
        dt_s = checks.integer(body["dt_s"], "dt_s")
        if dt_s == 0:
            raise ProtocolError("dt_s must be > 0, got 0")
        return cls(
            federate=checks.name(body["federate"], "federate"),
            scenario=checks.name(body["scenario"], "scenario"),
            dt_s=dt_s,
            n_steps=checks.integer(body["n_steps"], "n_steps"),
            start_ts=checks.integer(body["start_ts"], "start_ts"),
            microgrids={checks.name(k, "microgrids key"): v for k, v in microgrids.items()},
            contracts=tuple(_contract(c, f"contracts[{i}]") for i, c in enumerate(raw_contracts)),
            meters=meters,
            participants=participants,
        )


def _contract(value: Any, what: str) -> CapContract:
    body = checks.obj(value, what)
    checks.fields(body, what, ("microgrid", "cap_w", "window_start_s", "window_end_s"))
    microgrid = checks.name(body["microgrid"], f"{what}.microgrid")
    return CapContract(
        name=f"{microgrid}-cap",
        microgrid=microgrid,
        cap_w=checks.number(body["cap_w"], f"{what}.cap_w"),
        window_start_s=checks.integer(body["window_start_s"], f"{what}.window_start_s"),
        window_end_s=checks.integer(body["window_end_s"], f"{what}.window_end_s"),
    )


def welcome_message(
    federate: str,
    scenario: Scenario,
    meters: Mapping[str, str] | None = None,
    participants: Mapping[str, str] | None = None,
) -> bytes:
    """The ``welcome`` answering a registration: what federates need to know of the run,
    with the meter and participant address of each metered microgrid (none by default)."""
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
        meters=dict(meters or {}),
        participants=dict(participants or {}),
    )


@dataclass(frozen=True, slots=True)
class Tick:
    """A ``tick`` message: the observation of tick ``observation.tick`` and the signed
    readings of the step that ended when it started."""

    observation: Observation
    readings: dict[str, SignedReading]


def tick_message(obs: Observation, readings: Mapping[str, SignedReading] | None = None) -> bytes:
    """The ``tick`` message carrying observation ``obs`` and the previous step's readings."""
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
        readings=readings_json(readings or {}),
    )


def _state(value: Any, what: str) -> MicrogridState:
    m = checks.obj(value, what)
    e_wh, soc = m.get("e_battery_wh"), m.get("soc_pct")
    return MicrogridState(
        checks.number(m.get("p_load_w"), f"{what}.p_load_w"),
        checks.number(m.get("p_pv_w"), f"{what}.p_pv_w"),
        None if e_wh is None else checks.number(e_wh, f"{what}.e_battery_wh"),
        None if soc is None else checks.number(soc, f"{what}.soc_pct"),
    )


def parse_tick(body: dict[str, Any]) -> Tick:
    """The observation and readings in a ``tick`` message body."""
    checks.fields(body, "tick", ("tick", "time_ts", "t_day_s", "measurements", "readings"))
    states = checks.keyed(body["measurements"], "measurements", _state)
    obs = Observation(
        checks.integer(body["tick"], "tick"),
        checks.integer(body["time_ts"], "time_ts"),
        checks.number(body["t_day_s"], "t_day_s"),
        states,
    )
    return Tick(obs, parse_readings(body["readings"]))


@dataclass(frozen=True, slots=True)
class End:
    """The ``end`` message: why the run ended, the ticks completed and the last readings."""

    reason: str
    ticks: int
    readings: dict[str, SignedReading]


def end_message(
    reason: str, ticks: int, readings: Mapping[str, SignedReading] | None = None
) -> bytes:
    """The ``end`` message."""
    return encode(
        MessageType.END, reason=reason, ticks=ticks, readings=readings_json(readings or {})
    )


def parse_end(body: dict[str, Any]) -> End:
    """The ``end`` message body."""
    checks.fields(body, "end", ("reason", "ticks", "readings"))
    reason = body["reason"]
    if not isinstance(reason, str):
        raise ProtocolError(f"reason must be a string, got {reason!r}")
    return End(reason, checks.integer(body["ticks"], "ticks"), parse_readings(body["readings"]))
