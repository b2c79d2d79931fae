"""The testnet demo, cut to the first 90 minutes of the day: nodes, agents and the simulator
in lockstep; every relayed reading and every order lands, the chain audits clean."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from gridledger.node import testnet
from gridledger.node.demo.testnet import run
from gridledger.node.keys import PASSPHRASE_ENV
from gridledger.node.ledger.deploy import Deployment
from gridledger.node.ledger.http import rpc_web3
from tests.node.nodeproc import PASSPHRASE


def test_a_short_demo_day_runs_end_to_end_and_audits_clean(tmp_path: Path) -> None:
    os.environ[PASSPHRASE_ENV] = PASSPHRASE  # the tests' one passphrase (see nodeproc)
    lines: list[str] = []
    outcome = run(tmp_path, keep=True, progress=lines.append, n_steps=90)
    try:
        assert outcome.readings == 6 * 90  # six metered microgrids, one reading per minute
        assert [r.cap_kw for r in outcome.results] == [4, 6, 8, 10]
        # the window (17:00-20:00) was not reached: no violation, full compliance, trust 1
        assert all(r.violation_kwh == 0 and r.trust == 1 for r in outcome.results)
        # the delivery summary covers every prosumer microgrid; at night nobody sells
        names = ["MG1-E1", "MG1-E2", "MG1-E3", "MG1-E4", "MG2", "MG3"]
        assert [d.microgrid for d in outcome.deliveries] == names
        assert all(d.obligations == 0 and d.shortfall_kwh == 0 for d in outcome.deliveries)
        assert (
            (tmp_path / "results.csv")
            .read_text()
            .startswith("cap_kw,violation_kwh,compliance,penalty,trust")
        )
        assert all((tmp_path / n).exists() for n in ("violation_vs_cap.png", "trust_vs_cap.png"))
        audit = subprocess.run(
            [sys.executable, "-m", "gridledger.node.cli", "audit", "--rpc", outcome.rpc_url],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert audit.returncode == 0, audit.stdout + audit.stderr
        # the regulator set the scenario's band ([market] in fedmgdt_demo.toml) on chain
        w3 = rpc_web3(outcome.rpc_url)
        regulation = Deployment(testnet.status(outcome.testnet_dir)["contracts"]).contract(
            w3, "Regulation"
        )
        f = regulation.functions
        band = (f.priceFloorPerKwh().call(), f.priceCeilingPerKwh().call())
        assert band == (80_000, 280_000)
        assert f.networkChargePerKwh().call() == 10_000
        assert "all match the reference model" in audit.stdout
    finally:
        testnet.down(outcome.testnet_dir, lines.append)


def test_planned_prosumers_bid_from_their_first_tick(tmp_path: Path) -> None:
    """With the week's meter history, planned prosumers order before a persistence window
    (15 readings) has filled: in 12 minutes (persistence: no order), each of the six
    microgrids orders for both intervals that open for orders meanwhile."""
    os.environ[PASSPHRASE_ENV] = PASSPHRASE
    lines: list[str] = []
    outcome = run(tmp_path, keep=False, progress=lines.append, n_steps=12, strategy="planned")
    assert outcome.readings == 6 * 12
    assert outcome.orders == 2 * 6
    assert [r.cap_kw for r in outcome.results] == [4, 6, 8, 10]
    assert any("meter history" in line for line in lines)
