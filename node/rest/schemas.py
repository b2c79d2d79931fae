"""The REST API's own schemas: the order request, the placed order, the layer table and the
error body. Everything else it answers with is a record of the read model (node/views/records.py).

Units as everywhere: energy in Wh, prices in settlement-token base units per kWh (6 decimals:
210_000 units/kWh = 0.21 token/kWh), money in units, times in unix seconds, trust and
compliance as wad (1e18 = 1). Integers are JSON integers of any size (uint256 values such as
delivery contract ids and wads exceed 2**53: JavaScript clients need a big-integer parser).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, Strict

from gridledger.contracts.enums import Side
from gridledger.contracts.units import UINT40_LIMIT, UINT64_LIMIT
from gridledger.node.views.records import OrderFields, Record

ADDRESS_PATTERN = r"^0x[0-9a-fA-F]{40}$"


# Strict: a JSON integer only (no "2000", 2000.0 or true).
QuantityWh = Annotated[int, Strict(), Field(ge=1, lt=UINT40_LIMIT, description="energy [Wh]")]
PricePerKwh = Annotated[
    int, Strict(), Field(ge=0, lt=UINT40_LIMIT, description="limit price [token base units/kWh]")
]
Interval = Annotated[
    int, Strict(), Field(ge=0, lt=UINT64_LIMIT, description="market interval index")
]


class OrderRequest(BaseModel):
    """A limit order for the node's prosumer account. Without `interval`, the node picks the
    first interval whose gate closes at least 30 s from now."""

    model_config = ConfigDict(extra="forbid")

    side: Side
    quantity_wh: QuantityWh
    limit_price_per_kwh: PricePerKwh
    interval: Interval | None = None


class OrderPlaced(OrderFields):
    """A placed order: its id ((interval << 32) | index) and the transaction that placed it;
    `approval_tx_hash` is set when a buy first approved its escrow to the Market."""

    tx_hash: str
    block_number: int
    approval_tx_hash: str | None


class ErrorOut(Record):
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
