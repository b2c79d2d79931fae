"""The prosumer agent's decisions, without a chain: readings are relayed in batches of
`batch_readings` with gas for each, and once a market interval's worth of readings is in, one
order per microgrid goes to the first interval still open `order_lead_s` ahead: a buy at the
buy price for a forecast deficit, a sell for a surplus, nothing below `min_order_wh`."""

from __future__ import annotations

from gridledger.contracts.enums import Side
from gridledger.contracts.typed import MeterReading, MeterSignature, SignedReading
from gridledger.node.agents.market_clock import MarketClock
from gridledger.node.agents.prosumer import (
    BATCH_BASE_GAS,
    ORDER_GAS,
    READING_GAS,
    ProsumerAgent,
    Strategy,
)
from tests.node.agents.fakes import MARKET_GRID, FakeClient, FakeContract

METER = "0x" + "33" * 20
PARTICIPANT = "0x" + "44" * 20
RELAYER = "0x" + "55" * 20
SIGNATURE = MeterSignature(27, b"\x01" * 32, b"\x02" * 32)
STEP_S = 60


def _agent(batch: int = 60) -> tuple[ProsumerAgent, FakeClient, FakeClient]:
    contracts = {
        "Metering": FakeContract("Metering"),
        "Market": FakeContract("Market", MARKET_GRID),
        "GridToken": FakeContract("GridToken"),
        "ImportCap": FakeContract("ImportCap"),
    }
    participant = FakeClient(PARTICIPANT, contracts)
    relayer = FakeClient(RELAYER, contracts)
    agent = ProsumerAgent(
        {"MG1": participant},  # type: ignore[dict-item]
        relayer,  # type: ignore[arg-type]
        batch_readings=batch,
        strategy=Strategy(),
    )
    return agent, participant, relayer


def _reading(seq: int, import_wh: int, export_wh: int) -> SignedReading:
    start = MARKET_GRID["epochStartTs"] + seq * STEP_S
    reading = MeterReading(METER, PARTICIPANT, start, STEP_S, import_wh, export_wh, seq)
    return SignedReading(reading, SIGNATURE)


def _feed(agent: ProsumerAgent, count: int, import_wh: int, export_wh: int, first: int = 1) -> int:
    now = MARKET_GRID["epochStartTs"]
    for seq in range(first, first + count):
        now = MARKET_GRID["epochStartTs"] + seq * STEP_S
        agent.on_tick(now, {"MG1": _reading(seq, import_wh, export_wh), "MG9": _reading(seq, 1, 0)})
    return now


def test_readings_are_relayed_in_full_batches_and_flushed() -> None:
    agent, _, relayer = _agent(batch=4)
    agent.trade = False
    _feed(agent, 10, 100, 0)
    batches = relayer.named("submitReadings")
    assert [len(args[0]) for args, _ in batches] == [4, 4]
    assert [gas for _, gas in batches] == [BATCH_BASE_GAS + 4 * READING_GAS] * 2
    agent.flush()
    assert len(relayer.named("submitReadings")[-1][0][0]) == 2
    assert agent.relayed == 10  # MG9 is not ours: its readings are not relayed


def test_a_forecast_deficit_is_bid_once_per_interval() -> None:
    agent, participant, _ = _agent()
    now = _feed(agent, 14, 100, 0)
    assert participant.named("placeOrder") == []  # 14 readings: no forecast yet
    now = _feed(agent, 1, 100, 0, first=15)
    clock = MarketClock.of(FakeContract("Market", MARKET_GRID))
    interval = clock.next_open(now + Strategy().order_lead_s)
    assert participant.named("placeOrder") == [
        ((interval, int(Side.BUY), 1_500, Strategy().buy_price_per_kwh), ORDER_GAS)
    ]
    agent.on_tick(now + 1, {})
    assert len(participant.named("placeOrder")) == 1


def test_a_surplus_is_offered_and_a_small_one_is_not() -> None:
    agent, participant, _ = _agent()
    _feed(agent, 15, 0, 100)
    ((args, _),) = participant.named("placeOrder")
    assert (args[1], args[2], args[3]) == (int(Side.SELL), 1_500, Strategy().sell_price_per_kwh)
    small, small_participant, _ = _agent()
    _feed(small, 15, 3, 0)  # 45 Wh < min_order_wh
    assert small_participant.named("placeOrder") == []
