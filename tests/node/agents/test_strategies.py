"""The prosumer agent's bidding strategies (node.agents.strategies) and how the agent uses
them; no chain: the agent's ledger clients are fakes that record placeOrder calls."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridledger.contracts.enums import BoundKind, Side
from gridledger.contracts.typed import MeterReading, MeterSignature, SignedReading
from gridledger.market.planning.bidding import OrderIntent, persistence_order
from gridledger.node.accounting import ContractTerms, violation_j
from gridledger.node.agents import strategies
from gridledger.node.agents.ledger_client import LedgerClient
from gridledger.node.agents.market_clock import MarketClock
from gridledger.node.agents.prosumer import ProsumerAgent, Strategy
from gridledger.node.agents.strategies import IntervalForecast, MeterEnergy, Persistence, Planned
from gridledger.node.cli import demo as cli_demo
from gridledger.node.errors import NodeError

EPOCH_TS = 1_800_000_000
CLOCK = MarketClock(EPOCH_TS, 900, 1_800)


def test_persistence_waits_for_an_interval_of_readings_then_orders_its_net() -> None:
    p = Persistence(CLOCK.start_ts, interval_readings=3, trend_intervals=1)
    for i, (imp, exp) in enumerate(((10, 0), (0, 200))):
        p.observe("mg", MeterEnergy(EPOCH_TS + 60 * i, imp, exp))
    assert p.intent("mg", 5) is None  # two readings of three
    assert p.intent("other", 5) is None
    p.observe("mg", MeterEnergy(EPOCH_TS + 120, 0, 100))
    # the net of the three readings is a surplus of 290 Wh, but one step imported: the
    # export expected in the interval is nothing, so no sale
    assert persistence_order(-290) == OrderIntent(Side.SELL, 290)
    assert p.expected_export_wh("mg", 5) == 0.0
    assert p.intent("mg", 5) == OrderIntent(None, 0)
    assert p.last_forecast("mg") == IntervalForecast(5, -290.0)  # the forecast behind it
    p.observe("mg", MeterEnergy(EPOCH_TS + 180, 400, 0))  # the window slides: 0-200, 0-100, 400-0
    assert p.intent("mg", 6) == OrderIntent(Side.BUY, 100)  # a buy is the net as is
    assert p.last_forecast("mg") == IntervalForecast(6, 100.0)
    assert p.last_forecast("other") is None


def _feed(p: Persistence, first_ts: int, exports_wh: list[int]) -> None:
    """One-minute steps from ``first_ts``: a positive value exported, a negative imported."""
    for i, x in enumerate(exports_wh):
        p.observe("mg", MeterEnergy(first_ts + 60 * i, max(-x, 0), max(x, 0)))


def test_persistence_sells_no_more_than_the_least_step_of_a_steady_export() -> None:
    p = Persistence(CLOCK.start_ts, interval_readings=15)
    # a steady export with dips: 15 steps averaging 60 Wh, the least 40 Wh; the trend does
    # not fall, so each step of any interval ahead is expected to export 40 Wh at least
    steps = [70, 50, 60, 40, 80] * 3
    _feed(p, EPOCH_TS, steps)
    assert [p.expected_export_wh("mg", i) for i in (2, 4, 9)] == [600.0] * 3
    assert p.intent("mg", 4) == OrderIntent(Side.SELL, 600)
    assert persistence_order(-sum(steps)) == OrderIntent(Side.SELL, 900)  # uncapped


def test_persistence_follows_a_falling_export_to_the_end_of_the_interval_ordered() -> None:
    p = Persistence(CLOCK.start_ts, interval_readings=15)
    # an hour of export falling by 1 Wh a minute, from 80 to 21 Wh per step
    _feed(p, EPOCH_TS, list(range(80, 20, -1)))
    last_ts = EPOCH_TS + 59 * 60
    # interval 5 ends 31 minutes after the last step: 21 - 31 < 0 Wh, nothing to sell
    assert CLOCK.start_ts(6) - last_ts == 31 * 60
    assert p.expected_export_wh("mg", 5) == 0.0
    assert p.intent("mg", 5) == OrderIntent(None, 0)
    # interval 4 ends 16 minutes after it: 21 - 16 = 5 Wh a step, 75 Wh in all
    assert p.expected_export_wh("mg", 4) == pytest.approx(75.0)
    assert p.intent("mg", 4) == OrderIntent(Side.SELL, 75)
    # the last interval's net is a 420 Wh surplus: uncapped persistence sells all of it
    assert persistence_order(-sum(range(35, 20, -1))) == OrderIntent(Side.SELL, 420)


@settings(max_examples=200, deadline=None)
@given(
    start=st.integers(0, 400),
    slope=st.integers(-5, 3),
    readings=st.integers(15, 90),
    ahead=st.integers(0, 8),
)
def test_a_sale_never_exceeds_what_a_steadily_changing_meter_exports(
    start: int, slope: int, readings: int, ahead: int
) -> None:
    """A meter whose per-step net export changes by ``slope`` Wh every minute (falling,
    steady or rising; a negative value imports): whatever interval the strategy is asked for,
    every step of it exports at least the sold average, so the delivery falls short of
    nothing, the on-chain check's rule (node.accounting.violation_j with the delivery's
    bound). The uncapped persistence order fails this on every falling export."""
    p = Persistence(CLOCK.start_ts, interval_readings=15)
    first_ts = EPOCH_TS + 3_600

    def export_at(ts: int) -> int:
        return start + slope * (ts - first_ts) // 60

    _feed(p, first_ts, [export_at(first_ts + 60 * i) for i in range(readings)])
    now_ts = first_ts + 60 * readings
    interval = CLOCK.next_open(now_ts) + ahead
    intent = p.intent("mg", interval)
    assert intent is not None
    if intent.side is not Side.SELL:
        return
    terms_upper_w = -(intent.quantity_wh * 3600 // 900)  # the delivery's bound
    for ts in range(CLOCK.start_ts(interval), CLOCK.start_ts(interval + 1), 60):
        net_j = -export_at(ts) * 3600
        assert violation_j_upper(terms_upper_w, net_j, 60) == 0


def violation_j_upper(upper_w: int, net_j: int, duration_s: int) -> int:
    """node.accounting.violation_j of an Upper bound (a delivery obligation)."""
    terms = ContractTerms(
        importer="0x" + "11" * 20,
        kind=BoundKind.UPPER,
        upper_w=upper_w,
        lower_w=0,
        valid_from_ts=0,
        valid_to_ts=2**40,
        lambda_units_per_kwh=0,
        beta_wad_per_kwh=0,
        counterparty="0x" + "22" * 20,
        window_start_s=0,
        window_end_s=0,
    )
    return violation_j(terms, net_j, duration_s)


@settings(max_examples=300, deadline=None)
@given(
    exports=st.lists(st.integers(-300, 300), min_size=1, max_size=80),
    interval_readings=st.integers(1, 20),
    ahead=st.integers(0, 10),
)
def test_a_sale_never_exceeds_the_expected_export_nor_the_least_recent_step(
    exports: list[int], interval_readings: int, ahead: int
) -> None:
    """Any metered steps: a sale is at most the export expected in the interval ordered,
    at most the last interval's least step that many times, at most its net surplus and at
    least the smallest order; with nothing expected, nothing is sold."""
    p = Persistence(CLOCK.start_ts, interval_readings=interval_readings, min_order_wh=50)
    _feed(p, EPOCH_TS, exports)
    interval = CLOCK.next_open(EPOCH_TS + 60 * len(exports)) + ahead
    intent = p.intent("mg", interval)
    if len(exports) < interval_readings:
        assert intent is None
        return
    assert intent is not None
    last = exports[-interval_readings:]
    expected = p.expected_export_wh("mg", interval)
    assert 0.0 <= expected <= interval_readings * max(min(last), 0)
    if intent.side is Side.SELL:
        assert 50 <= intent.quantity_wh <= min(expected, sum(last))
    if expected < 50:
        assert intent.side is not Side.SELL


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
        forecast = planned.last_forecast("mg")
        assert forecast is not None and forecast.interval == interval + 5
        if intent.side is Side.BUY:  # a buy is the forecast net import, rounded
            assert abs(intent.quantity_wh - forecast.net_import_wh) <= 1
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


def test_the_agent_bids_by_persistence_on_the_market_clock_by_default() -> None:
    client = _Client()
    agent = ProsumerAgent(
        {"mg": cast(LedgerClient, client)},
        cast(LedgerClient, _Client()),
        strategy=Strategy(order_lead_s=600),
        batch_readings=1_000,
    )
    assert isinstance(agent.bidding, Persistence)
    assert agent.bidding.interval_start_ts(7) == CLOCK.start_ts(7)
    # 15 steps of 7 Wh imported, 3 exported (the fake reading): a buy of the 60 Wh net
    now = EPOCH_TS + 3_600
    for i in range(15):
        agent.on_tick(now + 60 * i, {"mg": _signed(now + 60 * (i - 1))})
    interval = CLOCK.next_open(now + 60 * 14 + 600)
    assert [(c.name, c.args) for c in client.sent] == [
        ("placeOrder", (interval, int(Side.BUY), 60, Strategy().buy_price_per_kwh))
    ]
