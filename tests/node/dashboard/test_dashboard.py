"""The dashboard in a real browser (Debian's Chromium through Playwright) on an in-process
node holding E1-E4 and a cleared interval: the figures it shows are the chain's, a new block
reaches the page within a second, an order placed through the form lands in the book and in
the REST read, a wrong API key shows the node's 401 message. Writes docs/dashboard/*.png."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pandas as pd
import pytest
import requests
from playwright.sync_api import Browser, expect

from gridledger.contracts.units import TOKEN_UNITS, WAD
from gridledger.node.audit.replay import trust_differs
from gridledger.node.dashboard.panels import Panels
from tests.node.dashboard.conftest import SCREENSHOTS, SELL_WH, DemoChain, OpenPage, open_page

PANELS = ("layers", "market", "order", "caps", "chain", "kpis", "bills", "forecast", "audit")


@pytest.fixture(scope="module")
def page(browser: Browser, demo_chain: DemoChain) -> Iterator[OpenPage]:
    opened = open_page(browser, demo_chain.node.url + "/")
    yield opened
    opened.page.close()


def test_the_page_loads_every_panel_without_a_console_error(page: OpenPage) -> None:
    p = page.page
    expect(p.locator("#layers-grid article")).to_have_count(7)
    expect(p.locator("#caps-table tbody tr")).to_have_count(4)
    expect(p.locator("#live-state")).to_have_text("live")
    for panel in PANELS:
        expect(p.locator(f"section#{panel} h2")).to_be_visible()
    assert page.errors == []


def test_the_e1_e4_figures_on_the_page_are_the_chains(
    page: OpenPage, demo_chain: DemoChain
) -> None:
    cap = demo_chain.node.contract("ImportCap").functions
    rows = page.page.locator("#caps-table tbody tr")
    shown = [rows.nth(i).locator("th, td").all_inner_texts() for i in range(rows.count())]
    violations = []
    for cap_id, cells in zip(demo_chain.cap_ids, shown, strict=True):
        violation_wh, _, compliance_wad, penalty_units, trust_wad = cap.contractStatus(
            cap_id
        ).call()
        assert cells[0] == str(cap_id)
        assert cells[3] == "17:00–20:00"
        assert cells[4:] == [
            f"{violation_wh / 1000:.3f}",
            f"{compliance_wad / WAD:.4f}",
            f"{penalty_units / TOKEN_UNITS:.3f}",
            f"{trust_wad / WAD:.4f}",
        ]
        violations.append(violation_wh)
    # FED-MGDT's shape: most violation at 4 kW, less at 6 kW, about none at 10 kW.
    assert violations[0] > violations[1] > 0
    assert violations[3] <= violations[2] < violations[1]


def test_the_pcc_series_marks_the_readings_the_reference_model_counts(
    demo_chain: DemoChain,
) -> None:
    panel = requests.get(demo_chain.node.url + "/v1/dashboard/caps", timeout=60).json()
    for c in panel["contracts"]:
        marked_wh = sum(p["violation_wh"] for p in c["series"])
        # each point floors its own Wh; the contract floors the sum of joules
        assert c["status"]["violation_wh"] - len(c["series"]) <= marked_wh
        assert marked_wh <= c["status"]["violation_wh"]
        assert len(c["series"]) == 180  # 17:00-20:00 in one-minute readings
        assert not trust_differs(c["importer_trust_wad"], c["status"]["trust_wad"] / WAD)


def test_a_new_block_updates_the_head_within_a_second(
    page: OpenPage, demo_chain: DemoChain
) -> None:
    node = demo_chain.node
    before = int(page.page.locator("#head").inner_text())
    node.jump_to(node.head_ts() + 1)
    head = int(node.w3.eth.block_number)
    assert head > before
    started = time.monotonic()
    page.page.wait_for_function(
        f"document.getElementById('head').textContent === '{head}'", timeout=1_000
    )
    assert time.monotonic() - started < 1.0


def test_a_wrong_api_key_shows_the_nodes_401_message(page: OpenPage) -> None:
    p = page.page
    p.fill("#api-key", "not-the-key")
    p.fill("#quantity", "700")
    p.fill("#price", "150000")
    p.click("#order-form button[type=submit]")
    expect(p.locator("#order-error")).to_have_text("401 Unauthorized: wrong API key")
    assert p.evaluate("sessionStorage.getItem('gridledger-api-key')") == "not-the-key"
    assert p.evaluate("localStorage.length") == 0  # the key never leaves the session


def test_an_order_from_the_form_appears_in_the_book_and_in_the_rest_read(
    page: OpenPage, demo_chain: DemoChain
) -> None:
    p = page.page
    node = demo_chain.node
    p.fill("#api-key", node.api_key)
    p.select_option("#side", "buy")
    p.fill("#quantity", "700")
    p.fill("#price", "150000")
    p.fill("#interval", "")
    p.click("#order-form button[type=submit]")
    expect(p.locator("#order-result")).to_contain_text("placed in interval", timeout=30_000)
    text = p.locator("#order-result").inner_text()
    order_id, interval = int(text.split()[1]), int(text.split()[5])
    rest = node.get(f"/v1/market/intervals/{interval}").json()
    (order,) = [o for o in rest["orders"] if o["order_id"] == order_id]
    assert (order["side"], order["quantity_wh"], order["limit_price_per_kwh"]) == (
        "buy",
        700,
        150_000,
    )
    assert order["owner"] == node.address("prosumer")
    expect(p.locator("#book-caption")).to_have_text(f"Order book of interval {interval} (open)")
    buys = sum(1 for o in rest["orders"] if o["side"] == "buy")
    expect(p.locator("#book-summary")).to_contain_text(f"{len(rest['orders'])} orders")
    expect(p.locator("#book-summary")).to_contain_text(f"{buys} buys")
    expect(p.locator("#own-orders tbody")).to_contain_text(str(order_id))


def test_the_audit_button_runs_the_audit_and_finds_no_mismatch(page: OpenPage) -> None:
    p = page.page
    p.click("#audit-run")
    expect(p.locator("#audit-result")).to_contain_text(
        "all match the reference model", timeout=60_000
    )
    expect(p.locator("#audit-mismatches li")).to_have_count(0)


def test_the_kpis_follow_the_readings(page: OpenPage, demo_chain: DemoChain) -> None:
    node = demo_chain.node
    day = {"from": demo_chain.day_ts, "to": demo_chain.day_ts + 86_400}
    kpis = node.get("/v1/dashboard/kpis", **day).json()
    assert kpis["readings"] == 5 * 1440  # E1-E4 and the node's prosumer
    readings = pd.DataFrame(node.get("/v1/readings", **day, limit=10_000).json()["readings"])
    per_minute = readings.groupby("interval_start_ts")[["import_wh", "export_wh"]].sum()
    local_wh = int(per_minute.min(axis=1).sum())
    assert kpis["local_wh"] == local_wh
    assert kpis["grid_import_wh"] == int(
        (per_minute.import_wh - per_minute.export_wh).clip(lower=0).sum()
    )
    assert kpis["self_sufficiency"] == pytest.approx(local_wh / per_minute.import_wh.sum())
    p = page.page
    p.goto(f"{node.url}/?from={day['from']}&to={day['to']}")
    p.wait_for_selector("body[data-loaded='true']")
    facts = p.locator("#kpi-facts")
    expect(facts).to_contain_text(f"readings{5 * 1440}")
    expect(facts).to_contain_text(f"local energy [kWh]{local_wh / 1000:.3f}")
    expect(facts).to_contain_text(f"grid import [kWh]{kpis['grid_import_wh'] / 1000:.3f}")


def test_the_bills_are_the_settlement_on_chain(page: OpenPage, demo_chain: DemoChain) -> None:
    node = demo_chain.node
    it = node.get(f"/v1/market/intervals/{demo_chain.interval}").json()
    price, charge = it["price_per_kwh"], it["network_charge_per_kwh"]
    (sell,) = [o for o in it["orders"] if o["side"] == "sell"]
    (buy,) = [o for o in it["orders"] if o["side"] == "buy"]
    assert sell["filled_wh"] == buy["filled_wh"] == SELL_WH
    bills = node.get("/v1/dashboard/bills").json()
    assert bills["to_interval"] == demo_chain.interval
    by_owner = {b["participant"]: b for b in bills["bills"]}
    mine = bills["bills"][0]
    assert mine["participant"] == node.address("prosumer") == bills["prosumer"]
    cap = node.contract("ImportCap").functions
    delivery_penalty = cap.contractStatus(sell["delivery_contract_id"]).call()[3]
    assert (mine["sold_wh"], mine["sold_units"], mine["network_charge_units"]) == (
        SELL_WH,
        SELL_WH * price // 1000,
        SELL_WH * charge // 1000,
    )
    assert mine["delivery_penalty_units"] == delivery_penalty
    assert mine["net_units"] == mine["sold_units"] - mine["network_charge_units"] - delivery_penalty
    buyer = by_owner[buy["owner"]]
    cost = -(-SELL_WH * price // 1000)
    assert (buyer["bought_wh"], buyer["bought_units"]) == (SELL_WH, cost)
    assert buyer["escrow_refunded_units"] == buy["credited_units"] == buy["escrow_units"] - cost
    assert buyer["net_units"] == -cost
    for cap_id in demo_chain.cap_ids:
        importer = cap.contractTerms(cap_id).call()[0]
        penalty = cap.contractStatus(cap_id).call()[3]
        if penalty:
            assert by_owner[importer]["cap_penalty_units"] == penalty
            assert by_owner[importer]["net_units"] == -penalty
    p = page.page
    p.goto(node.url + "/")
    p.wait_for_selector("body[data-loaded='true']")
    first = p.locator("#bills-table tbody tr").first.locator("th, td").all_inner_texts()
    assert first[0].endswith("(this node)")
    assert first[-1] == f"{mine['net_units'] / TOKEN_UNITS:.3f}"
    expect(p.locator("#bills-table tbody tr")).to_have_count(len(bills["bills"]))


def test_the_forecast_panel_sets_the_auto_bidders_forecasts_against_the_meter(
    page: OpenPage, demo_chain: DemoChain
) -> None:
    node = demo_chain.node
    f = node.get("/v1/dashboard/forecast").json()
    assert (f["forecasting"], f["strategy"]) == (True, "persistence")
    forecasts = list(demo_chain.bidder.forecasts)
    assert len(f["points"]) == len(forecasts) > 90
    day = {"from": demo_chain.day_ts, "to": demo_chain.day_ts + 86_400}
    readings = pd.DataFrame(
        node.get("/v1/readings", participant=node.address("prosumer"), **day, limit=10_000).json()[
            "readings"
        ]
    )
    assert len(readings) == 1440
    length_s = f["points"][0]["end_ts"] - f["points"][0]["start_ts"]
    readings["start"] = readings.interval_start_ts - readings.interval_start_ts % length_s
    net = (readings.import_wh - readings.export_wh).groupby(readings.start).sum()
    for point, forecast in zip(f["points"], forecasts, strict=True):
        assert point["interval"] == forecast.interval
        assert point["forecast_net_wh"] == forecast.net_import_wh
        assert point["actual_net_wh"] == int(net[point["start_ts"]])
    p = page.page
    p.goto(node.url + "/")
    p.wait_for_selector("body[data-loaded='true']")
    expect(p.locator("#forecast-note")).to_contain_text("strategy persistence")
    n = len(f["points"])
    expect(p.locator("#forecast-summary")).to_contain_text(f"{n} past intervals, {n} metered")
    expect(p.locator("#forecast-table tbody tr")).to_have_count(12)
    # A node that does not bid by itself says so.
    panels: Panels = node.app.state.dashboard.panels
    off = Panels(panels.chain, panels.market, panels.audit).forecast()
    assert not off.forecasting and off.points == []
    assert "does not bid by itself" in off.note


def test_keyboard_users_reach_the_panels_and_the_form(page: OpenPage) -> None:
    p = page.page
    p.goto(page.page.url)
    p.wait_for_selector("body[data-loaded='true']")
    p.keyboard.press("Tab")
    assert p.evaluate("document.activeElement.className") == "skip"
    p.keyboard.press("Enter")
    assert p.evaluate("location.hash") == "#main"
    for field in ("api-key", "side", "quantity", "price", "interval"):
        label = p.locator(f"label[for={field}]")
        expect(label).to_have_count(1)
    for chart in ("book-chart", "price-chart", "pcc-chart", "blocks-chart", "forecast-chart"):
        assert p.get_attribute(f"#{chart}", "role") == "img"
        assert p.get_attribute(f"#{chart}", "aria-describedby")


def test_screenshots_of_each_panel_at_desktop_and_phone_width(
    browser: Browser, demo_chain: DemoChain
) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    desktop = open_page(browser, demo_chain.node.url + "/", width=1280)
    try:
        for panel in PANELS:
            desktop.page.locator(f"section#{panel}").screenshot(path=SCREENSHOTS / f"{panel}.png")
        assert desktop.errors == []
    finally:
        desktop.page.close()
    phone = open_page(browser, demo_chain.node.url + "/", width=390, height=844)
    try:
        scroll_width = phone.page.evaluate("document.documentElement.scrollWidth")
        assert scroll_width <= 390  # no sideways scrolling of the page at phone width
        phone.page.locator("section#caps").screenshot(path=SCREENSHOTS / "phone-caps.png")
    finally:
        phone.page.close()
    assert {f"{p}.png" for p in PANELS} <= {f.name for f in SCREENSHOTS.glob("*.png")}
