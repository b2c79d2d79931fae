"""Federates for the federation tests: well-behaved, recording, lazy, rude and dying ones.

Module-level functions, so a spawned process can import them.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import zmq

from gridledger.sim.controllers import Observation
from gridledger.sim.federation.bus import FederationBus
from gridledger.sim.federation.federate import FederateClient, run_federate
from gridledger.sim.federation.keys import FederateKeys
from gridledger.sim.federation.protocol import Actions, MessageType, parse_tick
from gridledger.sim.meter import MeteringDomain

TIMEOUT_S = 10.0


def start_thread(target: Callable[..., Any], *args: Any) -> threading.Thread:
    thread = threading.Thread(target=target, args=args, daemon=True)
    thread.start()
    return thread


def recording_federate(bus: FederationBus, name: str, controls: list[str], log: list[Any]) -> None:
    """Dispatch each controlled battery at +/-1 kW alternating by tick; log what it sent."""

    def policy(obs: Observation) -> dict[str, float]:
        setpoints = {mg: (1000.0 if obs.tick % 2 else -1000.0) for mg in controls}
        log.append((obs.tick, obs.microgrids[controls[0]].e_battery_wh, setpoints))
        return setpoints

    client = FederateClient(bus.endpoint, name, controls, TIMEOUT_S, keys=bus.keys.federate(name))
    try:
        client.register()
        client.serve(policy)
    finally:
        client.close()


def lazy_federate(bus: FederationBus, name: str, answer_ticks: int) -> None:
    """Answer the first ``answer_ticks`` ticks, then stay connected and silent until ``end``."""
    client = FederateClient(bus.endpoint, name, (), TIMEOUT_S, keys=bus.keys.federate(name))
    try:
        client.register()
        while True:
            msg_type, body = client.receive((MessageType.TICK, MessageType.END))
            if msg_type is MessageType.END:
                return
            tick = parse_tick(body).observation.tick
            if tick < answer_ticks:
                client.send(Actions(tick, {}).encode())
    finally:
        client.close()


def rude_federate(bus: FederationBus, name: str, bad_at_tick: int, notices: list[str]) -> None:
    """A monitor that, at one tick, sends a series of malformed and unexpected messages before
    its valid answer; records the ``refused`` notices it gets back."""
    client = FederateClient(bus.endpoint, name, (), TIMEOUT_S, keys=bus.keys.federate(name))
    raw = client._socket  # the test looks at the raw notices, not through receive()
    try:
        client.register()
        while True:
            body = json.loads(raw.recv())
            if body["type"] == "end":
                return
            if body["type"] == "refused":
                notices.append(body["reason"])
                continue
            tick = body["tick"]
            if tick == bad_at_tick:
                for frame in bad_frames(tick):
                    client.send(frame)
            client.send(Actions(tick, {}).encode())
    finally:
        client.close()


def bad_frames(tick: int) -> list[bytes]:
    """Messages the bus must refuse at ``tick`` from a monitor federate."""
    return [
        b"\xff\xfe not json",
        b"[1, 2]",
        json.dumps({"v": 1, "type": "actions", "tick": tick, "setpoints_w": {}}).encode(),
        json.dumps(
            {
                "v": 2,
                "type": "register",
                "federate": "x",
                "controls": [],
                "participants": {},
                "metering": None,
            }
        ).encode(),
        json.dumps({"v": 2, "type": "actions", "tick": tick + 7, "setpoints_w": {}}).encode(),
        json.dumps({"v": 2, "type": "actions", "tick": tick, "setpoints_w": {"MG1": 5}}).encode(),
        b'{"v": 2, "type": "actions", "tick": 0, "setpoints_w": {"MG1": NaN}}',
        json.dumps({"v": 2, "type": "actions", "tick": tick}).encode(),
    ]


MULTI_FRAME_MESSAGES = 1500


def hostile_frames(tick: int) -> list[bytes]:
    """Messages that once aborted the run: each must get a refusal."""
    return [
        b'{"v": 2, "type": "actions", "tick": ' + b"9" * 5000 + b', "setpoints_w": {}}',
        b"[" * 30_000 + b"]" * 30_000,  # under the size limit
        b'{"v": 2, "type": "actions", "tick": %d, "setpoints_w": {"pad": "%s"}}'
        % (tick, b"x" * 70_000),
    ]


def hostile_federate(bus: FederationBus, name: str, bad_at_tick: int, notices: list[str]) -> None:
    """A monitor that, at one tick, sends `hostile_frames` and `MULTI_FRAME_MESSAGES`
    two-frame messages before its valid answer; records the ``refused`` notices."""
    client = FederateClient(bus.endpoint, name, (), TIMEOUT_S, keys=bus.keys.federate(name))
    raw = client._socket
    try:
        client.register()
        while True:
            body = json.loads(raw.recv())
            if body["type"] == "end":
                return
            if body["type"] == "refused":
                notices.append(body["reason"])
                continue
            tick = body["tick"]
            if tick == bad_at_tick:
                for frame in hostile_frames(tick):
                    client.send(frame)
                for _ in range(MULTI_FRAME_MESSAGES):
                    raw.send_multipart([b"one", b"two"])
            client.send(Actions(tick, {}).encode())
    finally:
        client.close()


def flooding_federate(bus: FederationBus, name: str, flood_s: float) -> None:
    """Registers, then answers the first tick with two-frame messages only, for `flood_s`."""
    client = FederateClient(bus.endpoint, name, (), TIMEOUT_S, keys=bus.keys.federate(name))
    raw = client._socket
    try:
        client.register()
        client.receive((MessageType.TICK,))
        until = time.monotonic() + flood_s
        while time.monotonic() < until:
            with contextlib.suppress(zmq.Again):  # the bus is gone: its queue stays full
                raw.send_multipart([b"one", b"two"], zmq.NOBLOCK)
    finally:
        client.close()


def prosumer_federate(
    bus: FederationBus,
    name: str,
    participants: dict[str, str],
    metering: MeteringDomain,
    got: dict[str, Any],
    controls: tuple[str, ...] = (),
) -> None:
    """A node representing ``participants``: records its welcome, each batch of readings it
    is handed, in order, and the ticks it answered; holds controlled batteries at rest."""
    client = FederateClient(
        bus.endpoint,
        name,
        controls,
        TIMEOUT_S,
        None,
        participants,
        metering,
        keys=bus.keys.federate(name),
    )
    got["batches"] = []
    try:
        got["welcome"] = client.register()
        got["answered"] = client.serve(
            lambda obs: {mg: 0.0 for mg in controls}, got["batches"].append
        )
    finally:
        client.close()


def dying_federate(endpoint: str, keys: FederateKeys, name: str, die_at_tick: int) -> None:
    """A monitor process that exits abruptly (no goodbye, no socket close) at a tick."""

    def policy(obs: Observation) -> dict[str, float]:
        if obs.tick == die_at_tick:
            os._exit(3)
        return {}

    client = FederateClient(endpoint, name, (), TIMEOUT_S, keys=keys)
    client.register()
    client.serve(policy)


def operator_process(endpoint: str, keys: FederateKeys) -> None:
    run_federate(endpoint, "operator", "operator", ["MG1"], TIMEOUT_S, keys=keys)


def serve(bus: FederationBus, name: str, role: str, controls: list[str], timeout_s: float) -> int:
    """`run_federate` as federate `name` of `bus`, with its keys."""
    return run_federate(bus.endpoint, name, role, controls, timeout_s, keys=bus.keys.federate(name))
