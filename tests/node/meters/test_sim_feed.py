"""`gridledger sim run SCENARIO --testnet DIR`: the scenario's meters sign every step and
each microgrid's readings reach the chain through one prosumer node, equal to the energies
the simulator's own tables meter (real processes: a two-node testnet)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from gridledger.node.cli import main
from gridledger.node.keys import load_or_create_key
from gridledger.node.meters.sim_feed import meter_key_path
from gridledger.node.testnet import participant_key_path
from gridledger.sim.runner import run_scenario
from gridledger.sim.scenarios import resolve
from tests.node.testnet.harness import LocalTestnet

STEPS = 30


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalTestnet]:
    testnet = LocalTestnet(tmp_path_factory.mktemp("sim-feed") / "tn", 2).up()
    yield testnet
    testnet.down()


def test_a_scenarios_meters_feed_the_prosumer_node(
    net: LocalTestnet, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    start_ts = net.w3("node1").eth.get_block("latest")["timestamp"] // 86_400 * 86_400 - 86_400
    argv = ["sim", "run", "fedmgdt", "--testnet", str(net.data_dir), "--steps", str(STEPS)]
    argv += ["--start-ts", str(start_ts), "--admit", "--batch", "8"]
    assert main(argv) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    for mg in ("MG1", "MG2", "MG3"):
        assert f"{mg}: {STEPS} readings on chain (last seq {STEPS})" in out

    scenario = dataclasses.replace(resolve("fedmgdt"), n_steps=STEPS).with_start_ts(start_ts)
    ticks = run_scenario(scenario, tmp_path / "sim", ("base",), False, False).ticks
    node2 = net.entry("node2").url
    for mg in ("MG1", "MG2", "MG3"):
        meter = load_or_create_key(meter_key_path(net.data_dir, mg)).address
        participant = load_or_create_key(participant_key_path(net.data_dir / "node2", mg)).address
        state = requests.get(f"{node2}/v1/meters/{meter}", timeout=10).json()
        assert state["chain_last_seq"] == STEPS
        rows = requests.get(
            f"{net.entry('node1').url}/v1/readings", params={"participant": participant}, timeout=10
        ).json()["readings"]
        expected = ticks[ticks["microgrid"] == mg]
        assert [r["import_wh"] for r in rows] == expected["import_wh"].astype(int).tolist()
        assert [r["export_wh"] for r in rows] == expected["export_wh"].astype(int).tolist()
        assert rows[0]["interval_start_ts"] == start_ts

    # A second run continues each meter's sequence; its overlapping day is refused.
    assert main(argv[:-3]) == 1
    assert "MeteringIntervalOverlap" in capsys.readouterr().err


def test_on_a_simulation_clock_testnet_the_feed_moves_the_chains_clock(
    tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    net = LocalTestnet(tmp_path_factory.mktemp("sim-clock") / "tn", 2, clock="sim").up()
    try:
        head_before = net.w3("node1").eth.get_block("latest")["timestamp"]
        argv = ["sim", "run", "fedmgdt", "--testnet", str(net.data_dir), "--steps", "20"]
        assert main([*argv, "--admit", "--batch", "5"]) == 0, capsys.readouterr().err
        out = capsys.readouterr().out
        assert "MG1: 20 readings on chain (last seq 20)" in out
        line = next(x for x in out.splitlines() if x.startswith("fedmgdt: 20 ticks"))
        start_ts = int(line.split(" from ")[1].split(",")[0])
        assert start_ts >= head_before
        # the chain's clock followed the simulation past the last reading
        head_after = net.w3("node1").eth.get_block("latest")["timestamp"]
        assert head_after >= start_ts + 20 * 60
    finally:
        net.down()
