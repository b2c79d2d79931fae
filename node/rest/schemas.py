"""Request and response schemas of the REST API.

Units as everywhere: energy in Wh, prices in settlement-token base units per kWh (6 decimals:
210_000 units/kWh = 0.21 token/kWh), money in units, times in unix seconds, trust and
compliance as wad (1e18 = 1). Integers are JSON integers of any size (uint256 values such as
delivery contract ids and wads exceed 2**53: JavaScript clients need a big-integer parser).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, Strict

from gridledger.market.orders import UINT40_LIMIT, UINT64_LIMIT

UINT256_LIMIT = 2**256
ADDRESS_PATTERN = r"^0x[0-9a-fA-F]{40}$"


class OrderSide(StrEnum):
    """Order side; the on-chain enum is Buy = 0, Sell = 1."""

    BUY = "buy"
    SELL = "sell"


class IntervalPhase(StrEnum):
    """Phase of a market interval (Market.sol `Phase`, same order)."""

    OPEN = "open"
    GATE_CLOSED = "gate-closed"
    CLEARING = "clearing"
    CLEARED = "cleared"


class ContractKind(StrEnum):
    """An import cap (ids 0..count-1) or a market delivery obligation (bit 255 set)."""

    IMPORT_CAP = "import-cap"
    DELIVERY = "delivery"


# Strict: a JSON integer only (no "2000", 2000.0 or true).
QuantityWh = Annotated[int, Strict(), Field(ge=1, lt=UINT40_LIMIT, description="energy [Wh]")]
PricePerKwh = Annotated[
    int, Strict(), Field(ge=0, lt=UINT40_LIMIT, description="limit price [token base units/kWh]")
]
Interval = Annotated[
    int, Strict(), Field(ge=0, lt=UINT64_LIMIT, description="market interval index")
]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class OrderRequest(BaseModel):
    """A limit order for the node's prosumer account. Without `interval`, the node picks the
    first interval whose gate closes at least 30 s from now."""

    model_config = ConfigDict(extra="forbid")

    side: OrderSide
    quantity_wh: QuantityWh
    limit_price_per_kwh: PricePerKwh
    interval: Interval | None = None


class _OrderFields(_Out):
    """What every order answer starts with: id ((interval << 32) | index), owner and terms."""

    order_id: int
    interval: int
    index: int
    owner: str
    side: OrderSide
    quantity_wh: int
    limit_price_per_kwh: int


class OrderPlaced(_OrderFields):
    """A placed order: its id ((interval << 32) | index) and the transaction that placed it;
    `approval_tx_hash` is set when a buy first approved its escrow to the Market."""

    tx_hash: str
    block_number: int
    approval_tx_hash: str | None


class OrderOut(_OrderFields):
    """An order as stored on-chain, with its fill (0 before clearing) and settlement.

    `credited_units` is what settlement credited its owner (a buyer's refund, a seller's net
    proceeds), None until settled. `delivery_contract_id` (sells) is the ImportCap id of its
    delivery obligation."""

    escrow_units: int
    phase: IntervalPhase
    filled_wh: int
    settled: bool
    credited_units: int | None
    delivery_contract_id: int | None


class TradeOut(_Out):
    """One order's fill at the interval's uniform price (the on-chain auction does not pair
    buyers with sellers: each filled order trades with the pool)."""

    order_id: int
    owner: str
    side: OrderSide
    filled_wh: int
    price_per_kwh: int


class SettlementOut(_Out):
    """Settlement progress: orders settled of all, and the dust paid to the treasury once the
    last order settled (None before)."""

    order_count: int
    settled_count: int
    complete: bool
    dust_units: int | None


class IntervalOut(_Out):
    """A market interval: timing, phase, clearing result, orders, trades and settlement."""

    interval: int
    phase: IntervalPhase
    start_ts: int
    gate_closure_ts: int
    cleared: bool
    voided: bool
    price_per_kwh: int | None
    volume_wh: int | None
    network_charge_per_kwh: int | None
    orders: list[OrderOut]
    trades: list[TradeOut]
    settlement: SettlementOut


class TermsOut(_Out):
    """ContractTerms as on-chain: window [s after 00:00 UTC], validity [unix s], bounds [W],
    lambda [units/kWh of violation], beta [wad/kWh]."""

    importer: str
    kind: str
    window_start_s: int
    window_end_s: int
    counterparty: str
    valid_from_ts: int
    valid_to_ts: int
    lower_w: int
    upper_w: int
    lambda_units_per_kwh: int
    beta_wad_per_kwh: int


class StatusOut(_Out):
    """contractStatus as on-chain, plus the penalty collected so far."""

    violation_wh: int
    total_wh: int
    compliance_wad: int
    penalty_units: int
    penalty_paid_units: int
    trust_wad: int


class ContractOut(_Out):
    id: int
    kind: ContractKind
    terms: TermsOut
    status: StatusOut


class ContractsPage(_Out):
    """Import-cap contracts offset .. offset + limit - 1 of `count`; delivery obligations are
    read one by one (/v1/contracts/{id}, ids from the sell orders of /v1/market/intervals)."""

    count: int
    offset: int
    limit: int
    contracts: list[ContractOut]


class ViolationOut(_Out):
    """One ViolationRecorded event: a reading's violation [Wh] and the contract's cumulative."""

    contract_id: int
    kind: ContractKind
    participant: str
    interval_start_ts: int
    violation_wh: int
    cumulative_violation_wh: int
    block_number: int
    tx_hash: str


class ViolationsOut(_Out):
    violations: list[ViolationOut]
    truncated: bool


class ReadingOut(_Out):
    """One ReadingAccepted event: a signed meter reading the chain accepted."""

    participant: str
    interval_start_ts: int
    duration_s: int
    import_wh: int
    export_wh: int
    seq: int
    block_number: int
    tx_hash: str


class ReadingsOut(_Out):
    readings: list[ReadingOut]
    truncated: bool


class TrustOut(_Out):
    """Trust of one address: exp(-exposure) as wad and float, and whether it may trade now
    (admitted, active, trust >= Regulation's minimum)."""

    address: str
    trust_wad: int
    trust: float
    exposure_wad: int
    min_trust_wad: int
    active: bool
    may_trade: bool
    active_contract_ids: list[int]


class LayerOut(_Out):
    """One layer of the seven-layer model: the modules implementing it and its live state."""

    layer: str
    name: str
    modules: list[str]
    state: dict[str, Any]


class LayersOut(_Out):
    layers: list[LayerOut]


class ErrorOut(_Out):
    """Every error body. `fields` on validation errors (422); `args` and `revert_data` on
    contract reverts."""

    error: str
    message: str
    fields: list[dict[str, str]] | None = None
    args: dict[str, Any] | None = None
    revert_data: str | None = None


# The 422 every REST route can answer (node.rest.errors), documented on each of them.
VALIDATION_RESPONSES: dict[int | str, dict[str, Any]] = {
    422: {
        "model": ErrorOut,
        "description": "ValidationError: a parameter or body field is invalid; `fields` "
        "names each (location, field, reason)",
    }
}
