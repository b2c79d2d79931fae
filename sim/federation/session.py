"""A federated run: the model stepped in lockstep with federates over the bus.

Once every federate has registered, the session gives each microgrid a federate represents
a signing meter (``sim.federation.metering``) and welcomes the federates. For each tick t
it observes the model, publishes tick t (with the signed readings of step t - 1) on the
bus, waits for every federate's actions for t (the time barrier), applies them (batteries
no federate controls keep their built-in rule) and only then advances to t + 1; the ``end``
message carries the last step's readings. In real-time mode a ``Pacer`` holds tick t back
until ``t * dt_s / speed`` wall-clock seconds after the first.

If the bus fails (a federate does not answer in time), the run stops: the completed ticks
are written like a finished run's, with ``run.json`` saying why it stopped.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from gridledger.contracts.typed import SignedReading
from gridledger.sim.errors import FederationError, SimError
from gridledger.sim.federation.bus import FederationBus
from gridledger.sim.federation.keys import BusKeys, create_or_load
from gridledger.sim.federation.metering import RunMeters
from gridledger.sim.federation.protocol import tick_message, welcome_message
from gridledger.sim.model import GridModel
from gridledger.sim.runner import write_outputs
from gridledger.sim.scenario import Scenario

log = logging.getLogger("gridledger.sim.federation")


@dataclass(slots=True)
class Pacer:
    """Holds tick k until ``k * dt_s / speed`` [s] of wall clock after tick 0.

    ``speed`` is simulated seconds per wall-clock second (1 = real time, 60 = a minute per
    second). ``clock`` and ``sleep`` are injectable for tests.
    """

    dt_s: float
    speed: float
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _t0: float | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if not self.speed > 0:
            raise SimError(f"real-time speed must be > 0, got {self.speed}")

    def wait(self, tick: int) -> None:
        """Sleep until tick ``tick`` is due."""
        now = self.clock()
        if self._t0 is None:
            self._t0 = now - tick * self.dt_s / self.speed
        delay = self._t0 + tick * self.dt_s / self.speed - now
        if delay > 0:
            self.sleep(delay)


def run_lockstep(
    model: GridModel,
    bus: FederationBus,
    pacer: Pacer | None = None,
    progress: Callable[[int], None] | None = None,
    meters: RunMeters | None = None,
) -> dict[str, SignedReading]:
    """Step ``model`` to the end in lockstep with the bus's registered federates, each tick
    carrying the ``meters``' readings of the step before; the last step's readings.

    Raises ``FederationError`` (the model keeps the ticks completed so far).
    """
    readings: dict[str, SignedReading] = {}
    while not model.done:
        if pacer is not None:
            pacer.wait(model.tick)
        obs = model.observe()
        answers = bus.exchange(obs.tick, tick_message(obs, readings))
        setpoints = model.builtin_setpoints_w(obs)
        for federate_setpoints in answers.values():
            setpoints.update(federate_setpoints)
        model.step(setpoints)
        if meters is not None:
            readings = meters.read_step(model, obs.tick)
        if progress is not None:
            progress(1)
    return readings


def open_bus(
    scenario: Scenario,
    endpoint: str,
    federates: list[str],
    timeout_s: float,
    register_timeout_s: float | None = None,
    keys: BusKeys | None = None,
) -> FederationBus:
    """A bus for ``scenario`` whose batteries federates may control and whose microgrids
    they may represent; ``timeout_s`` [s] per tick, ``register_timeout_s`` [s] for all
    registrations (default ``timeout_s``). ``keys`` are the run's Curve keys (default: fresh
    ones in memory, for federates in this process: ``bus.keys.federate(name)``)."""
    batteries = [mg.name for mg in scenario.microgrids if mg.battery is not None]
    return FederationBus(
        endpoint,
        federates,
        batteries,
        timeout_s,
        register_timeout_s,
        meterable=[mg.name for mg in scenario.microgrids],
        keys=keys if keys is not None else BusKeys.generate(federates),
    )


def run_federated(
    scenario: Scenario,
    run: str,
    bus: FederationBus,
    out_dir: Path | None,
    realtime_speed: float | None = None,
    plots: bool = True,
    progress: Callable[[int], None] | None = None,
    start_ts: int | None = None,
) -> GridModel:
    """Register the bus's federates, meter the microgrids they represent, run ``run`` of
    ``scenario`` in lockstep (from ``start_ts`` [unix s] instead of the scenario's, if
    given), write outputs (also when the bus fails, then re-raise) and close the bus."""
    if start_ts is not None:
        scenario = scenario.with_start_ts(start_ts)
    run_scenario_ = scenario.for_run(run)
    model = GridModel(run_scenario_)
    pacer = Pacer(scenario.dt_s, realtime_speed) if realtime_speed is not None else None
    status = "complete"
    last_readings: dict[str, SignedReading] = {}
    try:
        meters = RunMeters(run_scenario_, bus.await_registrations())
        bus.welcome_all(
            lambda name: welcome_message(name, run_scenario_, meters.addresses, meters.participants)
        )
        last_readings = run_lockstep(model, bus, pacer, progress, meters)
    except FederationError as exc:
        status = f"stopped at tick {model.tick}: {exc}"
        log.error("%s", status)
        raise
    finally:
        bus.close(status, model.tick, last_readings)
        if out_dir is not None:
            write_outputs(out_dir, scenario, [(run, model)], status=status, plots=plots)
    return model


def run_federated_cli(scenario: Scenario, out_dir: Path, args: argparse.Namespace) -> int:
    """``sim run --federation``: one run in lockstep with the named federates."""
    runs = args.run or [scenario.default_runs[0]]
    if len(runs) != 1:
        print("error: a federated run takes one --run", file=sys.stderr)
        return 2
    names = [n.strip() for n in args.federates.split(",") if n.strip()]
    if not names:
        print("error: --federation needs --federates NAME[,NAME...]", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    key_dir = args.keys or out_dir / "federation-keys"
    keys = create_or_load(key_dir, names)
    bus = open_bus(scenario, args.federation, names, args.timeout_s, args.register_timeout_s, keys)
    print(
        f"bus at {bus.endpoint}, waiting for {', '.join(names)}; their keys are in {key_dir}/",
        file=sys.stderr,
        flush=True,
    )
    bar = tqdm(
        total=scenario.n_steps,
        desc=f"sim {scenario.name} (federated)",
        unit="tick",
        file=sys.stderr,
        disable=args.quiet,
        leave=False,
    )
    try:
        with bar:
            model = run_federated(
                scenario, runs[0], bus, out_dir, args.realtime, not args.no_plots, bar.update
            )
    except SimError as exc:
        print(f"error: {exc}\nwrote the completed ticks to {out_dir}/", file=sys.stderr)
        return 1
    print(f"{model.tick} ticks in lockstep with {len(names)} federates; wrote {out_dir}/")
    return 0
