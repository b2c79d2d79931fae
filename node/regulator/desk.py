"""The regulator (L7) as a service of its node: reads and changes Regulation's rules from the
node's regulator account (the REST API's /v1/regulator endpoints call it). Every change is a
Regulation transaction with its event; the contract checks the values (a floor above the
ceiling, a charge above the floor, min cap above max cap, trust above 1: decoded reverts)."""

from __future__ import annotations

import threading
from typing import Any

from web3.types import TxReceipt

from gridledger.contracts.enums import AdmissionPolicy
from gridledger.node.regulator.agent import RULE_GAS
from gridledger.node.views.chain import ChainView

REGULATOR = "regulator"
# Regulation's public rule getters, in the order GET /v1/regulation lists them.
RULES = (
    "priceFloorPerKwh",
    "priceCeilingPerKwh",
    "networkChargePerKwh",
    "minCapW",
    "maxCapW",
    "minTrustWad",
    "admissionPolicy",
    "deliveryPenaltyPerKwh",
    "deliveryBetaWadPerKwh",
    "maxCapPenaltyPerKwh",
    "maxCapBetaWadPerKwh",
)
RULE_FIELDS = {
    "priceFloorPerKwh": "price_floor_per_kwh",
    "priceCeilingPerKwh": "price_ceiling_per_kwh",
    "networkChargePerKwh": "network_charge_per_kwh",
    "minCapW": "min_cap_w",
    "maxCapW": "max_cap_w",
    "minTrustWad": "min_trust_wad",
    "admissionPolicy": "admission_policy",
    "deliveryPenaltyPerKwh": "delivery_penalty_per_kwh",
    "deliveryBetaWadPerKwh": "delivery_beta_wad_per_kwh",
    "maxCapPenaltyPerKwh": "max_cap_penalty_per_kwh",
    "maxCapBetaWadPerKwh": "max_cap_beta_wad_per_kwh",
}


class RegulatorDesk:
    """Regulation's rules, read by anyone and changed with the node's regulator account."""

    def __init__(self, chain: ChainView) -> None:
        self.chain = chain
        self._lock = threading.Lock()

    def rules(self) -> dict[str, Any]:
        """Every rule by its snake_case name (admission policy as its label)."""
        f = self.chain.contract("Regulation").functions
        out: dict[str, Any] = {}
        for getter in RULES:
            value = int(self.chain.call(getattr(f, getter)()))
            field = RULE_FIELDS[getter]
            out[field] = AdmissionPolicy(value).label if getter == "admissionPolicy" else value
        return out

    def _send(self, setter: str, *args: Any) -> TxReceipt:
        fn = getattr(self.chain.contract("Regulation").functions, setter)(*args)
        with self._lock:
            return self.chain.send(fn, self.chain.account(REGULATOR), RULE_GAS)

    def set_band(self, floor_per_kwh: int, ceiling_per_kwh: int) -> TxReceipt:
        return self._send("setPriceBand", floor_per_kwh, ceiling_per_kwh)

    def set_charge(self, charge_per_kwh: int) -> TxReceipt:
        return self._send("setNetworkCharge", charge_per_kwh)

    def set_cap_bounds(self, min_cap_w: int, max_cap_w: int) -> TxReceipt:
        return self._send("setCapBounds", min_cap_w, max_cap_w)

    def set_min_trust(self, min_trust_wad: int) -> TxReceipt:
        return self._send("setMinTrust", min_trust_wad)

    def set_admission_policy(self, policy: AdmissionPolicy) -> TxReceipt:
        return self._send("setAdmissionPolicy", int(policy))

    def set_delivery_terms(self, penalty_per_kwh: int, beta_wad_per_kwh: int) -> TxReceipt:
        return self._send("setDeliveryTerms", penalty_per_kwh, beta_wad_per_kwh)

    def set_cap_factors(self, max_penalty_per_kwh: int, max_beta_wad_per_kwh: int) -> TxReceipt:
        return self._send("setCapFactorBounds", max_penalty_per_kwh, max_beta_wad_per_kwh)
