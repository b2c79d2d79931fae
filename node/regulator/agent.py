"""The regulator (L7) on the ledger: sets the market's price band and network charge in
Regulation from the scenario, with the node's regulator account."""

from __future__ import annotations

from gridledger.contracts.units import TOKEN_UNITS
from gridledger.node.agents.ledger_client import LedgerClient
from gridledger.sim.scenario import MarketSpec


def units_per_kwh(tokens_per_kwh: float) -> int:
    """token/kWh -> token base units/kWh (6 decimals), rounded to the nearest unit."""
    return round(tokens_per_kwh * TOKEN_UNITS)


class RegulatorAgent:
    def __init__(self, client: LedgerClient) -> None:
        self.client = client
        self.regulation = client.contract("Regulation")

    def apply_market(self, spec: MarketSpec) -> list[bytes]:
        """Send the price band and the network charge of `spec`; the transaction hashes."""
        f = self.regulation.functions
        band = f.setPriceBand(
            units_per_kwh(spec.price_floor_per_kwh), units_per_kwh(spec.price_ceiling_per_kwh)
        )
        charge = f.setNetworkCharge(units_per_kwh(spec.network_charge_per_kwh))
        return [self.client.send(band, 200_000), self.client.send(charge, 200_000)]
