"""`gridledger demo --in-process`: E1-E4 and one market interval on one in-process chain, read
back from the chain and checked against the Python reference accounting."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from gridledger.contracts.units import TOKEN_UNITS, WAD
from gridledger.node.accounting import Accumulators, account, status
from gridledger.node.demo import inprocess as demo
from gridledger.node.demo.experiments import day_readings, fedmgdt_terms
from gridledger.sim.fedmgdt import FEDMGDT_CAPS_W, simulate_mg1_day

ANYONE = "0x" + "11" * 20


def test_in_process_demo_equals_the_reference_accounting(tmp_path: Path) -> None:
    results, market = demo.run(tmp_path, lambda _: None)
    assert [r.cap_kw for r in results] == [cap_w / 1000 for cap_w in FEDMGDT_CAPS_W]
    for r in results:
        cap_w = r.cap_kw * 1000
        terms = fedmgdt_terms(ANYONE, ANYONE, demo.DAY_TS, cap_w)
        readings = day_readings(simulate_mg1_day(cap_w), ANYONE, ANYONE, demo.DAY_TS)
        expected = status(terms, account(terms, Accumulators(), readings))
        assert r.violation_kwh == expected.violation_wh / 1000
        assert r.compliance == expected.compliance_wad / WAD
        assert r.penalty == expected.penalty_units / TOKEN_UNITS
        assert r.trust == pytest.approx(expected.trust, rel=1e-9, abs=1e-15)
    assert results[0].violation_kwh > results[-1].violation_kwh  # a looser cap, less violation
    # The six-order book: 3,500 Wh offered, 3,000 Wh wanted; the clearing trades at most that.
    assert market.orders == len(demo.DEMO_BOOK)
    assert 0 < market.volume_kwh <= 3.0
    with (tmp_path / "results.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [float(row["violation_kwh"]) for row in rows] == [r.violation_kwh for r in results]
    assert {p.name for p in tmp_path.glob("*.png")} >= {"trust_vs_cap.png", "violation_vs_cap.png"}
