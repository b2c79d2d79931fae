"""Request and answer schemas of the operator's, the regulator's and the prosumer's own
endpoints (routes/operator.py, routes/regulator.py, routes/consents.py). Units as in
node.rest.schemas: energy Wh, power W, prices and money in token base units (per kWh), trust
and beta in wad, times in unix seconds (a window in seconds after 00:00 UTC)."""

from __future__ import annotations

from typing import Annotated, Any

from eth_utils.address import to_checksum_address
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict

from gridledger.contracts.enums import AdmissionPolicy, BoundKind
from gridledger.contracts.units import UINT40_LIMIT, UINT64_LIMIT
from gridledger.node.accounting import ContractTerms
from gridledger.node.rest.schemas import ADDRESS_PATTERN

Address = Annotated[
    str,
    Field(pattern=ADDRESS_PATTERN, description="0x address (any case)"),
    AfterValidator(to_checksum_address),
]
Uint64 = Annotated[int, Strict(), Field(ge=0, lt=UINT64_LIMIT)]
Uint40 = Annotated[int, Strict(), Field(ge=0, lt=UINT40_LIMIT)]
Int64 = Annotated[int, Strict(), Field(ge=-(2**63), lt=2**63)]
DaySecond = Annotated[int, Strict(), Field(ge=0, le=86_400, description="[s after 00:00 UTC]")]
Amount = Annotated[int, Strict(), Field(ge=1, lt=2**128, description="[token base units]")]
SIGNATURE_PATTERN = r"^0x[0-9a-fA-F]{130}$"


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AdmitRequest(Body):
    """Admit `participant` with its meter's signing address `meter`."""

    participant: Address
    meter: Address


class FundRequest(Body):
    """Mint `amount_units` from the faucet to the admitted `account`."""

    account: Address
    amount_units: Amount


class CapTerms(Body):
    """Import-cap terms C = {P_i, P_j, T, Phi} (ImportCap.sol ContractTerms): bounds [W],
    daily window [s after 00:00 UTC; equal: all day], validity [unix s], lambda [units/kWh of
    violation], beta [wad per kWh of violation]."""

    importer: Address
    kind: BoundKind
    window_start_s: DaySecond
    window_end_s: DaySecond
    counterparty: Address
    valid_from_ts: Uint40
    valid_to_ts: Uint40
    lower_w: Int64 = 0
    upper_w: Int64 = 0
    lambda_units_per_kwh: Uint64
    beta_wad_per_kwh: Uint64

    def terms(self) -> ContractTerms:
        return ContractTerms(
            importer=self.importer,
            kind=self.kind,
            window_start_s=self.window_start_s,
            window_end_s=self.window_end_s,
            counterparty=self.counterparty,
            valid_from_ts=self.valid_from_ts,
            valid_to_ts=self.valid_to_ts,
            lower_w=self.lower_w,
            upper_w=self.upper_w,
            lambda_units_per_kwh=self.lambda_units_per_kwh,
            beta_wad_per_kwh=self.beta_wad_per_kwh,
        )


class CapRequest(Body):
    """Terms and the importer's EIP-712 consent to them (65 bytes r || s || v as 0x-hex; its
    node's POST /v1/consents answers one)."""

    terms: CapTerms
    consent: Annotated[str, Field(pattern=SIGNATURE_PATTERN)]


class ClearRequest(Body):
    interval: Uint64


class BandRequest(Body):
    floor_per_kwh: Uint64
    ceiling_per_kwh: Uint64


class ChargeRequest(Body):
    charge_per_kwh: Uint64


class CapBoundsRequest(Body):
    min_cap_w: Int64
    max_cap_w: Int64


class MinTrustRequest(Body):
    min_trust_wad: Uint64


class AdmissionPolicyRequest(Body):
    policy: AdmissionPolicy


class DeliveryTermsRequest(Body):
    penalty_per_kwh: Uint64
    beta_wad_per_kwh: Uint64


class CapFactorsRequest(Body):
    max_penalty_per_kwh: Uint64
    max_beta_wad_per_kwh: Uint64


class TxOut(BaseModel):
    """A transaction the node sent and saw mined."""

    tx_hash: str
    block_number: int


class AdmittedOut(TxOut):
    participant: str
    meter: str


class FundedOut(TxOut):
    account: str
    amount_units: int
    faucet_total_units: int
    faucet_limit_units: int


class CapOut(TxOut):
    contract_id: int
    importer: str


class ClearedOut(BaseModel):
    interval: int
    orders: int
    volume_wh: int
    settled: int


class RulesOut(BaseModel):
    """Regulation's rules as on-chain."""

    price_floor_per_kwh: int
    price_ceiling_per_kwh: int
    network_charge_per_kwh: int
    min_cap_w: int
    max_cap_w: int
    min_trust_wad: int
    admission_policy: str
    delivery_penalty_per_kwh: int
    delivery_beta_wad_per_kwh: int
    max_cap_penalty_per_kwh: int
    max_cap_beta_wad_per_kwh: int


class RuleChangedOut(TxOut):
    rules: RulesOut


class ConsentOut(BaseModel):
    """The importer's consent: the EIP-712 digest (ImportCap.termsDigest) and its signature."""

    importer: str
    digest: str
    consent: str


def tx_fields(receipt: Any) -> dict[str, Any]:
    return {
        "tx_hash": "0x" + bytes(receipt["transactionHash"]).hex(),
        "block_number": int(receipt["blockNumber"]),
    }
