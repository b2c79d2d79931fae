"""The prosumer agent (L1): relays its microgrids' signed meter readings to the ledger in
batches and places one order per microgrid and market interval.

Bidding strategy (node.agents.strategies): persistence by default — the net energy metered
over the last market-interval's worth of readings is expected again in the next open
interval, a sale cut to the export expected there — or `planned`, from the meter's
forecast. A surplus is offered as a sell at
`sell_price_per_kwh`; a deficit is bid as a buy at `buy_price_per_kwh`; nothing below
`min_order_wh`. Orders go to the first interval whose gate is still
open `order_lead_s` from now (time for the order to be mined before the gate). Each
microgrid's participant account signs its own orders; readings are relayed by the
node's relayer account (Metering checks the meters' signatures, not the relayer).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from gridledger.contracts.enums import Side
from gridledger.contracts.typed import SignedReading
from gridledger.node.agents.ledger_client import LedgerClient
from gridledger.node.agents.market_clock import MarketClock
from gridledger.node.agents.strategies import BiddingStrategy, MeterEnergy, Persistence

log = logging.getLogger(__name__)

READING_GAS = 40_000
BATCH_BASE_GAS = 300_000
ORDER_GAS = 400_000
APPROVE_ALL = 2**255


@dataclass
class Strategy:
    """Prices [units/kWh], the smallest order [Wh] and the persistence window [readings]."""

    buy_price_per_kwh: int = 250_000
    sell_price_per_kwh: int = 100_000
    min_order_wh: int = 50
    interval_readings: int = 15
    order_lead_s: int = 600


@dataclass
class _Microgrid:
    client: LedgerClient
    last_interval: int = -1


class ProsumerAgent:
    """`participants`: microgrid -> its participant's ledger client; `relayer` sends readings."""

    def __init__(
        self,
        participants: dict[str, LedgerClient],
        relayer: LedgerClient,
        batch_readings: int = 60,
        strategy: Strategy | None = None,
        trade: bool = True,
        bidding: BiddingStrategy | None = None,
    ) -> None:
        self.strategy = strategy or Strategy()
        self.grids = {name: _Microgrid(client) for name, client in participants.items()}
        self.relayer = relayer
        self.metering = relayer.contract("Metering")
        self.market = relayer.contract("Market")
        self.clock = MarketClock.of(self.market)
        self.bidding = bidding or Persistence(
            self.clock.start_ts, self.strategy.interval_readings, self.strategy.min_order_wh
        )
        self.batch_readings = batch_readings
        self.trade = trade
        self.pending: list[SignedReading] = []
        self.relayed = 0
        self.orders = 0

    def participant_clients(self) -> dict[str, LedgerClient]:
        return {name: grid.client for name, grid in self.grids.items()}

    def approve(self, wait: bool = True) -> None:
        """Let Market and ImportCap pull each participant's tokens (escrow, penalties)."""
        sent = []
        for grid in self.grids.values():
            token = grid.client.contract("GridToken")
            for spender in ("Market", "ImportCap"):
                address = grid.client.deployment.addresses[spender]
                sent.append(
                    grid.client.send(token.functions.approve(address, APPROVE_ALL), 100_000)
                )
        if wait:
            for grid in self.grids.values():
                grid.client.wait([h for h in sent if h in grid.client.sent])

    def on_tick(self, now_ts: int, readings: dict[str, SignedReading]) -> None:
        """Take this tick's signed readings of our microgrids; relay a full batch; order."""
        for name, signed in readings.items():
            grid = self.grids.get(name)
            if grid is None:
                continue
            self.pending.append(signed)
            r = signed.reading
            self.bidding.observe(name, MeterEnergy(r.interval_start_ts, r.import_wh, r.export_wh))
        if len(self.pending) >= self.batch_readings:
            self.flush()
        if self.trade:
            self._order(now_ts)

    def flush(self) -> None:
        """Relay every pending reading in one Metering batch."""
        if not self.pending:
            return
        batch, self.pending = self.pending, []
        call = self.metering.functions.submitReadings(
            [s.reading.as_abi() for s in batch], [s.signature.as_abi() for s in batch]
        )
        self.relayer.send(call, BATCH_BASE_GAS + READING_GAS * len(batch))
        self.relayed += len(batch)

    def _order(self, now_ts: int) -> None:
        interval = self.clock.next_open(now_ts + self.strategy.order_lead_s)
        for name, grid in self.grids.items():
            if grid.last_interval >= interval:
                continue
            intent = self.bidding.intent(name, interval)
            if intent is None:
                continue
            grid.last_interval = interval
            if intent.side is None:
                continue
            side, quantity_wh = intent.side, intent.quantity_wh
            price = (
                self.strategy.buy_price_per_kwh
                if side is Side.BUY
                else self.strategy.sell_price_per_kwh
            )
            market = grid.client.contract("Market")
            call = market.functions.placeOrder(interval, int(side), quantity_wh, price)
            grid.client.send(call, ORDER_GAS)
            self.orders += 1
            log.debug("%s: %s %d Wh for interval %d", name, side.name, quantity_wh, interval)
