"""The market's interval grid, read once from Market's immutables and computed locally (the
same formulas as MarketClearing.sol's intervalAt / intervalStartTs / gateClosureTs)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class MarketClock:
    epoch_start_ts: int
    interval_length_s: int
    gate_closure_lead_s: int

    @classmethod
    def of(cls, market: Any) -> MarketClock:
        f = market.functions
        return cls(
            int(f.epochStartTs().call()),
            int(f.intervalLengthS().call()),
            int(f.gateClosureLeadS().call()),
        )

    def interval_at(self, ts: int) -> int:
        return (
            0 if ts < self.epoch_start_ts else (ts - self.epoch_start_ts) // self.interval_length_s
        )

    def start_ts(self, interval: int) -> int:
        return self.epoch_start_ts + interval * self.interval_length_s

    def gate_closure_ts(self, interval: int) -> int:
        return max(0, self.start_ts(interval) - self.gate_closure_lead_s)

    def next_open(self, now_ts: int) -> int:
        """The first interval still accepting orders at `now_ts`."""
        interval = self.interval_at(now_ts) + 1
        return interval if now_ts < self.gate_closure_ts(interval) else interval + 1
