"""A federate's end of the bus (ZMQ DEALER), and the federates gridledger ships.

``FederateClient`` registers, then answers every ``tick`` with ``actions`` computed by a
policy (a function of the observation) until the simulator sends ``end``. Policies:

- ``operator``: FED-MGDT's contract coordinator (``sim.controllers.OperatorRule``) over the
  microgrids it controls, built from the contracts the ``welcome`` message lists;
- ``monitor``: controls nothing and answers with no set-points (a prosumer node that only
  observes, or the regulator).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import zmq

from sim.controllers import Observation, OperatorRule
from sim.errors import FederationError, ProtocolError
from sim.federation.protocol import (
    Actions,
    MessageType,
    Register,
    decode,
    parse_tick,
)
from sim.scenario import CapContract

log = logging.getLogger("sim.federation")

Policy = Callable[[Observation], dict[str, float]]
"""Battery set-points [W] (> 0 discharge) by microgrid for an observation."""


@dataclass(frozen=True, slots=True)
class Welcome:
    """What the simulator told a federate about the run."""

    scenario: str
    dt_s: int
    n_steps: int
    start_ts: int
    microgrids: dict[str, bool]
    contracts: tuple[CapContract, ...]

    @classmethod
    def parse(cls, body: dict[str, Any]) -> Welcome:
        try:
            contracts = tuple(
                CapContract(
                    name=f"{c['microgrid']}-cap",
                    microgrid=str(c["microgrid"]),
                    cap_w=float(c["cap_w"]),
                    window_start_s=int(c["window_start_s"]),
                    window_end_s=int(c["window_end_s"]),
                )
                for c in body["contracts"]
            )
            return cls(
                scenario=str(body["scenario"]),
                dt_s=int(body["dt_s"]),
                n_steps=int(body["n_steps"]),
                start_ts=int(body["start_ts"]),
                microgrids={str(k): bool(v) for k, v in body["microgrids"].items()},
                contracts=contracts,
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ProtocolError(f"malformed welcome: {exc!r}") from None


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
    """One federate connected to the bus at ``endpoint``."""

    def __init__(
        self,
        endpoint: str,
        name: str,
        controls: Sequence[str] = (),
        timeout_s: float = 10.0,
        context: zmq.Context[zmq.Socket[bytes]] | None = None,
    ) -> None:
        self.name = name
        self.controls = tuple(controls)
        self.timeout_s = timeout_s
        self._socket = (context or zmq.Context.instance()).socket(zmq.DEALER)
        self._socket.setsockopt(zmq.LINGER, 200)
        self._socket.setsockopt(zmq.RCVTIMEO, max(1, int(timeout_s * 1000)))
        self._socket.connect(endpoint)

    def send(self, frame: bytes) -> None:
        """Send one raw frame (tests use it to send malformed messages)."""
        self._socket.send(frame)

    def receive(self, expected: tuple[MessageType, ...]) -> tuple[MessageType, dict[str, Any]]:
        """The next message of an expected type; ``refused`` notices are logged and skipped."""
        while True:
            try:
                frame = self._socket.recv()
            except zmq.Again:
                raise FederationError(
                    f"{self.name}: no message from the simulator within {self.timeout_s:g} s"
                ) from None
            msg_type, body = decode(frame, (*expected, MessageType.REFUSED))
            if msg_type is not MessageType.REFUSED:
                return msg_type, body
            log.warning("%s: the simulator refused a message: %s", self.name, body.get("reason"))

    def register(self) -> Welcome:
        """Join the run; the simulator's description of it."""
        self.send(Register(self.name, self.controls).encode())
        _, body = self.receive((MessageType.WELCOME,))
        body.pop("federate", None)
        return Welcome.parse(body)

    def serve(self, policy: Policy) -> int:
        """Answer ticks with ``policy`` until ``end``; the number of ticks answered."""
        answered = 0
        while True:
            msg_type, body = self.receive((MessageType.TICK, MessageType.END))
            if msg_type is MessageType.END:
                log.info("%s: run ended (%s)", self.name, body.get("reason"))
                return answered
            obs = parse_tick(body)
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
) -> int:
    """Register as ``name`` with policy ``role`` (``POLICIES``) and serve the whole run."""
    client = FederateClient(endpoint, name, controls, timeout_s)
    try:
        welcome = client.register()
        return client.serve(POLICIES[role](welcome, controls))
    finally:
        client.close()
