"""The simulator's end of the federation bus: a ZMQ ROUTER socket speaking protocol v2.

The ROUTER is a CurveZMQ server whose ZAP handler (`sim.curve.Admission`, served from the
bus's poll loop) admits only the expected federates' keys (`sim.federation.keys`); every
message carries the name its key is listed under, and a registration under another name,
or a second one, is refused. Strangers get no connection (their refusal is logged once per
key).

The bus waits until every expected federate has registered, then welcomes them all (the
welcome lists every meter of the run), then for each tick sends the ``tick`` message to
all of them and collects one valid ``actions`` message from each (the time barrier).
Malformed or unexpected messages are logged, answered with ``refused`` and ignored; the
barrier keeps waiting for a valid answer until the deadline. A federate that has not
answered by then (it died, hung or never started) is named in ``FederateTimeoutError``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field

import zmq

from gridledger.contracts.typed import SignedReading
from gridledger.sim.curve import Admission, authenticated_name, curve_server
from gridledger.sim.errors import FederateTimeoutError, FederationError, ProtocolError
from gridledger.sim.federation.keys import BusKeys
from gridledger.sim.federation.protocol import (
    Actions,
    MessageType,
    Register,
    decode,
    encode,
    end_message,
)
from gridledger.sim.meter import MeteringDomain

log = logging.getLogger("gridledger.sim.federation")

CLOSE_LINGER_MS = 200
"""How long closing the bus tries to deliver the ``end`` messages [ms]."""
MAX_MESSAGE_BYTES = 64 * 2**10
"""Largest message a federate may send [bytes] (a registration or actions for a few hundred
microgrids); a larger one is refused."""
ZAP_DOMAIN = "gridledger-federation"
MAX_STRANGERS_LOGGED = 1000
"""Distinct refused keys logged (each once); later ones are only counted."""
CUT_OFF_BYTES = 16 * MAX_MESSAGE_BYTES
"""Beyond this libzmq drops the sender's connection before buffering the message
(ZMQ_MAXMSGSIZE); the federate then misses its ticks and is named when the barrier times
out."""


@dataclass(frozen=True, slots=True)
class Registration:
    """A registered federate: its name, routing identity, controlled microgrids, the
    participant address of each microgrid it represents and their Metering domain."""

    name: str
    identity: bytes
    controls: tuple[str, ...]
    participants: Mapping[str, str] = field(default_factory=dict)
    metering: MeteringDomain | None = None


class FederationBus:
    """The ROUTER side of the bus, bound at ``endpoint`` (``tcp://127.0.0.1:*`` picks a port).

    Parameters
    ----------
    endpoint : where to bind (tcp://HOST:PORT or ipc://PATH)
    expected : names of the federates the run waits for
    controllable : microgrids a federate may control (those with a battery)
    meterable : microgrids a federate may claim as a participant (the scenario's)
    timeout_s : how long [s] to wait for each tick's answers
    register_timeout_s : how long [s] to wait for all registrations (default: ``timeout_s``)
    keys : the bus's Curve key pair and the federates' (only ``expected`` ones are admitted)
    """

    def __init__(
        self,
        endpoint: str,
        expected: Sequence[str],
        controllable: Collection[str],
        timeout_s: float,
        register_timeout_s: float | None = None,
        meterable: Collection[str] = (),
        *,
        keys: BusKeys,
    ) -> None:
        if len(set(expected)) != len(expected):
            raise FederationError(f"federate names must be unique, got {list(expected)}")
        if timeout_s <= 0:
            raise FederationError(f"timeout_s must be > 0, got {timeout_s}")
        unkeyed = sorted(set(expected) - set(keys.federates))
        if unkeyed:
            raise FederationError(f"no Curve keys for federates {unkeyed}")
        self.keys = keys
        self.expected = tuple(expected)
        self.controllable = frozenset(controllable)
        self.meterable = frozenset(meterable)
        self.timeout_s = timeout_s
        self.register_timeout_s = timeout_s if register_timeout_s is None else register_timeout_s
        self._context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()  # its own ZAP handler
        allowed = {key: name for key, name in keys.allowed().items() if name in expected}
        self._admission = Admission(self._context, allowed, self._refused_key, ZAP_DOMAIN)
        self._strangers: set[str] = set()
        self.refused_connections = 0
        self._socket = self._context.socket(zmq.ROUTER)
        self._socket.setsockopt(zmq.LINGER, 0)
        curve_server(self._socket, keys.bus, ZAP_DOMAIN)
        self._socket.setsockopt(zmq.ROUTER_MANDATORY, 1)  # sending to a vanished peer fails
        self._socket.setsockopt(zmq.MAXMSGSIZE, CUT_OFF_BYTES)
        try:
            self._socket.bind(endpoint)
        except zmq.ZMQError as exc:
            self._socket.close(linger=0)
            self._admission.close()
            self._context.term()
            raise FederationError(f"cannot bind the bus at {endpoint}: {exc}") from exc
        self._poller = zmq.Poller()
        self._poller.register(self._socket, zmq.POLLIN)
        self._poller.register(self._admission.socket, zmq.POLLIN)
        self.endpoint = str(self._socket.getsockopt_string(zmq.LAST_ENDPOINT))
        self.registrations: dict[bytes, Registration] = {}
        self.refused = 0

    @property
    def federates(self) -> tuple[Registration, ...]:
        """The registered federates, in the order they registered."""
        return tuple(self.registrations.values())

    def _refuse(self, identity: bytes, who: str, reason: str) -> None:
        self.refused += 1
        log.warning("refused a message from %s: %s", who, reason)
        self._send(identity, encode(MessageType.REFUSED, reason=reason))

    def _refused_key(self, who: str, address: str) -> None:
        self.refused_connections += 1
        if who not in self._strangers and len(self._strangers) < MAX_STRANGERS_LOGGED:
            self._strangers.add(who)
            log.warning(
                "refused a connection from %s: Curve key %s is not a federate of this run",
                address,
                who,
            )

    def _send(self, identity: bytes, frame: bytes) -> None:
        try:
            self._socket.send_multipart([identity, frame], flags=zmq.NOBLOCK)
        except zmq.ZMQError as exc:  # the peer is gone or its queue is full
            log.warning("could not send to %r: %s", identity, exc)

    def _receive(self, deadline: float) -> tuple[bytes, str, bytes] | None:
        """One well-framed message before ``deadline`` (monotonic s): its routing identity,
        the federate name its Curve key is listed under, and its frame; else None. ZAP
        requests are answered meanwhile; messages of several frames or over
        `MAX_MESSAGE_BYTES` are refused on the way (in a loop: any number of them costs no
        stack)."""
        while True:
            try:  # answers often queue up together: take one without a poll system call
                parts = self._socket.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                remaining_ms = max(0, int((deadline - time.monotonic()) * 1000))
                ready = dict(self._poller.poll(remaining_ms))
                if not ready:
                    return None
                if self._admission.socket in ready:
                    self._serve_zap()
                continue
            identity = parts[0].bytes if parts else b""
            name = authenticated_name(parts[-1]) if parts else None
            who = repr(name) if name is not None else repr(identity)
            if name is None:  # cannot happen with the ZAP handler bound
                self._refuse(identity, who, "no authenticated federate on this connection")
            elif len(parts) != 2:
                self._refuse(identity, who, f"expected one frame, got {len(parts) - 1}")
            elif len(parts[1]) > MAX_MESSAGE_BYTES:
                self._refuse(
                    identity, who, f"message of {len(parts[1])} bytes, at most {MAX_MESSAGE_BYTES}"
                )
            else:
                return identity, name, parts[1].bytes
            if time.monotonic() >= deadline:  # a flood of refusals does not hold the barrier
                return None

    def _serve_zap(self) -> None:
        while True:
            try:
                self._admission.handle()
            except zmq.Again:
                return

    def register_all(self, welcome: Callable[[str], bytes]) -> tuple[Registration, ...]:
        """Wait for every expected federate to register, then answer each with
        ``welcome(name)``."""
        self.await_registrations()
        self.welcome_all(welcome)
        return self.federates

    def await_registrations(self) -> tuple[Registration, ...]:
        """Wait for every expected federate to register (``register_timeout_s``); refuse
        bad registrations. Nobody is welcomed yet."""
        deadline = time.monotonic() + self.register_timeout_s
        while len(self.registrations) < len(self.expected):
            message = self._receive(deadline)
            if message is None:
                names = {r.name for r in self.registrations.values()}
                missing = [n for n in self.expected if n not in names]
                raise FederateTimeoutError(missing, None, self.register_timeout_s)
            identity, name, frame = message
            try:
                _, body = decode(frame, (MessageType.REGISTER,))
                reg = Register.parse(body)
                self._check_registration(identity, name, reg)
            except ProtocolError as exc:
                self._refuse(identity, repr(name), str(exc))
                continue
            self.registrations[identity] = Registration(
                reg.federate, identity, reg.controls, reg.participants, reg.metering
            )
            log.info(
                "federate %r registered, controls %s, represents %s",
                reg.federate,
                list(reg.controls),
                list(reg.participants),
            )
        return self.federates

    def welcome_all(self, welcome: Callable[[str], bytes]) -> None:
        """Send each registered federate its ``welcome(name)``."""
        for identity, reg in self.registrations.items():
            self._send(identity, welcome(reg.name))

    def _check_registration(self, identity: bytes, name: str, reg: Register) -> None:
        if reg.federate not in self.expected:
            raise ProtocolError(
                f"federate {reg.federate!r} is not expected ({list(self.expected)})"
            )
        if reg.federate != name:
            raise ProtocolError(f"registers as {reg.federate!r} with the key of {name!r}")
        if identity in self.registrations or reg.federate in {
            r.name for r in self.registrations.values()
        }:
            raise ProtocolError(f"federate {reg.federate!r} is already registered")
        controlled = {mg: r.name for r in self.registrations.values() for mg in r.controls}
        for mg in reg.controls:
            if mg not in self.controllable:
                raise ProtocolError(f"{mg!r} is not a microgrid with a battery")
            if mg in controlled:
                raise ProtocolError(f"{mg!r} is already controlled by {controlled[mg]!r}")
        claimed = {mg: r.name for r in self.registrations.values() for mg in r.participants}
        for mg in reg.participants:
            if mg not in self.meterable:
                raise ProtocolError(
                    f"participants names {mg!r}, not a microgrid of the run "
                    f"({sorted(self.meterable)})"
                )
            if mg in claimed:
                raise ProtocolError(f"{mg!r} is already represented by {claimed[mg]!r}")

    def exchange(self, tick: int, frame: bytes) -> dict[str, dict[str, float]]:
        """Send tick ``tick`` (its encoded ``frame``) to every federate and wait for all their
        actions; the set-points [W] by federate name."""
        for identity in self.registrations:
            self._send(identity, frame)
        answers: dict[str, dict[str, float]] = {}
        deadline = time.monotonic() + self.timeout_s
        while len(answers) < len(self.registrations):
            message = self._receive(deadline)
            if message is None:
                missing = [r.name for r in self.registrations.values() if r.name not in answers]
                raise FederateTimeoutError(missing, tick, self.timeout_s)
            identity, name, data = message
            reg = self.registrations.get(identity)
            if reg is None or reg.name != name:
                self._refuse(identity, repr(name), "not a registered federate")
                continue
            try:
                answers[reg.name] = self._check_actions(reg, tick, data, answers)
            except ProtocolError as exc:
                self._refuse(identity, repr(reg.name), str(exc))
        return answers

    @staticmethod
    def _check_actions(
        reg: Registration, tick: int, data: bytes, answers: dict[str, dict[str, float]]
    ) -> dict[str, float]:
        _, body = decode(data, (MessageType.ACTIONS,))
        actions = Actions.parse(body)
        if actions.tick != tick:
            raise ProtocolError(f"actions for tick {actions.tick}, the bus is at tick {tick}")
        if reg.name in answers:
            raise ProtocolError(f"already answered tick {tick}")
        if set(actions.setpoints_w) != set(reg.controls):
            raise ProtocolError(
                f"set-points for {sorted(actions.setpoints_w)}, "
                f"but {reg.name!r} controls {sorted(reg.controls)}"
            )
        return actions.setpoints_w

    def close(
        self, reason: str, ticks: int, readings: Mapping[str, SignedReading] | None = None
    ) -> None:
        """Tell every federate the run ended, with the readings of the last step (best
        effort), and close the socket."""
        frame = end_message(reason, ticks, readings)
        for identity in self.registrations:
            self._send(identity, frame)
        self._socket.close(linger=CLOSE_LINGER_MS)
        self._admission.close()
        self._context.term()
