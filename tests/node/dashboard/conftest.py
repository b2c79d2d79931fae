"""Fixtures of the browser tests: Debian's Chromium driven by Playwright (no browser
download; `make test` installs chromium where it is missing), and an in-process node holding
the FED-MGDT experiments E1-E4 and the same day metered by the node's own prosumer (with the
persistence forecasts its auto-bidder made over it), and one cleared market interval."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright
from web3.logs import DISCARD

from gridledger.contracts.enums import Side
from gridledger.contracts.typed import MeterReading, domain_separator, sign_reading, terms_consent
from gridledger.contracts.units import TOKEN_UNITS
from gridledger.market.orders import Order
from gridledger.market.witness import witness_for
from gridledger.node.agents.auto_bid import AutoBidder
from gridledger.node.agents.strategies import MeterEnergy, Persistence
from gridledger.node.config import AutoBidConfig
from gridledger.node.dashboard.panels import Panels
from gridledger.node.demo.experiments import day_readings, fedmgdt_terms
from gridledger.sim.fedmgdt import FEDMGDT_CAPS_W, simulate_mg1_day
from tests.node.rest.inprocess import InProcessNode

CHROMIUM = Path("/usr/bin/chromium")
# The tests write each panel's screenshot here: a temporary folder, so that a test run leaves
# the tree clean; `GRIDLEDGER_SCREENSHOTS=docs/dashboard pytest tests/node/dashboard` refreshes
# the screenshots docs/dashboard.md shows.
SCREENSHOTS = Path(
    os.environ.get("GRIDLEDGER_SCREENSHOTS")
    or Path(tempfile.gettempdir()) / f"gridledger-dashboard-{os.getuid()}"
)
BATCH = 60
BATCH_GAS = 6_000_000
SELL_WH, SELL_PRICE = 1_500, 100_000
BUY_WH, BUY_PRICE = 2_000, 210_000
PROSUMER_CAP_W = 10_000.0
"""The node's own prosumer meters MG1's day under this cap (as E4)."""


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists() and shutil.which("chromium") is None:
        pytest.fail("chromium is not installed: apt-get install -y chromium (make test does)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield browser
        browser.close()


@dataclass
class OpenPage:
    """A page with the console errors and failed requests it produced."""

    page: Page
    errors: list[str]


def open_page(browser: Browser, url: str, width: int = 1280, height: int = 900) -> OpenPage:
    page = browser.new_page(viewport={"width": width, "height": height})
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    page.on(
        "response",
        lambda r: errors.append(f"HTTP {r.status} {r.url}") if r.status >= 400 else None,
    )
    page.goto(url)
    page.wait_for_selector("body[data-loaded='true']", timeout=30_000)
    return OpenPage(page, errors)


@dataclass
class DemoChain:
    """The node and what the fixture put on its chain."""

    node: InProcessNode
    cap_ids: list[int]
    interval: int
    day_ts: int
    bidder: AutoBidder


def _run_caps(node: InProcessNode, day_ts: int) -> list[int]:
    """E1-E4: per cap, a participant with its own meter, the cap's contract (with the
    importer's consent) and the simulated day of signed one-minute readings."""
    cap = node.contract("ImportCap")
    chain_id = int(node.w3.eth.chain_id)
    operator = node.address("operator")
    ids = []
    for cap_w in FEDMGDT_CAPS_W:
        account, meter = node.new_participant()
        terms = fedmgdt_terms(account.address, operator, day_ts, cap_w)
        consent = terms_consent(terms.as_abi(), bytes(account.key), chain_id, cap.address)
        created = node.send("operator", cap.functions.createContract(terms.as_abi(), consent))
        (event,) = cap.events.ContractCreated().process_receipt(created, errors=DISCARD)
        ids.append(int(event["args"]["contractId"]))
        readings = day_readings(simulate_mg1_day(cap_w), meter.address, account.address, day_ts)
        _submit(node, readings, bytes(meter.key))
    return ids


def _submit(node: InProcessNode, readings: list[MeterReading], meter_key: bytes) -> None:
    """Sign `readings` with the meter's key; the operator relays them in batches."""
    metering = node.contract("Metering")
    separator = domain_separator(int(node.w3.eth.chain_id), metering.address)
    for start in range(0, len(readings), BATCH):
        chunk = readings[start : start + BATCH]
        signatures = [sign_reading(r, meter_key, separator).as_abi() for r in chunk]
        fn = metering.functions.submitReadings([r.as_abi() for r in chunk], signatures)
        tx_hash = fn.transact({"from": node.address("operator"), "gas": BATCH_GAS})
        receipt = node.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=60)
        assert receipt["status"] == 1


def _run_prosumer_day(node: InProcessNode, day_ts: int) -> AutoBidder:
    """The node's prosumer meters the day of E1-E4 too (MG1 under PROSUMER_CAP_W). Its
    auto-bidder's persistence forecasts for each market interval of the day are the ones it
    would have made on the chain's clock (from the readings it had seen `order_lead_s` before
    the interval's gate), and are the node's forecasts."""
    panels: Panels = node.app.state.dashboard.panels
    grid = panels.chain.grid()
    prosumer = node.address("prosumer")
    meter = node.prosumer_meter
    readings = day_readings(simulate_mg1_day(PROSUMER_CAP_W), meter.address, prosumer, day_ts)
    _submit(node, readings, bytes(meter.key))
    config = AutoBidConfig()
    strategy = Persistence(grid.start_ts, config.interval_readings, config.min_order_wh)
    bidder = AutoBidder(panels.chain, lambda *_: None, config, strategy)
    seen = 0
    first = (day_ts - grid.epoch_start_ts) // grid.interval_length_s
    for interval in range(first, first + 86_400 // grid.interval_length_s):
        decided_ts = grid.gate_closure_ts(interval) - config.order_lead_s
        while seen < len(readings) and readings[seen].interval_start_ts + 60 <= decided_ts:
            r = readings[seen]
            strategy.observe("self", MeterEnergy(r.interval_start_ts, r.import_wh, r.export_wh))
            seen += 1
        intent = strategy.intent("self", interval)
        if intent is not None:
            bidder.remember(interval, intent.side, intent.quantity_wh)
    panels.bidder = bidder
    return bidder


def _run_interval(node: InProcessNode) -> int:
    """The node's prosumer sells over REST, another participant buys; the operator clears
    and settles the interval."""
    buyer, _ = node.new_participant(tokens_units=10 * TOKEN_UNITS)
    sell = node.post_order(
        {"side": "sell", "quantity_wh": SELL_WH, "limit_price_per_kwh": SELL_PRICE}
    ).json()
    interval = int(sell["interval"])
    market = node.contract("Market")
    receipt = node.send_as(buyer, market.functions.placeOrder(interval, 0, BUY_WH, BUY_PRICE))
    (placed,) = market.events.OrderPlaced().process_receipt(receipt, errors=DISCARD)
    buy_id = int(placed["args"]["orderId"])
    m = market.functions
    node.jump_to(m.gateClosureTs(interval).call())
    orders = [
        Order(sell["index"], node.address("prosumer"), Side.SELL, SELL_WH, SELL_PRICE),
        Order(buy_id & 0xFFFFFFFF, buyer.address, Side.BUY, BUY_WH, BUY_PRICE),
    ]
    w = witness_for(orders)
    node.send("operator", m.clear(interval, w.volume_wh, list(w.buy_ranking), list(w.sell_ranking)))
    node.send("operator", m.settleOrders([sell["order_id"], buy_id]))
    return interval


@pytest.fixture(scope="module")
def demo_chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoChain]:
    node = InProcessNode(tmp_path_factory.mktemp("dashboard") / "data")
    try:
        node.admit_prosumer(1_000 * TOKEN_UNITS)
        head_ts = node.head_ts()
        day_ts = head_ts - head_ts % 86_400 - 86_400  # the day before the chain's clock
        cap_ids = _run_caps(node, day_ts)
        bidder = _run_prosumer_day(node, day_ts)
        interval = _run_interval(node)
        yield DemoChain(node, cap_ids, interval, day_ts, bidder)
    finally:
        node.stop()
