"""`gridledger testnet up --sim SCENARIO`: the scenario's microgrids get a participant and a
meter each, the operator service admits them, and a background feed sends their signed
readings to the prosumer nodes until `--steps` ticks are on chain; `status` shows the feed,
`down` stops it. Wrong pacing arguments are refused before anything is created."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import requests

from gridledger.node import testnet
from gridledger.node.cli import main
from gridledger.node.keys import load_or_create_key
from gridledger.node.meters import feed_process
from gridledger.sim.scenarios import resolve
from tests.node.nodeproc import PASSPHRASE
from tests.node.testnet.harness import wait_for

STEPS = 20


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--speed", "60"], "give --sim SCENARIO"),
        (["--steps", "5"], "give --sim SCENARIO"),
        (["--sim", "fedmgdt", "--speed", "0"], "--speed must be above 0"),
        (["--sim", "fedmgdt", "--steps", "0"], "--steps at least 1"),
        (["--sim", "no-such-scenario"], "no-such-scenario"),
    ],
)
def test_wrong_sim_arguments_are_refused_and_create_nothing(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    monkeypatch.setenv("GRIDLEDGER_PASSPHRASE", PASSPHRASE)
    data_dir = tmp_path / "tn"
    assert main(["testnet", "up", "--nodes", "1", "--data-dir", str(data_dir), *argv]) == 2
    assert message in capsys.readouterr().err
    assert not data_dir.exists()


def test_up_with_sim_feeds_the_scenario_meters_to_the_nodes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GRIDLEDGER_PASSPHRASE", PASSPHRASE)
    data_dir = tmp_path / "tn"
    base_port = testnet.free_base_port(2, first=random.randrange(20_000, 31_000, 37))
    argv = ["testnet", "up", "--nodes", "2", "--base-port", str(base_port)]
    argv += ["--data-dir", str(data_dir), "--sim", "fedmgdt", "--steps", str(STEPS)]
    try:
        assert main(argv) == 0
        err = capsys.readouterr().err
        assert "simulator fedmgdt: meters report to the prosumer nodes" in err
        assert "operator on node1: 5 prosumers admitted and funded" in err  # 2 nodes + 3 MGs
        node2 = testnet.load_layout(data_dir)[1]
        meters = {
            mg.name: load_or_create_key(testnet.meter_key_path(data_dir, mg.name)).address
            for mg in resolve("fedmgdt").microgrids
        }

        def on_chain(meter: str) -> int:
            reply = requests.get(f"{node2.url}/v1/meters/{meter}", timeout=10)
            return int(reply.json()["chain_last_seq"])

        wait_for(
            f"{STEPS} readings of every microgrid on chain",
            lambda: all(on_chain(m) == STEPS for m in meters.values()),
            120,
        )
        wait_for("the feed to end", lambda: feed_process.running_feed_pid(data_dir) is None, 30)
        log = (data_dir / feed_process.LOG_FILE).read_text(encoding="utf-8")
        for mg in meters:
            assert f"{mg}: {STEPS} readings on chain (last seq {STEPS})" in log
        assert main(["testnet", "status", "--data-dir", str(data_dir), "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["sim_feed_pid"] is None

        # Up again resumes: the feed goes on from each meter's next sequence number.
        assert main(argv) == 0
        wait_for(
            f"{2 * STEPS} readings of every microgrid on chain",
            lambda: all(on_chain(m) == 2 * STEPS for m in meters.values()),
            120,
        )
    finally:
        main(["testnet", "down", "--data-dir", str(data_dir)])
    assert feed_process.running_feed_pid(data_dir) is None
