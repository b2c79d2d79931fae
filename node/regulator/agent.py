"""The regulator (L7) on the ledger: sets the market's price band and network charge in
Regulation, with the node's regulator account. It takes the band in token units per kWh
(market.orders.PriceBand); node/regulator/terms.py turns a scenario's prices into one."""

from __future__ import annotations

from gridledger.market.orders import PriceBand
from gridledger.node.agents.ledger_client import LedgerClient

RULE_GAS = 200_000


class RegulatorAgent:
    def __init__(self, client: LedgerClient) -> None:
        self.client = client
        self.regulation = client.contract("Regulation")

    def apply_band(self, band: PriceBand) -> list[bytes]:
        """Send the price band and the network charge [units/kWh]; the transaction hashes."""
        f = self.regulation.functions
        price_band = f.setPriceBand(band.floor_per_kwh, band.ceiling_per_kwh)
        charge = f.setNetworkCharge(band.network_charge_per_kwh)
        return [self.client.send(price_band, RULE_GAS), self.client.send(charge, RULE_GAS)]
