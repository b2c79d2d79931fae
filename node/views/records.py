"""The records of the chain's read model: what the views return, and the bodies the REST API
answers with (node/rest/schemas.py adds the requests, the layer table and the error body).

Units as everywhere: energy in Wh, prices in settlement-token base units per kWh (6 decimals:
210_000 units/kWh = 0.21 token/kWh), money in units, times in unix seconds, trust and
compliance as wad (1e18 = 1). Integers are JSON integers of any size (uint256 values such as
delivery contract ids and wads exceed 2**53: JavaScript clients need a big-integer parser).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from enum import StrEnum
from typing import Any, get_type_hints

from pydantic import BaseModel, ConfigDict, create_model
from pydantic.alias_generators import to_camel

from gridledger.contracts.enums import Phase, Side
from gridledger.contracts.typed import MeterReading
from gridledger.node.accounting import ContractTerms


class ContractKind(StrEnum):
    """An import cap (ids 0..count-1) or a market delivery obligation (bit 255 set)."""

    IMPORT_CAP = "import-cap"
    DELIVERY = "delivery"


class Record(BaseModel):
    """A frozen record of the read model (and the body of a REST answer)."""

    model_config = ConfigDict(frozen=True)


class OrderFields(Record):
    """What every order answer starts with: id ((interval << 32) | index), owner and terms."""

    order_id: int
    interval: int
    index: int
    owner: str
    side: Side
    quantity_wh: int
    limit_price_per_kwh: int


class OrderOut(OrderFields):
    """An order as stored on-chain, with its fill (0 before clearing) and settlement.

    `credited_units` is what settlement credited its owner (a buyer's refund; 0 for a seller,
    whose net proceeds are held), None until settled. `held_units` (settled, filled sells) is
    what the Market still holds of its net proceeds until its delivery is metered, 0 once
    released to the seller and the treasury (docs/contracts.md, "Held proceeds"), None
    otherwise. `delivery_contract_id` (sells) is the ImportCap id of its
    delivery obligation."""

    escrow_units: int
    phase: Phase
    filled_wh: int
    settled: bool
    credited_units: int | None
    held_units: int | None
    delivery_contract_id: int | None


class TradeOut(Record):
    """One order's fill at the interval's uniform price (the on-chain auction does not pair
    buyers with sellers: each filled order trades with the pool)."""

    order_id: int
    owner: str
    side: Side
    filled_wh: int
    price_per_kwh: int


class SettlementOut(Record):
    """Settlement progress: orders settled of all, and the dust paid to the treasury once the
    last order settled (None before)."""

    order_count: int
    settled_count: int
    complete: bool
    dust_units: int | None


class IntervalOut(Record):
    """A market interval: timing, phase, clearing result, orders, trades and settlement."""

    interval: int
    phase: Phase
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


class StatusOut(Record):
    """contractStatus as on-chain, plus the penalty collected so far."""

    violation_wh: int
    total_wh: int
    compliance_wad: int
    penalty_units: int
    penalty_paid_units: int
    trust_wad: int


class ContractOut(Record):
    id: int
    kind: ContractKind
    terms: ContractTerms
    status: StatusOut


class ContractsPage(Record):
    """Import-cap contracts offset .. offset + limit - 1 of `count`; delivery obligations are
    read one by one (/v1/contracts/{id}, ids from the sell orders of /v1/market/intervals)."""

    count: int
    offset: int
    limit: int
    contracts: list[ContractOut]


class ViolationOut(Record):
    """One ViolationRecorded event: a reading's violation [Wh] and the contract's cumulative."""

    contract_id: int
    kind: ContractKind
    participant: str
    interval_start_ts: int
    violation_wh: int
    cumulative_violation_wh: int
    block_number: int
    tx_hash: str


class ViolationsOut(Record):
    violations: list[ViolationOut]
    truncated: bool


# The fields of a reading the chain accepted: MeterReading's, in its order, but the meter (a
# ReadingAccepted event does not name it). The EIP-712 struct and the event spell them in camel
# case (intervalStartTs).
_READING_TYPES = get_type_hints(MeterReading)
_READING_FIELDS = tuple(f.name for f in fields(MeterReading) if f.name != "meter")
_REQUIRED: dict[str, Any] = {name: (_READING_TYPES[name], ...) for name in _READING_FIELDS}
# ReadingOut's first fields, taken from MeterReading (made at run time: to mypy they are Any).
_AcceptedReading: Any = create_model("_AcceptedReading", __base__=Record, **_REQUIRED)


class ReadingOut(_AcceptedReading):  # type: ignore[misc]
    """One ReadingAccepted event: a signed meter reading the chain accepted."""

    block_number: int
    tx_hash: str

    @classmethod
    def accepted(cls, args: Mapping[str, Any], block_number: int, tx_hash: str) -> ReadingOut:
        """The reading of a ReadingAccepted event's `args`, recorded in `block_number` by
        transaction `tx_hash`."""
        reading = {name: _READING_TYPES[name](args[to_camel(name)]) for name in _READING_FIELDS}
        return cls(**reading, block_number=block_number, tx_hash=tx_hash)

    def reading(self, meter: str) -> MeterReading:
        """The MeterReading accepted, as signed by `meter` (which the event does not name)."""
        return MeterReading(meter=meter, **{name: getattr(self, name) for name in _READING_FIELDS})


class ReadingsOut(Record):
    readings: list[ReadingOut]
    truncated: bool


class TrustOut(Record):
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


class LayerOut(Record):
    """One layer of the seven-layer model: the modules implementing it and its live state."""

    layer: str
    name: str
    modules: list[str]
    state: dict[str, Any]


class LayersOut(Record):
    layers: list[LayerOut]
