"""A prosumer node bidding by itself (node/agents/auto_bid.py) on an in-process node: nothing
before its meter's readings are on chain; then, from the persistence of the last readings, a
sell of a steady surplus and (an interval later) a buy of a deficit at the configured prices, each
once per interval, through the node's own order path."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from eth_account.signers.local import LocalAccount

from gridledger.contracts.enums import Side
from gridledger.contracts.typed import MeterReading, domain_separator, sign_reading
from gridledger.contracts.units import TOKEN_UNITS
from gridledger.node.agents.auto_bid import AutoBidder
from gridledger.node.config import AutoBidConfig
from tests.node.rest.inprocess import InProcessNode

WINDOW = 3
STEP_S = 60
CONFIG = AutoBidConfig(
    buy_price_per_kwh=240_000, sell_price_per_kwh=110_000, interval_readings=WINDOW
)


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessNode]:
    node = InProcessNode(tmp_path_factory.mktemp("autobid") / "data")
    node.admit_prosumer(100 * TOKEN_UNITS)
    yield node
    node.stop()


class Meter:
    """The prosumer's meter: signs contiguous 60 s readings ending before the head."""

    def __init__(self, node: InProcessNode, key: LocalAccount) -> None:
        self.node, self.key, self.seq = node, key, 0
        self.next_start_ts = node.head_ts() - 3600

    def report(self, net_wh: list[int]) -> None:
        prosumer = self.node.address("prosumer")
        readings = []
        for wh in net_wh:
            self.seq += 1
            imported, exported = max(wh, 0), max(-wh, 0)
            readings.append(
                MeterReading(
                    self.key.address,
                    prosumer,
                    self.next_start_ts,
                    STEP_S,
                    imported,
                    exported,
                    self.seq,
                )
            )
            self.next_start_ts += STEP_S
        metering = self.node.contract("Metering")
        separator = domain_separator(self.node.w3.eth.chain_id, metering.address)
        signatures = [sign_reading(r, self.key.key, separator).as_abi() for r in readings]
        call = metering.functions.submitReadings([r.as_abi() for r in readings], signatures)
        self.node.send("operator", call)


def order_count(node: InProcessNode, interval: int) -> int:
    return int(node.contract("Market").functions.orderCount(interval).call())


def test_it_bids_from_its_readings_once_per_interval(node: InProcessNode) -> None:
    assert node.prosumer_meter is not None
    desk = node.app.state.rest.desk
    bidder = AutoBidder(desk.chain, desk.place_limit, CONFIG)
    assert bidder.tick() is None  # no readings yet: nothing to go on
    meter = Meter(node, node.prosumer_meter)
    # a steady surplus of 300 Wh over the window (a sale is cut to the export expected in
    # the interval ordered: 100 Wh a step, no less, when it does not fall)
    meter.report([-100, -100, -100])
    interval = bidder.tick()
    assert interval is not None
    assert order_count(node, interval) == 1
    market = node.contract("Market").functions
    owner, side, quantity_wh, price = market.orderOf(interval << 32).call()
    assert (owner, side, quantity_wh, price) == (node.address("prosumer"), 1, 300, 110_000)
    assert bidder.tick() is None  # once per interval
    assert order_count(node, interval) == 1

    meter.report([200, 250, 150])  # now a deficit of 600 Wh
    grid = desk.chain.grid()
    node.jump_to(grid.gate_closure_ts(interval) + 1)  # the next interval is the open one
    later = bidder.tick()
    assert later is not None and later > interval
    owner, side, quantity_wh, price = market.orderOf(later << 32).call()
    assert (owner, side, quantity_wh, price) == (node.address("prosumer"), 0, 600, 240_000)
    # it remembers the forecast behind each order (the dashboard's forecast panel)
    assert [(f.interval, f.net_import_wh, f.side, f.quantity_wh) for f in bidder.forecasts] == [
        (interval, -300.0, Side.SELL, 300),
        (later, 600.0, Side.BUY, 600),
    ]
    assert bidder.forecasts_energy
