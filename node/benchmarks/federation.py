"""Speed of the federation bus against HELICS, and of a standalone fedmgdt day.

Workload: the fedmgdt day (1,440 one-minute ticks, 3 microgrids, run E2) in lockstep with
4 federates, each in its own process: the operator (dispatching MG1 against its cap over
the bus) and three monitoring nodes. Baseline in the same run: HELICS (pip ``helics``,
ZMQ core, broker in this process) with the same topology, 1 simulator federate + 4
federates in their own processes, the same number of steps and trivial work: the
simulator publishes the tick, each federate reads it and publishes an answer, the simulator
reads the 4 answers before the next step (time offset 1 s on the federates, so each step
is a true barrier; the benchmark checks every answer belongs to its step).

Figures (median of ``repeats`` runs; setup and process start-up excluded from both):
- ``ticks_per_s.*``: lockstep ticks per second;
- ``step_overhead_us.gridledger``: per tick, lockstep time minus the model's own stepping
  time (measured standalone), i.e. what the bus costs; ``step_overhead_us.helics``: per
  step of HELICS with trivial work; ``ratio`` = gridledger / helics (goal: <= 1);
- ``standalone_day_s``: one fedmgdt run without a bus (model built, stepped, tables made);
  ``standalone_day_with_outputs_s`` also writes CSV, Parquet and the three PNGs.
"""

from __future__ import annotations

import dataclasses
import importlib
import multiprocessing
import queue
import socket
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gridledger.sim.federation.federate import run_federate
from gridledger.sim.federation.keys import FederateKeys
from gridledger.sim.federation.protocol import (
    Actions,
    MessageType,
    decode,
    tick_message,
    welcome_message,
)
from gridledger.sim.federation.session import open_bus, run_lockstep
from gridledger.sim.model import GridModel
from gridledger.sim.runner import run_scenario, simulate_run, tables_of
from gridledger.sim.scenario import Scenario
from gridledger.sim.scenarios import resolve

RUN = "E2"
FEDERATES = ("operator", "node-mg1", "node-mg2", "node-mg3")
DT_S = 60.0
HELICS_TIMEOUT_S = 300.0
"""Upper bound on one HELICS baseline run, start-up included [s]."""
Progress = Callable[[str], None]


def _scenario(steps: int) -> Scenario:
    return dataclasses.replace(resolve("fedmgdt"), n_steps=steps)


def _federate_process(endpoint: str, name: str, keys: FederateKeys, cpu_s: Any) -> None:
    started = time.process_time()  # after the imports: CPU of registering and serving
    if name == "operator":
        run_federate(endpoint, name, "operator", ["MG1"], 60.0, keys=keys)
    else:
        run_federate(endpoint, name, "monitor", [], 60.0, keys=keys)
    cpu_s.put(time.process_time() - started)


@dataclasses.dataclass(frozen=True, slots=True)
class LockstepTiming:
    """One federated run: wall time of the lockstep loop and CPU time spent [s]."""

    wall_s: float
    simulator_cpu_s: float  # this process: model, codec, its ZMQ I/O thread
    federates_cpu_s: float  # the 4 federate processes, registering and serving


def measure_gridledger(steps: int, endpoint: str = "tcp://127.0.0.1:*") -> LockstepTiming:
    """The lockstep loop for ``steps`` ticks with the 4 federates in their own processes."""
    scenario = _scenario(steps)
    bus = open_bus(scenario, endpoint, list(FEDERATES), 60.0, register_timeout_s=120.0)
    ctx = multiprocessing.get_context("spawn")
    cpu_s = ctx.Queue()
    procs = [
        ctx.Process(target=_federate_process, args=(bus.endpoint, n, bus.keys.federate(n), cpu_s))
        for n in FEDERATES
    ]
    for proc in procs:
        proc.start()
    model = GridModel(scenario.for_run(RUN))
    try:
        bus.register_all(lambda name: welcome_message(name, model.scenario))
        started, started_cpu = time.perf_counter(), time.process_time()
        run_lockstep(model, bus)
        wall_s = time.perf_counter() - started
        simulator_cpu_s = time.process_time() - started_cpu
    finally:
        bus.close("complete", model.tick)
        federates_cpu_s = sum(cpu_s.get(timeout=30.0) for _ in procs) if model.done else 0.0
        _reap(procs)
    if not model.done or any(p.exitcode != 0 for p in procs):
        raise RuntimeError(f"federated run incomplete: tick {model.tick}, {procs}")
    return LockstepTiming(wall_s, simulator_cpu_s, federates_cpu_s)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _helics_federate(h: Any, name: str, port: int, offset_s: float) -> Any:
    fi = h.helicsCreateFederateInfo()
    h.helicsFederateInfoSetCoreTypeFromString(fi, "zmq")
    h.helicsFederateInfoSetCoreInitString(
        fi, f"--federates=1 --broker_address=tcp://127.0.0.1:{port}"
    )
    h.helicsFederateInfoSetTimeProperty(fi, h.HELICS_PROPERTY_TIME_PERIOD, DT_S)
    h.helicsFederateInfoSetTimeProperty(fi, h.HELICS_PROPERTY_TIME_OFFSET, offset_s)
    h.helicsFederateInfoSetIntegerProperty(
        fi, h.HELICS_PROPERTY_INT_LOG_LEVEL, h.HELICS_LOG_LEVEL_ERROR
    )
    return h.helicsCreateValueFederate(name, fi)


def _helics_follower(index: int, port: int, steps: int) -> None:
    h = importlib.import_module("helics")
    fed = _helics_federate(h, f"fed{index}", port, offset_s=1.0)
    sub = h.helicsFederateRegisterSubscription(fed, "sim/tick", "")
    pub = h.helicsFederateRegisterGlobalTypePublication(fed, f"fed{index}/action", "double", "")
    h.helicsFederateEnterExecutingMode(fed)
    for k in range(steps):
        h.helicsFederateRequestTime(fed, k * DT_S + 1.0)
        h.helicsPublicationPublishDouble(pub, h.helicsInputGetDouble(sub))
    h.helicsFederateDisconnect(fed)
    h.helicsFederateFree(fed)


def _helics_simulator(port: int, steps: int, n: int, results: Any) -> None:
    h = importlib.import_module("helics")
    broker = h.helicsCreateBroker("zmq", "", f"-f {n + 1} --localport={port} --loglevel=error")
    fed = _helics_federate(h, "sim", port, offset_s=0.0)
    pub = h.helicsFederateRegisterGlobalTypePublication(fed, "sim/tick", "double", "")
    subs = [h.helicsFederateRegisterSubscription(fed, f"fed{i}/action", "") for i in range(n)]
    h.helicsFederateEnterExecutingMode(fed)
    out_of_step = 0
    started = time.perf_counter()
    for k in range(steps):
        h.helicsPublicationPublishDouble(pub, float(k))
        h.helicsFederateRequestTime(fed, (k + 1) * DT_S)
        out_of_step += sum(h.helicsInputGetDouble(s) != float(k) for s in subs)
    results.put((time.perf_counter() - started, out_of_step))
    h.helicsFederateDisconnect(fed)
    h.helicsFederateFree(fed)
    h.helicsBrokerDisconnect(broker)
    h.helicsBrokerFree(broker)


def measure_helics(steps: int) -> float:
    """Seconds HELICS takes for ``steps`` lockstep steps of 1 + 4 federates, trivial work.

    Every HELICS federate, the simulator and its broker included, runs in a child process:
    HELICS calls block without a time limit, so a failed start (a port taken, a federate
    that never joins) is bounded here by ``HELICS_TIMEOUT_S`` and the children are killed.
    """
    port = _free_port()
    n = len(FEDERATES)
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    procs = [ctx.Process(target=_helics_simulator, args=(port, steps, n, results))]
    procs += [ctx.Process(target=_helics_follower, args=(i, port, steps)) for i in range(n)]
    for proc in procs:
        proc.start()
    try:
        elapsed, out_of_step = results.get(timeout=HELICS_TIMEOUT_S)
    except queue.Empty:
        raise RuntimeError(f"HELICS baseline did not finish in {HELICS_TIMEOUT_S} s") from None
    finally:
        _reap(procs)
    if out_of_step:
        raise RuntimeError(f"HELICS baseline was not in lockstep ({out_of_step} stale answers)")
    return float(elapsed)


def _reap(procs: list[Any]) -> None:
    """Join child processes; kill any still running after a grace period."""
    for proc in procs:
        proc.join(timeout=15.0)
        if proc.is_alive():
            proc.kill()
            proc.join()


def measure_standalone(steps: int, repeats: int) -> dict[str, float]:
    """Standalone day [s] (with and without writing outputs) and the model's step [us]."""
    scenario = _scenario(steps)
    day_s, step_s, outputs_s = [], [], []
    for _ in range(repeats):
        started = time.perf_counter()
        model = simulate_run(scenario, RUN)
        tables_of([(RUN, model)])
        day_s.append(time.perf_counter() - started)
        model = GridModel(scenario.for_run(RUN))
        started = time.perf_counter()
        model.run_builtin()
        step_s.append(time.perf_counter() - started)
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            run_scenario(scenario, Path(tmp), [RUN], show_progress=False)
            outputs_s.append(time.perf_counter() - started)
    return {
        "standalone_day_s": statistics.median(day_s),
        "standalone_day_with_outputs_s": statistics.median(outputs_s),
        "model_step_us": statistics.median(step_s) / steps * 1e6,
    }


def measure_codec_us(steps: int) -> float:
    """Encoding a tick and decoding 4 answers, per tick [us] (part of the bus's cost)."""
    model = GridModel(_scenario(steps).for_run(RUN))
    answers = [Actions(0, {"MG1": 1234.5}).encode()] + [Actions(0, {}).encode()] * 3

    started = time.perf_counter()
    while not model.done:
        tick_message(model.observe())
        for frame in answers:
            Actions.parse(decode(frame, (MessageType.ACTIONS,))[1])
        model.step({"MG1": 0.0})
    return (time.perf_counter() - started) / steps * 1e6


def measure(
    steps: int = 1440, repeats: int = 3, helics: bool = True, progress: Progress = print
) -> dict[str, Any]:
    """All figures; see the module docstring."""
    progress(f"standalone fedmgdt day ({steps} ticks) x {repeats}")
    standalone = measure_standalone(steps, repeats)
    progress(f"gridledger lockstep: 4 federate processes over tcp loopback, x {repeats}")
    runs = sorted((measure_gridledger(steps) for _ in range(repeats)), key=lambda r: r.wall_s)
    ours = runs[len(runs) // 2]
    progress(f"gridledger lockstep over ipc, x {repeats}")
    with tempfile.TemporaryDirectory() as tmp:
        ipc_s = statistics.median(
            measure_gridledger(steps, f"ipc://{tmp}/bus").wall_s for _ in range(repeats)
        )
    theirs_s = float("nan")
    if helics:
        progress(f"HELICS lockstep: 1 + 4 federate processes, ZMQ core, x {repeats}")
        theirs_s = statistics.median(measure_helics(steps) for _ in range(repeats))
    overhead_us = ours.wall_s / steps * 1e6 - standalone["model_step_us"]
    helics_us = theirs_s / steps * 1e6
    return {
        "steps": steps,
        "microgrids": 3,
        "federates": len(FEDERATES),
        "repeats": repeats,
        "ticks_per_s": {"gridledger": steps / ours.wall_s, "helics": steps / theirs_s},
        "step_us": {
            "gridledger": ours.wall_s / steps * 1e6,
            "gridledger_ipc": ipc_s / steps * 1e6,
            "helics": helics_us,
        },
        "step_overhead_us": {"gridledger": overhead_us, "helics": helics_us},
        "ratio": overhead_us / helics_us,
        "cpu_us_per_tick": {
            "simulator_process": ours.simulator_cpu_s / steps * 1e6,
            "federate_processes": ours.federates_cpu_s / steps * 1e6,
            "codec_in_simulator": measure_codec_us(steps),
        },
        **standalone,
    }
