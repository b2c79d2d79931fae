"""The ZMQ federation: lockstep with real sockets on loopback, refusals, timeouts, real time."""

from __future__ import annotations

import itertools
import json
import logging
import multiprocessing
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from gridledger.sim.battery import battery_step
from gridledger.sim.errors import FederateTimeoutError, FederationError, SimError
from gridledger.sim.federation.bus import MAX_MESSAGE_BYTES
from gridledger.sim.federation.federate import FederateClient, run_federate
from gridledger.sim.federation.keys import BusKeys
from gridledger.sim.federation.protocol import MAX_NESTING
from gridledger.sim.federation.readings import metering_json
from gridledger.sim.federation.session import Pacer, open_bus, run_federated
from gridledger.sim.runner import simulate_run, tables_of
from gridledger.sim.scenario_load import scenario_from_dict
from gridledger.sim.scenarios import resolve
from tests.sim import federates
from tests.sim.federates import bad_frames, start_thread
from tests.sim.meter_helpers import DOMAIN_A, PARTICIPANT_A
from tests.sim.scenario_helpers import tiny_doc

LOOPBACK = "tcp://127.0.0.1:*"


def _tiny(n_steps: int = 24) -> Any:
    return scenario_from_dict(tiny_doc(n_steps=n_steps))


def test_lockstep_run_equals_the_standalone_run(tmp_path: Path) -> None:
    # The fedmgdt day with 3 microgrids and 4 federates: the operator dispatches MG1 from
    # the bus; three nodes only observe. Same numbers as the built-in rule, tick for tick.
    scenario = resolve("fedmgdt")
    names = ["operator", "node-mg1", "node-mg2", "node-mg3"]
    bus = open_bus(scenario, LOOPBACK, names, timeout_s=10.0, register_timeout_s=60.0)
    threads = [start_thread(federates.serve, bus, "operator", "operator", ["MG1"], 10.0)]
    threads += [start_thread(federates.serve, bus, n, "monitor", [], 10.0) for n in names[1:]]
    model = run_federated(scenario, "E2", bus, tmp_path, plots=False)
    for thread in threads:
        thread.join(timeout=10.0)
        assert not thread.is_alive()
    assert [r.name for r in sorted(bus.federates, key=lambda r: names.index(r.name))] == names
    federated, _ = tables_of([("E2", model)])
    standalone, _ = tables_of([("E2", simulate_run(scenario, "E2"))])
    pd.testing.assert_frame_equal(federated, standalone)
    written = pd.read_csv(tmp_path / "summary.csv").set_index("microgrid")
    assert written.loc["MG1", "violation_kwh"] == pytest.approx(4.109)
    assert json.loads((tmp_path / "run.json").read_text())["status"] == "complete"


def test_actions_for_t_are_applied_before_t_plus_1(tmp_path: Path) -> None:
    scenario = _tiny()
    bus = open_bus(scenario, f"ipc://{tmp_path}/bus.sock", ["ctl"], timeout_s=5.0)
    sent: list[Any] = []
    thread = start_thread(federates.recording_federate, bus, "ctl", ["A"], sent)
    model = run_federated(scenario, "base", bus, None)
    thread.join(timeout=5.0)
    # The federate saw every tick once, in order, and what it sent is what the battery got.
    assert [tick for tick, _, _ in sent] == list(range(24))
    trace = model.batteries["A"]
    np.testing.assert_array_equal(trace.p_request_w, [s["A"] for _, _, s in sent])
    # The energy it observed at t + 1 is the result of its own set-point at t.
    params = scenario.microgrid("A").battery.params(scenario.dt_s)
    for (_, e_wh, setpoints), (_, e_next_wh, _) in itertools.pairwise(sent):
        assert battery_step(params, e_wh, setpoints["A"], scenario.dt_s).e_wh == e_next_wh
    # B has no federate: its battery keeps the built-in self-consumption rule.
    assert np.any(model.batteries["B"].p_request_w != 0.0)


def test_malformed_and_unexpected_messages_are_refused_and_the_run_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    scenario = _tiny()
    bus = open_bus(scenario, LOOPBACK, ["rude", "ctl"], timeout_s=5.0)
    notices: list[str] = []
    sent: list[Any] = []
    threads = [
        start_thread(federates.rude_federate, bus, "rude", 3, notices),
        start_thread(federates.recording_federate, bus, "ctl", ["A"], sent),
    ]
    with caplog.at_level(logging.WARNING, logger="gridledger.sim.federation"):
        model = run_federated(scenario, "base", bus, None)
    for thread in threads:
        thread.join(timeout=5.0)
    assert model.done and len(sent) == 24
    assert bus.refused == len(bad_frames(3)) == 8
    expected = [
        "not a JSON message",
        "a message is a JSON object, got list",
        "protocol version 1 (this bus speaks 2)",
        "unexpected 'register' message (expected actions)",
        "actions for tick 10, the bus is at tick 3",
        "set-points for ['MG1'], but 'rude' controls []",
        "NaN is not a finite number",
        "actions: missing fields ['setpoints_w']",
    ]
    assert len(notices) == len(expected)
    for notice, start in zip(notices, expected, strict=True):
        assert notice.startswith(start), notice
    assert sum("refused a message from 'rude'" in r.getMessage() for r in caplog.records) == 8


def test_hostile_messages_are_refused_and_the_run_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # As in a process that imported py_ecc: without a depth check first, the parser's
    # recursion on deep nesting would overflow the C stack instead of raising.
    recursion_limit = sys.getrecursionlimit()
    sys.setrecursionlimit(100_000)
    scenario = _tiny()
    bus = open_bus(scenario, LOOPBACK, ["hostile", "ctl"], timeout_s=10.0)
    notices: list[str] = []
    threads = [
        start_thread(federates.hostile_federate, bus, "hostile", 2, notices),
        start_thread(federates.recording_federate, bus, "ctl", ["A"], []),
    ]
    try:
        with caplog.at_level(logging.WARNING, logger="gridledger.sim.federation"):
            model = run_federated(scenario, "base", bus, None)
    finally:
        sys.setrecursionlimit(recursion_limit)
    for thread in threads:
        thread.join(timeout=10.0)
    assert model.done
    assert bus.refused == 3 + federates.MULTI_FRAME_MESSAGES
    assert notices[0].startswith("not a JSON message: Exceeds the limit (4300 digits)")
    assert notices[1] == f"nests deeper than {MAX_NESTING} levels"
    assert notices[2].startswith("message of 70")
    assert notices[2].endswith(f"bytes, at most {MAX_MESSAGE_BYTES}")
    assert set(notices[3:]) == {"expected one frame, got 2"}
    assert len(notices) == bus.refused
    refusals = [r for r in caplog.records if "refused a message from" in r.getMessage()]
    assert len(refusals) == bus.refused


def test_a_flood_of_bad_messages_does_not_hold_the_barrier_past_its_deadline() -> None:
    bus = open_bus(_tiny(4), LOOPBACK, ["flood"], timeout_s=0.3)
    flood = start_thread(federates.flooding_federate, bus, "flood", 2.0)
    started = time.monotonic()
    with pytest.raises(FederateTimeoutError, match="federate 'flood' did not answer tick 0"):
        run_federated(_tiny(4), "base", bus, None)
    assert time.monotonic() - started < 1.5  # not until the flood stops (2 s)
    assert bus.refused > 0
    flood.join(timeout=10.0)


def test_bad_registrations_are_refused() -> None:
    scenario = _tiny(4)
    bus = open_bus(scenario, LOOPBACK, ["ctl"], timeout_s=5.0)
    sim = start_thread(run_federated, scenario, "base", bus, None)
    client = FederateClient(bus.endpoint, "x", (), 5.0, keys=bus.keys.federate("ctl"))
    none: dict[str, Any] = {"participants": {}, "metering": None}
    claim: dict[str, Any] = {
        "participants": {"Z": PARTICIPANT_A},
        "metering": metering_json(DOMAIN_A),
    }
    attempts: list[tuple[dict[str, Any], str]] = [
        ({"federate": "intruder", "controls": [], **none}, "federate 'intruder' is not expected"),
        ({"federate": "ctl", "controls": ["B", "nope"], **none}, "'nope' is not a microgrid with"),
        ({"federate": "ctl", "controls": ["A", "A"], **none}, "controls lists a microgrid twice"),
        ({"federate": "ctl", **none}, "register: missing fields ['controls']"),
        (
            {"federate": "ctl", "controls": [], **claim},
            "participants names 'Z', not a microgrid of the run (['A', 'B'])",
        ),
        (
            {"federate": "ctl", "controls": [], **claim, "metering": None},
            "participants need metering",
        ),
        (
            {"federate": "ctl", "controls": [], **claim, "participants": {"A": "0x" + "ab" * 20}},
            "participants.A is not EIP-55 checksummed: got 0xabab",
        ),
    ]
    for fields, reason in attempts:
        client.send(json.dumps({"v": 2, "type": "register", **fields}).encode())
        notice = json.loads(client._socket.recv())
        assert notice["type"] == "refused" and notice["reason"].startswith(reason), notice
    sent: list[Any] = []
    federates.recording_federate(bus, "ctl", ["A"], sent)
    sim.join(timeout=5.0)
    client.close()
    assert bus.refused == len(attempts) and len(sent) == 4
    assert [r.name for r in bus.federates] == ["ctl"]


def test_a_federate_that_never_registers_is_named() -> None:
    bus = open_bus(_tiny(4), LOOPBACK, ["here", "absent"], timeout_s=0.5)
    errors: list[Exception] = []

    def here() -> None:
        try:
            federates.serve(bus, "here", "monitor", [], 5.0)
        except FederationError as exc:
            errors.append(exc)

    thread = start_thread(here)
    with pytest.raises(FederateTimeoutError, match="federate 'absent' did not register within"):
        run_federated(_tiny(4), "base", bus, None)
    thread.join(timeout=5.0)
    assert not thread.is_alive()  # told the run ended, while it waited for its welcome
    assert [str(e) for e in errors] == [
        "here: the run ended before it began: stopped at tick 0: federate 'absent' did not "
        "register within 0.5 s; the run stopped"
    ]


def test_a_silent_federate_stops_the_run_and_the_ticks_so_far_are_written(tmp_path: Path) -> None:
    scenario = _tiny()
    bus = open_bus(scenario, LOOPBACK, ["ok", "lazy"], timeout_s=0.5, register_timeout_s=10.0)
    threads = [
        start_thread(federates.serve, bus, "ok", "monitor", [], 5.0),
        start_thread(federates.lazy_federate, bus, "lazy", 5),
    ]
    with pytest.raises(FederateTimeoutError) as info:
        run_federated(scenario, "base", bus, tmp_path)
    assert (info.value.federates, info.value.tick) == (("lazy",), 5)
    assert str(info.value) == "federate 'lazy' did not answer tick 5 within 0.5 s; the run stopped"
    for thread in threads:
        thread.join(timeout=5.0)
        assert not thread.is_alive()
    ticks = pd.read_csv(tmp_path / "ticks.csv")
    assert sorted(ticks["tick"].unique()) == [0, 1, 2, 3, 4]
    status = json.loads((tmp_path / "run.json").read_text())["status"]
    assert status.startswith("stopped at tick 5: federate 'lazy' did not answer tick 5")


def test_a_federate_process_that_dies_is_named(tmp_path: Path) -> None:
    scenario = resolve("fedmgdt")
    # Spawned processes may take long to start on a loaded machine: a generous registration
    # timeout, a short one per tick.
    bus = open_bus(scenario, LOOPBACK, ["operator", "doomed"], 2.0, register_timeout_s=120.0)
    ctx = multiprocessing.get_context("spawn")
    procs = [
        ctx.Process(
            target=federates.operator_process, args=(bus.endpoint, bus.keys.federate("operator"))
        ),
        ctx.Process(
            target=federates.dying_federate,
            args=(bus.endpoint, bus.keys.federate("doomed"), "doomed", 100),
        ),
    ]
    for proc in procs:
        proc.start()
    try:
        with pytest.raises(FederateTimeoutError, match="federate 'doomed' did not answer tick 100"):
            run_federated(scenario, "E1", bus, tmp_path, plots=False)
    finally:
        for proc in procs:
            proc.join(timeout=10.0)
            if proc.is_alive():
                proc.kill()
    assert procs[1].exitcode == 3 and procs[0].exitcode == 0
    assert len(pd.read_csv(tmp_path / "ticks.csv")) == 100 * 3


def test_pacer_holds_each_tick_until_its_wall_clock_time() -> None:
    now = [100.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    pacer = Pacer(dt_s=60, speed=120.0, clock=lambda: now[0], sleep=sleep)
    pacer.wait(0)
    now[0] += 0.1  # work takes 0.1 s of the 0.5 s a tick may take
    pacer.wait(1)
    now[0] += 0.7  # a slow tick: the next one is due already, no sleep
    pacer.wait(2)
    pacer.wait(3)
    assert slept == pytest.approx([0.4, 0.3])
    with pytest.raises(SimError, match="speed must be > 0"):
        Pacer(dt_s=60, speed=0.0)


def test_real_time_mode_paces_a_federated_run() -> None:
    scenario = _tiny(10)  # dt 1800 s at speed 90,000: 20 ms per tick
    bus = open_bus(scenario, LOOPBACK, ["ctl"], timeout_s=5.0)
    sent: list[Any] = []
    thread = start_thread(federates.recording_federate, bus, "ctl", ["A"], sent)
    started = time.monotonic()
    run_federated(scenario, "base", bus, None, realtime_speed=90_000.0)
    elapsed = time.monotonic() - started
    thread.join(timeout=5.0)
    assert len(sent) == 10 and elapsed >= 9 * 0.02


def test_a_federate_without_a_simulator_gives_up_with_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(
        FederationError, match=r"lonely: no message from the simulator within 0\.2 s"
    ):
        keys = BusKeys.generate(["lonely"]).federate("lonely")
        run_federate(f"ipc://{tmp_path}/nobody", "lonely", "monitor", [], 0.2, keys=keys)
