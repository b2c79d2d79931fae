"""What the dashboard's read endpoints answer (GET /v1/chain, /v1/dashboard/*,
/v1/audit/report) and what GET /v1/events streams. Units as in node/views/records.py: energy
in Wh, power in W, prices in base units per kWh, money in base units, wads for fractions."""

from __future__ import annotations

from typing import Any

from gridledger.node.accounting import ContractTerms
from gridledger.node.views.records import OrderOut, Record, StatusOut


class BlockOut(Record):
    """One block: its number, hash, timestamp [unix s], transactions, and the time since its
    parent [s] (None for the genesis block)."""

    number: int
    hash: str
    timestamp_ts: int
    tx_count: int
    interval_s: int | None


class PeerOut(Record):
    """A peer as this node last heard of it (its Status message): head and finalized height;
    `alive` when heard from within the last few heartbeats."""

    name: str
    head: int | None
    finalized: int | None
    alive: bool


class ChainOut(Record):
    """The ledger as this node sees it. `finalized` is None on a ledger without finality;
    `peers` and `rejected_blocks` (peer -> blocks refused) are empty outside a testnet."""

    engine: str
    chain_id: int
    head: int
    finalized: int | None
    pending_transactions: int | None
    peers: list[PeerOut]
    rejected_blocks: dict[str, int]
    blocks: list[BlockOut]


class BlockEvent(Record):
    """The data of one `block` message of GET /v1/events: a block this node imported."""

    number: int
    hash: str
    timestamp_ts: int
    tx_count: int
    finalized: int | None


class PricePoint(Record):
    """A cleared interval (IntervalCleared): its start [unix s], price and volume."""

    interval: int
    start_ts: int
    price_per_kwh: int
    volume_wh: int


class MarketPanelOut(Record):
    """The market panel: the open interval (orders go there), the last cleared one, the
    price history of the latest cleared intervals, the regulated band, and the orders of
    the node's own prosumer account (most recent last)."""

    open_interval: int
    last_cleared_interval: int | None
    price_floor_per_kwh: int
    price_ceiling_per_kwh: int
    prices: list[PricePoint]
    prosumer: str
    own_orders: list[OrderOut]


class PccPoint(Record):
    """One reading inside a contract: its interval start [unix s], mean PCC power over it [W]
    (> 0 import) and its violation energy [Wh, floor] under the contract's bound."""

    start_ts: int
    p_w: float
    violation_wh: int


class CapPanelOut(Record):
    """One import-cap contract: terms, status as on chain, the importer's overall trust
    (Trust.trustOf, wad) and the PCC series of the readings inside the contract."""

    id: int
    terms: ContractTerms
    status: StatusOut
    importer_trust_wad: int
    series: list[PccPoint]
    series_truncated: bool


class ParticipantCapsOut(Record):
    """Sums over one importer's import caps, and its overall trust (wad)."""

    participant: str
    contracts: int
    violation_wh: int
    penalty_units: int
    trust_wad: int


class CapsPanelOut(Record):
    count: int
    contracts: list[CapPanelOut]
    participants: list[ParticipantCapsOut]


class KpisOut(Record):
    """Community KPIs over the readings that started in [from_ts, to_ts).

    Per interval start, meters' imports I and exports E are summed; energy one member
    exported and another imported in the same interval is local: L = min(I, E). Over the
    period: self_sufficiency = sum L / sum I, self_consumption = sum L / sum E (None when the
    denominator is 0), grid_import_wh = sum max(0, I - E), grid_export_wh = sum max(0, E - I).
    `market_volume_wh` is what the market cleared for intervals starting in the period."""

    from_ts: int
    to_ts: int
    readings: int
    truncated: bool
    import_wh: int
    export_wh: int
    local_wh: int
    grid_import_wh: int
    grid_export_wh: int
    self_sufficiency: float | None
    self_consumption: float | None
    market_volume_wh: int


class AuditReportOut(Record):
    """`gridledger audit --json` of this node's contracts at block `block`, plus the list of
    mismatches (empty: every contract matches the reference model)."""

    block: int
    matches: bool
    mismatches: list[str]
    document: dict[str, Any]


class BillOut(Record):
    """What the market cost or paid one participant over the cleared intervals read [base
    units of the settlement token; energy in Wh]. A buy pays ceil(fill * price / 1000) of
    its escrow (`bought_units`) and gets the rest back (`escrow_refunded_units`); a sell
    earns floor(fill * price / 1000) (`sold_units`) less floor(fill * charge / 1000)
    (`network_charge_units`), held until its delivery is metered (`held_units` still held).
    `delivery_penalty_units`: the penalties of its sales' delivery obligations;
    `cap_penalty_units`: of its import caps. `net_units` = sold - network charges - bought -
    penalties (> 0: the participant was paid)."""

    participant: str
    intervals: int
    bought_wh: int
    bought_units: int
    escrow_refunded_units: int
    sold_wh: int
    sold_units: int
    network_charge_units: int
    held_units: int
    delivery_penalty_units: int
    cap_penalty_units: int
    net_units: int


class BillsOut(Record):
    """Bills over the cleared intervals `from_interval` .. `to_interval` (the latest
    `intervals` cleared ones; None when none cleared), the node's own prosumer first, then
    every other participant with an order in them or an import-cap penalty."""

    intervals: int
    from_interval: int | None
    to_interval: int | None
    prosumer: str
    bills: list[BillOut]


class ForecastPointOut(Record):
    """One past interval the node's prosumer ordered for: the net import [Wh] (> 0 import,
    < 0 export) its strategy forecast, what it ordered on it (side None: nothing), and the
    net import its meter reported for the interval (`readings` readings; None without any)."""

    interval: int
    start_ts: int
    end_ts: int
    forecast_net_wh: float
    side: str | None
    quantity_wh: int
    actual_net_wh: int | None
    readings: int


class ForecastOut(Record):
    """Forecast against actual for the node's prosumer. `forecasting` is False (and `note`
    says why) on a node that does not bid by itself, or whose strategy does not forecast."""

    forecasting: bool
    strategy: str | None
    note: str
    prosumer: str
    points: list[ForecastPointOut]
