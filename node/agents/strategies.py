"""The prosumer agent's bidding strategies: what to order for a microgrid and market interval.

A strategy sees every metered reading of the microgrids it bids for (``observe``) and, asked
for an interval (``intent``), answers an ``OrderIntent`` (side and quantity [Wh], or no
order) or None when it cannot decide yet (the agent asks again on the next tick). Prices
stay the agent's (``node.agents.prosumer.Strategy``).

- ``persistence`` (the default): the net energy metered over the last interval's worth of
  readings is expected again (``market.planning.bidding.persistence_order``, the rule
  ``gridledger reproduce bidding`` scores), a sale cut to the export the meter is expected
  to have in the interval ordered, which is later (an hour in the demo): the least step of
  the last interval, or less when the last hour's export falls and keeps falling until the
  interval's end (``export_floor_wh``);
- ``planned``: the meter's forecast (``market.planning.meter_bidding.MeterBidder``): the
  readings, summed per market interval on the market's own grid and preceded by the meter's
  history, are forecast to the interval ordered; a sale never exceeds the q05 forecast of
  the export.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from gridledger.contracts.enums import Side
from gridledger.market.forecast.forest import ForecastConfig
from gridledger.market.planning.bidding import (
    MIN_ORDER_WH,
    OrderIntent,
    capped_sell,
    export_floor_wh,
    persistence_order,
)
from gridledger.market.planning.meter_bidding import NO_ORDER, MeterBidder, capped_order
from gridledger.node.agents.market_clock import MarketClock
from gridledger.node.errors import NodeError

STRATEGIES = ("persistence", "planned")


@dataclass(frozen=True, slots=True)
class MeterEnergy:
    """One metered step: it starts at ``start_ts`` [unix s]; energies [Wh]."""

    start_ts: int
    import_wh: int
    export_wh: int


class BiddingStrategy(Protocol):
    """What the prosumer agent asks of a strategy (module docstring)."""

    def observe(self, microgrid: str, energy: MeterEnergy) -> None: ...

    def intent(self, microgrid: str, interval: int) -> OrderIntent | None: ...


@dataclass(frozen=True, slots=True)
class IntervalForecast:
    """What a strategy expected ``microgrid`` to meter in ``interval`` when it decided its
    order: net import [Wh] (> 0 import, < 0 export)."""

    interval: int
    net_import_wh: float


class Forecasting(Protocol):
    """A strategy that forecasts: its forecast behind the latest ``intent`` per microgrid."""

    def last_forecast(self, microgrid: str) -> IntervalForecast | None: ...


@dataclass
class Persistence:
    """The last ``interval_readings`` readings' net energy, ordered again; a sale never more
    than ``expected_export_wh``. ``interval_start_ts`` maps a market interval to its start
    [unix s] (``MarketClock.start_ts``); ``interval_readings`` readings make an interval."""

    interval_start_ts: Callable[[int], int]
    interval_readings: int = 15
    min_order_wh: int = MIN_ORDER_WH
    trend_intervals: int = 4
    """How many intervals of readings the export's trend is taken over (an hour: about as
    long as the demo's orders look ahead)."""
    _recent: dict[str, deque[tuple[int, int]]] = field(default_factory=dict)
    _forecasts: dict[str, IntervalForecast] = field(default_factory=dict)

    def last_forecast(self, microgrid: str) -> IntervalForecast | None:
        """The net energy the latest ``intent`` for ``microgrid`` expected (persistence: the
        last interval's net again)."""
        return self._forecasts.get(microgrid)

    def observe(self, microgrid: str, energy: MeterEnergy) -> None:
        recent = self._recent.get(microgrid)
        if recent is None:
            size = max(self.trend_intervals, 1) * self.interval_readings
            recent = self._recent[microgrid] = deque(maxlen=size)
        recent.append((energy.start_ts, energy.export_wh - energy.import_wh))

    def intent(self, microgrid: str, interval: int) -> OrderIntent | None:
        recent = self._recent.get(microgrid)
        if recent is None or len(recent) < self.interval_readings:
            return None
        last = list(recent)[-self.interval_readings :]
        net_import_wh = -sum(x for _, x in last)
        self._forecasts[microgrid] = IntervalForecast(interval, float(net_import_wh))
        intent = persistence_order(net_import_wh, self.min_order_wh)
        if intent.side is not Side.SELL:
            return intent
        return capped_sell(intent, self.expected_export_wh(microgrid, interval), self.min_order_wh)

    def expected_export_wh(self, microgrid: str, interval: int) -> float:
        """The export [Wh] ``microgrid`` is expected to meter in ``interval`` at the least:
        ``interval_readings`` steps at ``export_floor_wh`` of its readings (0 when it is
        expected to import, or without readings)."""
        recent = self._recent.get(microgrid)
        if not recent:
            return 0.0
        end_ts = self.interval_start_ts(interval + 1)
        floor = export_floor_wh(list(recent), self.interval_readings, end_ts)
        return self.interval_readings * max(floor, 0.0)


@dataclass
class Planned:
    """Orders from the meter's forecast (module docstring); ``history`` is each microgrid's
    metered steps before the run (at least ``history_days`` days of them to bid at all)."""

    clock: MarketClock
    step_s: int = 60
    history_days: int = 7
    horizon_intervals: int = 8
    min_order_wh: int = MIN_ORDER_WH
    history: Mapping[str, Iterable[MeterEnergy]] = field(default_factory=dict)
    _sums: dict[str, dict[int, list[int]]] = field(default_factory=dict, init=False)
    _bidders: dict[str, tuple[int, MeterBidder]] = field(default_factory=dict, init=False)
    _forecasts: dict[str, IntervalForecast] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        length_s = self.clock.interval_length_s
        if length_s % self.step_s or 86_400 % length_s:
            raise NodeError(
                f"the planned strategy needs market intervals of whole metering steps that "
                f"divide a day; got intervals of {length_s} s and steps of {self.step_s} s"
            )
        for microgrid, energies in self.history.items():
            for energy in energies:
                self.observe(microgrid, energy)

    def _index(self, ts: int) -> int:
        return (ts - self.clock.epoch_start_ts) // self.clock.interval_length_s

    def observe(self, microgrid: str, energy: MeterEnergy) -> None:
        sums = self._sums.setdefault(microgrid, {})
        acc = sums.setdefault(self._index(energy.start_ts), [0, 0, 0])
        acc[0] += energy.import_wh
        acc[1] += energy.export_wh
        acc[2] += 1

    def intent(self, microgrid: str, interval: int) -> OrderIntent | None:
        full = self.clock.interval_length_s // self.step_s
        sums = self._sums.get(microgrid, {})
        complete = [i for i, acc in sums.items() if acc[2] == full]
        if not complete:
            return None
        first, last = min(complete), max(complete)
        bidder = self._bidder(microgrid, first)
        series = np.array([sums.get(i, [0, 0, 0])[:2] for i in range(first, last + 1)])
        fc = bidder.forecast_of(series[:, 0], series[:, 1], interval - first)
        if fc is None:
            return NO_ORDER
        self._forecasts[microgrid] = IntervalForecast(interval, fc.expected_net_wh)
        return capped_order(fc, self.min_order_wh)

    def last_forecast(self, microgrid: str) -> IntervalForecast | None:
        """The forecast behind the latest ``intent`` for ``microgrid`` (q50 import - q50
        export), None before one was made."""
        return self._forecasts.get(microgrid)

    def _bidder(self, microgrid: str, first: int) -> MeterBidder:
        """The microgrid's forecaster, its series starting at interval ``first``."""
        known = self._bidders.get(microgrid)
        if known is not None and known[0] == first:
            return known[1]
        per_day = 86_400 // self.clock.interval_length_s
        start_ts = self.clock.epoch_start_ts + first * self.clock.interval_length_s
        config = ForecastConfig(
            history_ticks=self.history_days * per_day,
            horizon_ticks=self.horizon_intervals,
            retrain_every_ticks=per_day,
            dt_s=self.clock.interval_length_s,
            start_hour_h=(start_ts % 86_400) / 3600.0,
        )
        bidder = MeterBidder(config, self.min_order_wh)
        self._bidders[microgrid] = (first, bidder)
        return bidder
