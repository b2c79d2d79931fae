"""A federate's end of the bus (ZMQ DEALER), and the federates gridledger ships.

``FederateClient`` registers, then answers every ``tick`` with ``actions`` computed by a
policy (a function of the observation) until the simulator sends ``end``. A federate that
represents microgrids (a prosumer node) declares their participant addresses and its
Metering domain, and gets their meters' signed readings, checked against the welcome,
through ``serve``'s ``on_readings``. Policies:

- ``operator``: FED-MGDT's contract coordinator (``sim.controllers.OperatorRule``) over the
  microgrids it controls, built from the contracts the ``welcome`` message lists;
- ``monitor``: controls nothing and answers with no set-points (a prosumer node that only
  observes, or the regulator).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import zmq

from gridledger.contracts.typed import SignedReading
from gridledger.sim.controllers import Observation, OperatorRule
from gridledger.sim.curve import curve_client
from gridledger.sim.errors import FederationError, ProtocolError
from gridledger.sim.federation.keys import FederateKeys
from gridledger.sim.federation.protocol import (
    Actions,
    MessageType,
    Register,
    Welcome,
    decode,
    parse_end,
    parse_tick,
)
from gridledger.sim.meter import MeteringDomain

log = logging.getLogger("gridledger.sim.federation")

Policy = Callable[[Observation], dict[str, float]]
"""Battery set-points [W] (> 0 discharge) by microgrid for an observation."""

ReadingsSink = Callable[[dict[str, SignedReading]], None]
"""Takes the signed readings of one step by microgrid (a prosumer relays them to the chain)."""


def operator_policy(welcome: Welcome, controls: Sequence[str]) -> Policy:
    """The contract coordinator for the controlled microgrids under a contract."""
    rule = OperatorRule.for_contracts(welcome.contracts, controls, welcome.dt_s)
    uncovered = set(controls) - set(rule.microgrids)
    if uncovered:
        raise FederationError(f"the operator controls {sorted(uncovered)} without a contract")
    return rule.setpoints_w


def monitor_policy(welcome: Welcome, controls: Sequence[str]) -> Policy:
    """Observe only: no set-points."""
    if controls:
        raise FederationError(f"a monitor controls nothing, got {list(controls)}")
    return lambda obs: {}


POLICIES: dict[str, Callable[[Welcome, Sequence[str]], Policy]] = {
    "operator": operator_policy,
    "monitor": monitor_policy,
}


class FederateClient:
    """One federate connected to the bus at ``endpoint``, a CurveZMQ client with ``keys``
    (its own pair, listed under ``name`` by the bus, and the bus's public key, pinned).

    ``participants`` ({microgrid: participant address}) are the microgrids it represents,
    whose meters sign for ``metering``. ``welcome_timeout_s`` bounds the wait for the
    welcome, which comes once every federate has registered (default ``timeout_s``).
    """

    def __init__(
        self,
        endpoint: str,
        name: str,
        controls: Sequence[str] = (),
        timeout_s: float = 10.0,
        context: zmq.Context[zmq.Socket[bytes]] | None = None,
        participants: Mapping[str, str] | None = None,
        metering: MeteringDomain | None = None,
        welcome_timeout_s: float | None = None,
        *,
        keys: FederateKeys,
    ) -> None:
        self.name = name
        self.controls = tuple(controls)
        self.participants = dict(participants or {})
        self.metering = metering
        self.timeout_s = timeout_s
        self.welcome_timeout_s = timeout_s if welcome_timeout_s is None else welcome_timeout_s
        self.welcome: Welcome | None = None
        self._socket = (context or zmq.Context.instance()).socket(zmq.DEALER)
        self._socket.setsockopt(zmq.LINGER, 200)
        curve_client(self._socket, keys.own, keys.bus_public_z85)
        self._socket.connect(endpoint)

    def send(self, frame: bytes) -> None:
        """Send one raw frame (tests use it to send malformed messages)."""
        self._socket.send(frame)

    def receive(
        self, expected: tuple[MessageType, ...], timeout_s: float | None = None
    ) -> tuple[MessageType, dict[str, Any]]:
        """The next message of an expected type within ``timeout_s`` [s] (default
        ``timeout_s``); ``refused`` notices are logged and skipped."""
        wait_s = self.timeout_s if timeout_s is None else timeout_s
        while True:
            try:  # the next tick is often queued already: skip the poll system call
                frame = self._socket.recv(zmq.NOBLOCK)
            except zmq.Again:
                if not self._socket.poll(max(1, int(wait_s * 1000)), zmq.POLLIN):
                    raise FederationError(
                        f"{self.name}: no message from the simulator within {wait_s:g} s"
                    ) from None
                frame = self._socket.recv(zmq.NOBLOCK)
            msg_type, body = decode(frame, (*expected, MessageType.REFUSED))
            if msg_type is not MessageType.REFUSED:
                return msg_type, body
            log.warning("%s: the simulator refused a message: %s", self.name, body.get("reason"))

    def register(self) -> Welcome:
        """Join the run; the simulator's description of it."""
        reg = Register(self.name, self.controls, self.participants, self.metering)
        self.send(reg.encode())
        msg_type, body = self.receive(
            (MessageType.WELCOME, MessageType.END), self.welcome_timeout_s
        )
        if msg_type is MessageType.END:
            raise FederationError(
                f"{self.name}: the run ended before it began: {parse_end(body).reason}"
            )
        welcome = Welcome.parse(body)
        if welcome.federate != self.name:
            raise ProtocolError(f"a welcome for {welcome.federate!r}, this is {self.name!r}")
        mine = {mg: a for mg, a in welcome.participants.items() if mg in self.participants}
        if mine != self.participants:
            raise ProtocolError(
                f"the welcome meters {sorted(mine)} of the microgrids {self.name!r} "
                f"represents, {sorted(self.participants)}"
            )
        self.welcome = welcome
        return welcome

    def _check_readings(self, readings: dict[str, SignedReading]) -> dict[str, SignedReading]:
        """The readings, if they come from the meters and participants the welcome named."""
        if self.welcome is None:
            raise FederationError(f"{self.name}: readings before the welcome")
        for mg, signed in readings.items():
            meter = self.welcome.meters.get(mg)
            if meter is None:
                raise ProtocolError(f"readings.{mg}: the welcome named no meter for {mg!r}")
            if (signed.reading.meter, signed.reading.participant) != (
                meter,
                self.welcome.participants[mg],
            ):
                raise ProtocolError(
                    f"readings.{mg}: meter {signed.reading.meter} for participant "
                    f"{signed.reading.participant}, the welcome named meter {meter} for "
                    f"{self.welcome.participants[mg]}"
                )
        return readings

    def serve(self, policy: Policy, on_readings: ReadingsSink | None = None) -> int:
        """Answer ticks with ``policy`` until ``end``, passing each non-empty set of signed
        readings (those of ticks and of ``end``) to ``on_readings``; the ticks answered."""
        answered = 0
        while True:
            msg_type, body = self.receive((MessageType.TICK, MessageType.END))
            if msg_type is MessageType.END:
                end = parse_end(body)
                if end.readings and on_readings is not None:
                    on_readings(self._check_readings(end.readings))
                log.info("%s: run ended (%s)", self.name, end.reason)
                return answered
            tick = parse_tick(body)
            if tick.readings and on_readings is not None:
                on_readings(self._check_readings(tick.readings))
            obs = tick.observation
            self.send(Actions(obs.tick, policy(obs)).encode())
            answered += 1

    def close(self) -> None:
        self._socket.close()


def run_federate(
    endpoint: str,
    name: str,
    role: str,
    controls: Sequence[str] = (),
    timeout_s: float = 10.0,
    welcome_timeout_s: float | None = None,
    *,
    keys: FederateKeys,
) -> int:
    """Register as ``name`` (with its Curve ``keys``) with policy ``role`` (``POLICIES``) and
    serve the whole run; wait up to ``welcome_timeout_s`` [s] (default ``timeout_s``) for the
    others to register."""
    client = FederateClient(
        endpoint, name, controls, timeout_s, welcome_timeout_s=welcome_timeout_s, keys=keys
    )
    try:
        welcome = client.register()
        return client.serve(POLICIES[role](welcome, controls))
    finally:
        client.close()
