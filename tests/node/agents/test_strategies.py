"""The prosumer agent's bidding strategies (node.agents.strategies) and how the agent uses
them; no chain: the agent's ledger clients are fakes that record placeOrder calls."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import pytest

from gridledger.contracts.enums import Side
from gridledger.contracts.typed import MeterReading, MeterSignature, SignedReading
from gridledger.market.planning.bidding import OrderIntent, persistence_order
from gridledger.node.agents import strategies
from gridledger.node.agents.ledger_client import LedgerClient
from gridledger.node.agents.market_clock import MarketClock
from gridledger.node.agents.prosumer import ProsumerAgent, Strategy
from gridledger.node.agents.strategies import MeterEnergy, Persistence, Planned
from gridledger.node.cli import demo as cli_demo
from gridledger.node.errors import NodeError

EPOCH_TS = 1_800_000_000
CLOCK = MarketClock(EPOCH_TS, 900, 1_800)


def test_persistence_waits_for_an_interval_of_readings_then_orders_its_net() -> None:
    p = Persistence(interval_readings=3)
    for imp, exp in ((10, 0), (0, 200)):
        p.observe("mg", MeterEnergy(0, imp, exp))
    assert p.intent("mg", 5) is None  # two readings of three
    assert p.intent("other", 5) is None
    p.observe("mg", MeterEnergy(0, 0, 100))
    assert p.intent("mg", 5) == persistence_order(-290) == OrderIntent(Side.SELL, 290)
    p.observe("mg", MeterEnergy(0, 400, 0))  # the window slides: 0-200, 0-100, 400-0
    assert p.intent("mg", 6) == OrderIntent(Side.BUY, 100)


def _steps(first_ts: int, n: int, import_wh: int, export_wh: int) -> list[MeterEnergy]:
    return [MeterEnergy(first_ts + 60 * i, import_wh, export_wh) for i in range(n)]


def test_planned_sums_readings_per_market_interval_and_needs_its_history() -> None:
    planned = Planned(CLOCK, history_days=2)
    assert planned.intent("mg", 3) is None  # nothing metered
    for e in _steps(EPOCH_TS - 300, 20, 5, 1):  # 5 min before the epoch, then 15 after
        planned.observe("mg", e)
    sums = planned._sums["mg"]
    assert sums[-1] == [25, 5, 5] and sums[0] == [75, 15, 15]  # interval -1 only partly
    assert planned.intent("mg", 3) == OrderIntent(None, 0)  # no 2-day history: no order


def _metered(ts: int) -> MeterEnergy:
    """The test meter's step at ``ts``: 10-14 h it exports 40-44 Wh, else imports 10-12 Wh."""
    i = ts // 60
    if 10 <= (ts % 86_400) // 3600 < 14:
        return MeterEnergy(ts, 0, 40 + i % 5)
    return MeterEnergy(ts, 10 + i % 3, 0)


def test_planned_sells_the_forecast_export_and_buys_the_forecast_import() -> None:
    history = [_metered(ts) for ts in range(EPOCH_TS - 3 * 86_400, EPOCH_TS, 60)]
    planned = Planned(CLOCK, history_days=3, history={"mg": history})
    intents = {}
    for interval in range(96):  # a day of intervals; each asked for 5 intervals ahead
        for ts in range(CLOCK.start_ts(interval), CLOCK.start_ts(interval + 1), 60):
            planned.observe("mg", _metered(ts))
        intent = planned.intent("mg", interval + 5)
        assert intent is not None
        intents[(CLOCK.start_ts(interval + 5) % 86_400) // 3600] = intent
    assert intents[12].side is Side.SELL
    assert 500 <= intents[12].quantity_wh <= 630  # what every sunny interval exports
    assert intents[22].side is Side.BUY and 150 <= intents[22].quantity_wh <= 180


def test_planned_refuses_intervals_that_are_not_whole_steps() -> None:
    with pytest.raises(NodeError, match="intervals of 900 s and steps of 120 s"):
        Planned(CLOCK, step_s=120 * 1)  # 900 / 120 is not whole
    assert strategies.STRATEGIES == cli_demo.STRATEGIES


@dataclass
class _Call:
    name: str
    args: tuple[Any, ...]

    def call(self) -> int:
        return {"epochStartTs": EPOCH_TS, "intervalLengthS": 900, "gateClosureLeadS": 1800}[
            self.name
        ]


class _Functions:
    def __getattr__(self, name: str) -> Any:
        return lambda *args: _Call(name, args)


@dataclass
class _Contract:
    functions: _Functions = field(default_factory=_Functions)


@dataclass
class _Client:
    """The part of LedgerClient the agent uses to order."""

    sent: list[_Call] = field(default_factory=list)

    def contract(self, name: str) -> _Contract:
        return _Contract()

    def send(self, call: _Call, gas: int) -> bytes:
        self.sent.append(call)
        return b"\x00" * 32


@dataclass
class _Scripted:
    """A strategy answering from a script: None first (not ready), then its intents."""

    script: list[OrderIntent | None]
    seen: list[MeterEnergy] = field(default_factory=list)

    def observe(self, microgrid: str, energy: MeterEnergy) -> None:
        self.seen.append(energy)

    def intent(self, microgrid: str, interval: int) -> OrderIntent | None:
        return self.script.pop(0)


def _signed(ts: int) -> SignedReading:
    reading = MeterReading("0x" + "11" * 20, "0x" + "22" * 20, ts, 60, 7, 3, 1)
    return SignedReading(reading, MeterSignature(27, b"\x01" * 32, b"\x02" * 32))


def test_the_agent_orders_what_its_strategy_intends_once_per_interval() -> None:
    client = _Client()
    strategy = _Scripted([None, OrderIntent(Side.SELL, 640), OrderIntent(Side.BUY, 90)])
    agent = ProsumerAgent(
        {"mg": cast(LedgerClient, client)},
        cast(LedgerClient, _Client()),
        strategy=Strategy(order_lead_s=600),
        bidding=strategy,
        batch_readings=1_000,
    )
    now = EPOCH_TS + 3_600
    agent.on_tick(now, {"mg": _signed(now - 60), "not ours": _signed(now - 60)})
    assert strategy.seen == [MeterEnergy(now - 60, 7, 3)] and client.sent == []  # not ready
    agent.on_tick(now + 60, {"mg": _signed(now)})  # ready: sells 640 Wh at the sell price
    agent.on_tick(now + 120, {"mg": _signed(now + 60)})  # same interval: not asked again
    interval = CLOCK.next_open(now + 60 + 600)
    assert [(c.name, c.args) for c in client.sent] == [
        ("placeOrder", (interval, int(Side.SELL), 640, Strategy().sell_price_per_kwh))
    ]
    assert agent.orders == 1 and strategy.script == [OrderIntent(Side.BUY, 90)]
