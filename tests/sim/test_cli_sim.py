"""`gridledger sim ...`: help, a federated run driven from the command line, the benchmark."""

from __future__ import annotations

import json
import socket
import stat
import threading
from pathlib import Path

import pandas as pd
import pytest

from gridledger.node.cli import main

TINY = """
[scenario]
name = "cli-tiny"
dt_s = 900
n_steps = 96
[[microgrids]]
name = "A"
controllable = true
[microgrids.load]
profile = "residential"
peak_w = 9000.0
[microgrids.pv]
n_panels = 20
[microgrids.battery]
capacity_wh = 12000.0
max_power_w = 4000.0
[[contracts]]
name = "A-cap"
microgrid = "A"
cap_w = 5000.0
window_start_s = 61200
window_end_s = 72000
"""


@pytest.mark.parametrize(
    "argv",
    [
        ["sim", "--help"],
        ["sim", "run", "--help"],
        ["sim", "federate", "--help"],
        ["sim", "bench", "federation", "--help"],
        ["sim", "list", "--help"],
    ],
)
def test_help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 0
    assert "usage: gridledger sim" in capsys.readouterr().out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_federated_run_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = tmp_path / "tiny.toml"
    scenario.write_text(TINY, encoding="utf-8")
    endpoint = f"tcp://127.0.0.1:{_free_port()}"
    codes: dict[str, int] = {}

    def call(name: str, argv: list[str]) -> None:
        codes[name] = main(argv)

    keys = tmp_path / "keys"  # created by the run; the federates wait for their files
    fed_args = ["sim", "federate", endpoint, "--timeout-s", "10", "--keys", str(keys)]
    operator = [*fed_args, "--name", "op", "--role", "operator", "--controls", "A"]
    threads = [
        threading.Thread(target=call, args=("op", operator)),
        threading.Thread(target=call, args=("node", [*fed_args, "--name", "node"])),
    ]
    for thread in threads:
        thread.start()
    run = ["sim", "run", str(scenario), "--out", str(tmp_path / "out"), "--no-plots"]
    bus = ["--federation", endpoint, "--federates", "op,node", "--keys", str(keys)]
    code = main([*run, *bus, "--timeout-s", "10"])
    for thread in threads:
        thread.join(timeout=10.0)
    assert (code, codes) == (0, {"op": 0, "node": 0})
    assert "96 ticks in lockstep with 2 federates" in capsys.readouterr().out
    assert sorted(p.name for p in keys.iterdir()) == [
        "bus.key", "bus.pub", "node.key", "node.pub", "op.key", "op.pub"
    ]  # fmt: skip
    assert {stat.S_IMODE(p.stat().st_mode) for p in keys.glob("*.key")} == {0o600}
    standalone = tmp_path / "standalone"
    assert main(["sim", "run", str(scenario), "--out", str(standalone), "--quiet"]) == 0
    pd.testing.assert_frame_equal(
        pd.read_csv(tmp_path / "out" / "ticks.csv"), pd.read_csv(standalone / "ticks.csv")
    )


def test_federated_run_needs_its_federates_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["sim", "run", "fedmgdt", "--out", str(tmp_path), "--federation", "tcp://127.0.0.1:*"]
    assert main(argv) == 2
    assert "--federation needs --federates" in capsys.readouterr().err


def test_bench_federation_reports_the_figures(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("helics")
    argv = ["sim", "bench", "federation", "--json", "--steps", "40", "--repeats", "1"]
    assert main(argv) == 0
    figures = json.loads(capsys.readouterr().out)
    for group in ("step_overhead_us", "ticks_per_s"):
        for engine in ("gridledger", "helics"):
            assert figures[f"{group}.{engine}"] > 0
    assert figures["ratio"] == pytest.approx(
        figures["step_overhead_us.gridledger"] / figures["step_overhead_us.helics"]
    )
    assert figures["steps"] == 40 and figures["federates"] == 4 and figures["microgrids"] == 3
    assert 0 < figures["standalone_day_s"] < figures["standalone_day_with_outputs_s"]


def test_start_ts_moves_a_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = tmp_path / "tiny.toml"
    scenario.write_text(TINY, encoding="utf-8")
    start_ts = 1_800_057_600 + 5 * 86_400
    run = ["sim", "run", str(scenario), "--out", str(tmp_path / "out"), "--no-plots", "--quiet"]
    assert main([*run, "--start-ts", str(start_ts)]) == 0
    ticks = pd.read_csv(tmp_path / "out" / "ticks.csv")
    assert ticks["time_ts"].tolist() == [start_ts + 900 * k for k in range(96)]
    assert main([*run, "--start-ts", "-1"]) == 1
    assert "scenario.start_ts: must be an integer >= 0, got -1" in capsys.readouterr().err
