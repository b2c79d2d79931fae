"""Deploying and wiring the gridledger contract stack on any web3 provider."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

from eth_typing import ChecksumAddress
from eth_utils.crypto import keccak
from web3 import Web3
from web3.contract import Contract

from gridledger.contracts.artifacts import load_artifact
from gridledger.contracts.enums import AdmissionPolicy

ROLE_OPERATOR = keccak(text="gridledger.role.operator")
ROLE_REGULATOR = keccak(text="gridledger.role.regulator")
ROLE_PROSUMER = keccak(text="gridledger.role.prosumer")
ROLE_METERING = keccak(text="gridledger.role.metering")
ROLE_MARKET = keccak(text="gridledger.role.market")


@dataclass(frozen=True, slots=True)
class Roles:
    """Accounts holding the stack's roles."""

    admin: ChecksumAddress
    operator: ChecksumAddress
    regulator: ChecksumAddress
    treasury: ChecksumAddress


@dataclass(frozen=True, slots=True)
class RegulationRules:
    """Initial Regulation values (prices and penalties in units/kWh, bounds in W, trust and
    beta as wad; an import cap's lambda and beta may not exceed the max_cap_ factors)."""

    price_floor_per_kwh: int = 80_000
    price_ceiling_per_kwh: int = 300_000
    network_charge_per_kwh: int = 10_000
    min_cap_w: int = -1_000_000
    max_cap_w: int = 1_000_000
    min_trust_wad: int = 0
    admission_policy: AdmissionPolicy = AdmissionPolicy.OPERATOR_OR_REGULATOR
    delivery_penalty_per_kwh: int = 300_000
    delivery_beta_wad_per_kwh: int = 500_000_000_000_000_000
    max_cap_penalty_per_kwh: int = 10_000_000
    max_cap_beta_wad_per_kwh: int = 5_000_000_000_000_000_000

    def as_abi(self) -> tuple[int, ...]:
        """The Rules struct tuple in Solidity field order."""
        return tuple(int(getattr(self, f.name)) for f in fields(self))


@dataclass(frozen=True, slots=True)
class MarketTiming:
    """Market interval grid: interval n starts at epoch_start_ts + n * interval_length_s."""

    epoch_start_ts: int
    interval_length_s: int = 900
    gate_closure_lead_s: int = 300


@dataclass(frozen=True, slots=True)
class Deployment:
    """Addresses of a deployed stack; `contract()` binds one to a Web3 instance."""

    addresses: dict[str, ChecksumAddress]

    def contract(self, w3: Web3, name: str) -> Contract:
        """The web3 contract object of `name` (e.g. "ImportCap") at its deployed address."""
        return w3.eth.contract(address=self.addresses[name], abi=load_artifact(name).abi)


def _deploy(w3: Web3, name: str, sender: ChecksumAddress, *args: Any) -> ChecksumAddress:
    artifact = load_artifact(name)
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    tx_hash = factory.constructor(*args).transact({"from": sender})
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
    address = receipt["contractAddress"]
    if address is None or receipt["status"] != 1:
        raise RuntimeError(f"deploying {name} failed: {receipt}")
    return Web3.to_checksum_address(address)


def _transact(w3: Web3, call: Any, sender: ChecksumAddress) -> None:
    receipt = w3.eth.wait_for_transaction_receipt(call.transact({"from": sender}))
    if receipt["status"] != 1:
        raise RuntimeError(f"wiring transaction failed: {receipt}")


def deploy_stack(
    w3: Web3,
    roles: Roles,
    rules: RegulationRules,
    timing: MarketTiming,
    authorities: Sequence[str] = (),
) -> Deployment:
    """Deploy Registry, Regulation, GridToken, ImportCap, Trust, Metering and Market from
    `roles.admin`, wire them, and grant the operator, regulator and contract roles; with
    `authorities` (a proof-of-authority testnet), also AuthoritySet with that initial set."""
    admin = roles.admin
    a: dict[str, ChecksumAddress] = {}
    a["Registry"] = _deploy(w3, "Registry", admin, admin)
    a["Regulation"] = _deploy(w3, "Regulation", admin, a["Registry"], rules.as_abi())
    deployment = Deployment(a)
    registry = deployment.contract(w3, "Registry")
    _transact(w3, registry.functions.setRegulation(a["Regulation"]), admin)
    a["GridToken"] = _deploy(w3, "GridToken", admin, a["Registry"])
    a["ImportCap"] = _deploy(w3, "ImportCap", admin, a["Registry"], a["Regulation"], a["GridToken"])
    a["Trust"] = _deploy(w3, "Trust", admin, a["ImportCap"])
    a["Metering"] = _deploy(w3, "Metering", admin, a["Registry"], a["ImportCap"])
    a["Market"] = _deploy(
        w3,
        "Market",
        admin,
        a["Registry"],
        a["Regulation"],
        a["GridToken"],
        a["ImportCap"],
        a["Trust"],
        roles.treasury,
        timing.epoch_start_ts,
        timing.interval_length_s,
        timing.gate_closure_lead_s,
    )
    import_cap = deployment.contract(w3, "ImportCap")
    _transact(w3, import_cap.functions.setMarket(a["Market"]), admin)
    grants = (
        (ROLE_OPERATOR, roles.operator),
        (ROLE_REGULATOR, roles.regulator),
        (ROLE_METERING, a["Metering"]),
        (ROLE_MARKET, a["Market"]),
    )
    for role, account in grants:
        _transact(w3, registry.functions.grantRole(role, account), admin)
    if authorities:
        members = [Web3.to_checksum_address(m) for m in authorities]
        a["AuthoritySet"] = _deploy(w3, "AuthoritySet", admin, a["Registry"], members)
    return Deployment(dict(a))
