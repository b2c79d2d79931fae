"""The market, import-cap and KPI panels of the dashboard, read from the chain through the
node's read model (node/views/)."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from eth_utils.address import to_checksum_address
from web3.types import EventData

from gridledger.contracts.enums import Side
from gridledger.contracts.units import J_PER_WH, SECONDS_PER_DAY
from gridledger.node.accounting import ContractTerms, violation_j
from gridledger.node.agents.auto_bid import AutoBidder
from gridledger.node.dashboard.bills import ClearedPrice, bill_of
from gridledger.node.dashboard.forecast import forecast_points
from gridledger.node.dashboard.records import (
    BillsOut,
    CapPanelOut,
    CapsPanelOut,
    ForecastOut,
    KpisOut,
    MarketPanelOut,
    ParticipantCapsOut,
    PccPoint,
    PricePoint,
)
from gridledger.node.views import events
from gridledger.node.views.audit import AuditView, status_out
from gridledger.node.views.chain import ChainView
from gridledger.node.views.market import MarketView, default_interval, delivery_id
from gridledger.node.views.records import ReadingOut

ALL_EVENTS = 100_000
PRICE_HISTORY = 96
"""Cleared intervals in the price chart (a day of 15-minute intervals)."""
OWN_ORDERS = 20
MAX_CAPS = 64
"""Import caps shown (ids 0 .. MAX_CAPS - 1); the REST API pages through the rest."""
MAX_SERIES_READINGS = 10_000
"""Readings scanned per contract for its PCC series (oldest first)."""
KPI_MAX_READINGS = 20_000
BILL_INTERVALS = 96
"""Cleared intervals the bills cover (the latest; a day of 15-minute intervals)."""
FORECAST_MAX_READINGS = 20_000
MAX_CACHED = 16
"""Panel results kept for the current head (the KPI periods asked for are the keys)."""

T = TypeVar("T")


def _all(get: events.Getter, head: int) -> list[EventData]:
    found, _ = events.scan(get, 0, head, lambda _: True, ALL_EVENTS)
    return found


class Panels:
    """Reads for the market, caps and KPI panels."""

    def __init__(
        self,
        chain: ChainView,
        market: MarketView,
        audit: AuditView,
        bidder: AutoBidder | None = None,
    ) -> None:
        self.chain = chain
        self.market = market
        self.audit = audit
        self.bidder = bidder
        self._cache_lock = threading.Lock()
        self._cache_head = b""
        self._cache: dict[Hashable, object] = {}

    def _at_head(self, key: Hashable, compute: Callable[[int], T]) -> T:
        """`compute(head_ts)`, once per head block: the caps and KPI panels are functions of
        the chain alone, and every open page asks for them again after each block (their
        scans read up to KPI_MAX_READINGS, and MAX_SERIES_READINGS per contract)."""
        latest = self.chain.w3.eth.get_block("latest")
        head = bytes(latest["hash"])
        with self._cache_lock:
            if self._cache_head != head:
                self._cache_head, self._cache = head, {}
            if key in self._cache:
                return self._cache[key]  # type: ignore[return-value]
        out = compute(int(latest["timestamp"]))
        with self._cache_lock:
            if self._cache_head == head:
                if len(self._cache) >= MAX_CACHED:
                    del self._cache[next(iter(self._cache))]
                self._cache[key] = out
        return out

    # ------------------------------------------------------------ market
    def market_panel(self) -> MarketPanelOut:
        market = self.chain.contract("Market")
        head = int(self.chain.w3.eth.block_number)
        grid = self.chain.grid()
        every_cleared = _all(events.getter(market, "IntervalCleared"), head)
        last = every_cleared[-1] if every_cleared else None
        cleared = [
            e
            for e in every_cleared
            if int(e["args"]["priceUnitsPerKwh"]) or int(e["args"]["volumeWh"])
        ]  # voidInterval emits IntervalCleared(interval, 0, 0): no price to chart
        prices = [
            PricePoint(
                interval=int(e["args"]["interval"]),
                start_ts=grid.start_ts(int(e["args"]["interval"])),
                price_per_kwh=int(e["args"]["priceUnitsPerKwh"]),
                volume_wh=int(e["args"]["volumeWh"]),
            )
            for e in cleared[-PRICE_HISTORY:]
        ]
        prosumer = self.chain.account("prosumer")
        regulation = self.chain.contract("Regulation").functions
        return MarketPanelOut(
            open_interval=default_interval(self.chain),
            last_cleared_interval=int(last["args"]["interval"]) if last else None,
            price_floor_per_kwh=int(self.chain.call(regulation.priceFloorPerKwh())),
            price_ceiling_per_kwh=int(self.chain.call(regulation.priceCeilingPerKwh())),
            prices=prices,
            prosumer=prosumer,
            own_orders=self.market.orders_of(prosumer, OWN_ORDERS),
        )

    # ------------------------------------------------------------ import caps
    def caps_panel(self) -> CapsPanelOut:
        return self._at_head("caps", lambda _head_ts: self._caps_panel())

    def _caps_panel(self) -> CapsPanelOut:
        page = self.audit.contracts(0, MAX_CAPS)
        trust_of = self.chain.contract("Trust").functions.trustOf
        trusts: dict[str, int] = {}
        panels = []
        for c in page.contracts:
            importer = c.terms.importer
            if importer not in trusts:
                trusts[importer] = int(self.chain.call(trust_of(importer)))
            readings = self.audit.readings(
                to_checksum_address(importer),
                c.terms.valid_from_ts,
                c.terms.valid_to_ts,
                MAX_SERIES_READINGS,
            )
            panels.append(
                CapPanelOut(
                    id=c.id,
                    terms=c.terms,
                    status=c.status,
                    importer_trust_wad=trusts[importer],
                    series=[
                        _pcc_point(r, c.terms)
                        for r in readings.readings
                        if c.terms.applies_at(r.interval_start_ts)
                    ],
                    series_truncated=readings.truncated,
                )
            )
        sums: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        for p in panels:
            row = sums[p.terms.importer]
            row[0] += 1
            row[1] += p.status.violation_wh
            row[2] += p.status.penalty_units
        return CapsPanelOut(
            count=page.count,
            contracts=panels,
            participants=[
                ParticipantCapsOut(
                    participant=who,
                    contracts=n,
                    violation_wh=v,
                    penalty_units=pen,
                    trust_wad=trusts[who],
                )
                for who, (n, v, pen) in sums.items()
            ],
        )

    # ------------------------------------------------------------ KPIs
    def kpis(self, from_ts: int | None, to_ts: int | None) -> KpisOut:
        """Community KPIs over readings starting in [from_ts, to_ts); by default the day up
        to the head's time."""
        return self._at_head(
            ("kpis", from_ts, to_ts), lambda head_ts: self._kpis(head_ts, from_ts, to_ts)
        )

    def _kpis(self, head_ts: int, from_ts: int | None, to_ts: int | None) -> KpisOut:
        to_ts = head_ts + 1 if to_ts is None else to_ts
        from_ts = max(0, to_ts - SECONDS_PER_DAY) if from_ts is None else from_ts
        found = self.audit.readings(None, from_ts, to_ts, KPI_MAX_READINGS)
        totals = community_kpis(found.readings)
        grid = self.chain.grid()
        market = self.chain.contract("Market")
        head = int(self.chain.w3.eth.block_number)
        volume_wh = sum(
            int(e["args"]["volumeWh"])
            for e in _all(events.getter(market, "IntervalCleared"), head)
            if from_ts <= grid.start_ts(int(e["args"]["interval"])) < to_ts
        )
        return KpisOut(
            from_ts=from_ts,
            to_ts=to_ts,
            readings=len(found.readings),
            truncated=found.truncated,
            market_volume_wh=volume_wh,
            import_wh=totals.import_wh,
            export_wh=totals.export_wh,
            local_wh=totals.local_wh,
            grid_import_wh=totals.grid_import_wh,
            grid_export_wh=totals.grid_export_wh,
            self_sufficiency=totals.self_sufficiency,
            self_consumption=totals.self_consumption,
        )

    # ------------------------------------------------------------ bills
    def bills(self) -> BillsOut:
        return self._at_head("bills", lambda _head_ts: self._bills())

    def _bills(self) -> BillsOut:
        market = self.chain.contract("Market")
        head = int(self.chain.w3.eth.block_number)
        cleared_events = [
            e
            for e in _all(events.getter(market, "IntervalCleared"), head)
            if int(e["args"]["priceUnitsPerKwh"]) or int(e["args"]["volumeWh"])
        ][-BILL_INTERVALS:]
        cleared = {}
        for e in cleared_events:
            interval = int(e["args"]["interval"])
            result = self.market.result(interval)
            cleared[interval] = ClearedPrice(result.price_per_kwh, result.network_charge_per_kwh)
        orders = self.market.orders_in(sorted(cleared))
        cap = self.chain.contract("ImportCap").functions
        delivery = {
            o.order_id: status_out(
                self.chain.call, cap, delivery_id(o.owner, o.interval)
            ).penalty_units
            for o in orders
            if o.side is Side.SELL and o.filled_wh > 0
        }
        cap_penalties: dict[str, int] = defaultdict(int)
        caps = self.audit.contracts(0, MAX_CAPS).contracts
        for c in caps:
            cap_penalties[c.terms.importer.lower()] += c.status.penalty_units
        prosumer = self.chain.account("prosumer")
        penalized = {c.terms.importer for c in caps if c.status.penalty_units}
        owners = {o.owner for o in orders} | {to_checksum_address(p) for p in penalized}
        others = sorted(owners - {prosumer})
        return BillsOut(
            intervals=len(cleared),
            from_interval=min(cleared) if cleared else None,
            to_interval=max(cleared) if cleared else None,
            prosumer=prosumer,
            bills=[
                bill_of(who, orders, cleared, delivery, cap_penalties[who.lower()])
                for who in (prosumer, *others)
            ],
        )

    # ------------------------------------------------------------ forecast
    def forecast(self) -> ForecastOut:
        return self._at_head("forecast", self._forecast)

    def _forecast(self, head_ts: int) -> ForecastOut:
        prosumer = self.chain.account("prosumer")
        bidder = self.bidder
        if bidder is None or not bidder.forecasts_energy:
            note = (
                "this node does not bid by itself (gridledger node run --auto-bid), so it "
                "makes no forecast"
                if bidder is None
                else "this node's bidding strategy does not forecast"
            )
            return ForecastOut(
                forecasting=False,
                strategy=None,
                note=note,
                prosumer=prosumer,
                points=[],
            )
        forecasts = bidder.recent_forecasts()
        grid = self.chain.grid()
        readings = []
        if forecasts:
            first = min(f.interval for f in forecasts)
            last = max(f.interval for f in forecasts)
            readings = self.audit.readings(
                prosumer, grid.start_ts(first), grid.start_ts(last + 1), FORECAST_MAX_READINGS
            ).readings
        return ForecastOut(
            forecasting=True,
            strategy=type(bidder.strategy).__name__.lower(),
            note="net import forecast by the bidding strategy against the meter's readings",
            prosumer=prosumer,
            points=forecast_points(forecasts, readings, grid, head_ts),
        )


def _pcc_point(r: ReadingOut, terms: ContractTerms) -> PccPoint:
    """A reading as a point of the PCC chart, its violation by the reference accounting."""
    net_j = (r.import_wh - r.export_wh) * J_PER_WH
    return PccPoint(
        start_ts=r.interval_start_ts,
        p_w=net_j / r.duration_s if r.duration_s else 0.0,
        violation_wh=violation_j(terms, net_j, r.duration_s) // J_PER_WH,
    )


@dataclass(frozen=True, slots=True)
class CommunityEnergy:
    """Energy sums of a set of readings [Wh] and the two ratios (see KpisOut)."""

    import_wh: int
    export_wh: int
    local_wh: int
    grid_import_wh: int
    grid_export_wh: int
    self_sufficiency: float | None
    self_consumption: float | None


def community_kpis(readings: Iterable[ReadingOut]) -> CommunityEnergy:
    """Sums of imports I and exports E per interval start; local L = min(I, E) (see KpisOut)."""
    per_start: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for r in readings:
        row = per_start[r.interval_start_ts]
        row[0] += r.import_wh
        row[1] += r.export_wh
    imp = sum(i for i, _ in per_start.values())
    exp = sum(e for _, e in per_start.values())
    local = sum(min(i, e) for i, e in per_start.values())
    return CommunityEnergy(
        import_wh=imp,
        export_wh=exp,
        local_wh=local,
        grid_import_wh=sum(max(0, i - e) for i, e in per_start.values()),
        grid_export_wh=sum(max(0, e - i) for i, e in per_start.values()),
        self_sufficiency=local / imp if imp else None,
        self_consumption=local / exp if exp else None,
    )
