"""A prosumer node bidding by itself (`--auto-bid`): every `poll_s` it feeds its prosumer's
readings accepted on chain (ReadingAccepted events, whoever relayed them) to its bidding
strategy (node.agents.strategies; persistence by default, a sale cut to the export expected
in the interval ordered) and, once per interval, orders what the strategy intends for the
first interval whose gate is still open `order_lead_s` from the chain's now: a surplus
offered at the sell price, a deficit bid at the buy price, nothing below the strategy's
smallest order. The order goes through the node's own order path (the REST API's, with its
checks), passed in as `place`."""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from gridledger.contracts.enums import Side
from gridledger.node.agents.strategies import (
    BiddingStrategy,
    Forecasting,
    MeterEnergy,
    Persistence,
)
from gridledger.node.config import AutoBidConfig
from gridledger.node.views import events
from gridledger.node.views.chain import ChainView

log = logging.getLogger(__name__)

SELF = "self"
Place = Callable[[Side, int, int, int], object]
"""(side, quantity [Wh], limit [units/kWh], interval) -> the placed order."""
FORECASTS_KEPT = 96
"""Forecasts the bidder remembers (a day of 15-minute intervals; the dashboard shows them)."""


@dataclass(frozen=True, slots=True)
class OrderedForecast:
    """The strategy's forecast of the prosumer's net import [Wh] (> 0 import) for `interval`
    and what was ordered on it (side None: nothing, below the smallest order)."""

    interval: int
    net_import_wh: float
    side: Side | None
    quantity_wh: int


class AutoBidder:
    """The node's prosumer bidding by itself (module docstring)."""

    def __init__(
        self,
        chain: ChainView,
        place: Place,
        prices: AutoBidConfig,
        strategy: BiddingStrategy | None = None,
    ) -> None:
        self.chain = chain
        self.place = place
        self.prices = prices
        self.strategy = strategy or Persistence(
            lambda interval: chain.grid().start_ts(interval),
            prices.interval_readings,
            prices.min_order_wh,
        )
        self.next_block = 0
        self.last_interval = -1
        self.orders = 0
        self.forecasts: deque[OrderedForecast] = deque(maxlen=FORECASTS_KEPT)
        self._forecasts_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> AutoBidder:
        self._thread = threading.Thread(target=self._run, daemon=True, name="auto-bid")
        self._thread.start()
        self.chain.service.on_stop.append(self.stop)
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self.prices.poll_s):
            try:
                self.tick()
            except Exception as exc:  # a refused order or a ledger hiccup: next round
                log.warning("auto-bid round failed: %s", exc)

    def observe(self) -> int:
        """Feed the prosumer's readings accepted since the last call; how many."""
        metering = self.chain.contract("Metering")
        head = int(self.chain.w3.eth.block_number)
        if head < self.next_block:
            return 0
        participant = self.chain.account("prosumer")
        get = events.getter(metering, "ReadingAccepted", {"participant": participant})
        found, _ = events.scan(get, self.next_block, head, lambda _e: True, 1_000_000)
        for e in found:
            a = e["args"]
            energy = MeterEnergy(int(a["intervalStartTs"]), int(a["importWh"]), int(a["exportWh"]))
            self.strategy.observe(SELF, energy)
        self.next_block = head + 1
        return len(found)

    def tick(self) -> int | None:
        """Observe, then order for the next open interval once; the interval ordered."""
        self.observe()
        now_ts = int(self.chain.w3.eth.get_block("latest")["timestamp"])
        interval = self.chain.grid().first_open_after(now_ts + self.prices.order_lead_s)
        if interval <= self.last_interval:
            return None
        intent = self.strategy.intent(SELF, interval)
        if intent is None:
            return None  # not enough readings yet: ask again next round
        self.last_interval = interval
        self.remember(interval, intent.side, intent.quantity_wh)
        if intent.side is None:
            return None
        buy = intent.side is Side.BUY
        price = self.prices.buy_price_per_kwh if buy else self.prices.sell_price_per_kwh
        self.place(intent.side, intent.quantity_wh, price, interval)
        self.orders += 1
        log.info(
            "auto-bid: %s %d Wh at %d units/kWh in interval %d",
            intent.side.label,
            intent.quantity_wh,
            price,
            interval,
        )
        return interval

    @property
    def forecasts_energy(self) -> bool:
        """Whether the strategy tells the forecast behind its orders (Forecasting)."""
        return callable(getattr(self.strategy, "last_forecast", None))

    def remember(self, interval: int, side: Side | None, quantity_wh: int) -> None:
        """Keep the strategy's forecast for `interval` (its latest) with what was ordered."""
        if not self.forecasts_energy:
            return
        strategy: Forecasting = self.strategy  # type: ignore[assignment]
        forecast = strategy.last_forecast(SELF)
        if forecast is not None and forecast.interval == interval:
            with self._forecasts_lock:
                self.forecasts.append(
                    OrderedForecast(interval, forecast.net_import_wh, side, quantity_wh)
                )

    def recent_forecasts(self) -> list[OrderedForecast]:
        """The forecasts kept, oldest first (read from another thread than the bidder's)."""
        with self._forecasts_lock:
            return list(self.forecasts)
