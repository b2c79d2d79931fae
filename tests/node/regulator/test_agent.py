"""The regulator agent sends Regulation the band it is given, in token units per kWh; a
scenario's prices [token/kWh] become that band in node/regulator/terms.py."""

from __future__ import annotations

from gridledger.market.orders import PriceBand
from gridledger.node.regulator.agent import RULE_GAS, RegulatorAgent
from gridledger.node.regulator.terms import price_band, units_per_kwh
from gridledger.sim.scenario import MarketSpec
from tests.node.agents.fakes import FakeClient, FakeContract

REGULATOR = "0x" + "22" * 20


def test_the_band_is_sent_as_given() -> None:
    client = FakeClient(REGULATOR, {"Regulation": FakeContract("Regulation")})
    hashes = RegulatorAgent(client).apply_band(PriceBand(80_000, 300_000, 10_000))
    assert client.sends == [
        ("Regulation", "setPriceBand", (80_000, 300_000), RULE_GAS),
        ("Regulation", "setNetworkCharge", (10_000,), RULE_GAS),
    ]
    assert hashes == client.sent


def test_a_scenario_price_becomes_token_units() -> None:
    assert price_band(MarketSpec(0.08, 0.3, 0.01)) == PriceBand(80_000, 300_000, 10_000)
    assert units_per_kwh(0.2100004) == 210_000
    assert units_per_kwh(0.2100006) == 210_001
