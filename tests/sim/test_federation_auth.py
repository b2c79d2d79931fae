"""The bus admits only the run's federates (CurveZMQ with an allow-list), each under the name
its key is listed with, once; the run's keys on disk."""

from __future__ import annotations

import json
import logging
import os
import stat
from pathlib import Path
from typing import Any

import pytest
import zmq

from gridledger.sim.curve import CurveKeys
from gridledger.sim.errors import CurveKeyError, FederationError
from gridledger.sim.federation.federate import FederateClient
from gridledger.sim.federation.keys import (
    BusKeys,
    FederateKeys,
    create_or_load,
    load_federate_keys,
)
from gridledger.sim.federation.protocol import MessageType, Register
from gridledger.sim.federation.session import open_bus, run_federated
from gridledger.sim.scenario_load import scenario_from_dict
from tests.sim import federates
from tests.sim.federates import start_thread
from tests.sim.scenario_helpers import tiny_doc

LOOPBACK = "tcp://127.0.0.1:*"


def _tiny() -> Any:
    return scenario_from_dict(tiny_doc(n_steps=4))


def test_a_stranger_gets_no_connection_and_cannot_take_a_name(
    caplog: pytest.LogCaptureFixture,
) -> None:
    scenario = _tiny()
    bus = open_bus(scenario, LOOPBACK, ["ctl"], timeout_s=5.0)
    sim = start_thread(run_federated, scenario, "base", bus, None)
    stranger_keys = FederateKeys(CurveKeys.generate(), bus.keys.bus.public_z85)
    stranger = FederateClient(bus.endpoint, "ctl", ("A",), 0.5, keys=stranger_keys)
    plain = zmq.Context.instance().socket(zmq.DEALER)  # no Curve at all
    plain.setsockopt(zmq.LINGER, 0)
    plain.connect(bus.endpoint)
    with caplog.at_level(logging.WARNING, logger="gridledger.sim.federation"):
        stranger.send(Register("ctl", ("A",)).encode())
        plain.send(Register("ctl", ("A",)).encode())
        with pytest.raises(FederationError, match=r"no message from the simulator within 0\.5 s"):
            stranger.register()
        sent: list[Any] = []
        federates.recording_federate(bus, "ctl", ["A"], sent)  # the real one, after them
    sim.join(timeout=5.0)
    stranger.close()
    plain.close()
    assert len(sent) == 4 and [r.name for r in bus.federates] == ["ctl"]
    assert bus.refused == 0  # no frame of theirs reached the bus
    assert bus.refused_connections >= 1
    stranger_z85 = stranger_keys.own.public_z85.decode()
    assert f"Curve key {stranger_z85} is not a federate of this run" in caplog.text


def test_a_federate_registers_only_under_its_own_name_and_once() -> None:
    scenario = _tiny()
    bus = open_bus(scenario, LOOPBACK, ["n1", "n2"], timeout_s=5.0)
    sim = start_thread(run_federated, scenario, "base", bus, None)
    n1 = FederateClient(bus.endpoint, "n1", (), 5.0, keys=bus.keys.federate("n1"))
    n1.send(Register("n2", ()).encode())  # n2's name with n1's key
    first = json.loads(n1._socket.recv())
    n1.send(Register("n1", ()).encode())
    n1.send(Register("n1", ()).encode())  # twice
    second = json.loads(n1._socket.recv())
    assert (first["reason"], second["reason"]) == (
        "registers as 'n2' with the key of 'n1'",
        "federate 'n1' is already registered",
    )
    n2 = start_thread(federates.serve, bus, "n2", "monitor", [], 5.0)
    n1.receive((MessageType.WELCOME,))
    assert n1.serve(lambda obs: {}) == 4
    for thread in (n2, sim):
        thread.join(timeout=5.0)
    n1.close()
    assert [r.name for r in bus.federates] == ["n1", "n2"] and bus.refused == 2


def test_the_runs_keys_are_created_once_private_and_checked(tmp_path: Path) -> None:
    key_dir = tmp_path / "keys"
    keys = create_or_load(key_dir, ["op", "node"])
    assert stat.S_IMODE(key_dir.stat().st_mode) == 0o700
    assert create_or_load(key_dir, ["op", "node"]) == keys
    assert keys.allowed() == {keys.federates["op"].public_z85: "op",
                              keys.federates["node"].public_z85: "node"}  # fmt: skip
    assert load_federate_keys(key_dir, "op") == keys.federate("op")
    assert keys.bus.secret_z85.decode() not in repr(keys)
    os.chmod(key_dir / "op.key", 0o644)
    with pytest.raises(CurveKeyError, match=r"op\.key has mode 0644 \(open to group and others\)"):
        load_federate_keys(key_dir, "op")
    with pytest.raises(CurveKeyError, match=r"nobody\.key does not exist"):
        load_federate_keys(key_dir, "nobody")
    with pytest.raises(FederationError, match=r"federate name '\.\./x' must be"):
        create_or_load(key_dir, ["../x"])
    with pytest.raises(FederationError, match="no keys for federate 'x'"):
        BusKeys.generate(["a"]).federate("x")
