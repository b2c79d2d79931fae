"""The simulator's feed of a testnet as a background process (`testnet up --sim SCENARIO`):
`gridledger sim run SCENARIO --testnet DIR` started detached, its output in DIR/sim.log and
its pid in DIR/sim.pid; `testnet down` stops it with the nodes, `testnet status` shows it."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

from gridledger.node.testnet import live_pid, spawn_detached

PID_FILE = "sim.pid"
LOG_FILE = "sim.log"


def assign_in_turn(prosumer_nodes: list[str], microgrids: list[str]) -> dict[str, str]:
    """Microgrid -> node: the prosumer nodes in turn (the feed's default)."""
    return {mg: prosumer_nodes[k % len(prosumer_nodes)] for k, mg in enumerate(microgrids)}


def feed_command(
    data_dir: Path, scenario: str, speed: float | None, steps: int | None, admit: bool
) -> list[str]:
    """`gridledger sim run SCENARIO --testnet DIR ...` with this Python."""
    command = [sys.executable, "-m", "gridledger.node.cli", "sim", "run", scenario]
    command += ["--testnet", str(data_dir.resolve())]
    if speed is not None:
        command += ["--realtime", f"{speed:g}"]
    if steps is not None:
        command += ["--steps", str(steps)]
    if admit:
        command.append("--admit")
    return command


def running_feed_pid(data_dir: Path) -> int | None:
    """The pid of the testnet's feed if it runs (the pid file names a live feed of DIR)."""
    return live_pid(data_dir / PID_FILE, data_dir.resolve())


def start_feed(
    data_dir: Path, scenario: str, speed: float | None, steps: int | None, admit: bool
) -> int:
    """Start the feed detached (its own session: it outlives `testnet up`); its pid."""
    command = feed_command(data_dir, scenario, speed, steps, admit)
    return spawn_detached(command, data_dir / LOG_FILE, data_dir / PID_FILE)


def stop_feed(data_dir: Path, timeout_s: float = 10.0) -> int | None:
    """Stop the feed if it runs (SIGTERM, then SIGKILL after `timeout_s`); its pid, or None."""
    pid = running_feed_pid(data_dir)
    if pid is not None:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while running_feed_pid(data_dir) is not None and time.monotonic() < deadline:
            time.sleep(0.1)
        if running_feed_pid(data_dir) is not None:
            os.kill(pid, signal.SIGKILL)
    (data_dir / PID_FILE).unlink(missing_ok=True)
    return pid
