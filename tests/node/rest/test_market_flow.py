"""One interval end to end through the REST reads: the node's prosumer sells over REST,
another participant buys, the operator clears and settles; the prosumer's meter then reports
a delivery shortfall and a breach of an import cap. Every read endpoint is compared with the
contracts and with the numbers the rules give by hand."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from web3.logs import DISCARD

from gridledger.contracts.enums import BoundKind, Side
from gridledger.contracts.typed import MeterReading, domain_separator, sign_reading, terms_consent
from gridledger.contracts.units import TOKEN_UNITS, WAD
from gridledger.market.orders import Order
from gridledger.market.witness import witness_for
from gridledger.node.accounting import ContractTerms
from tests.node.rest.inprocess import InProcessNode

SELL_WH, SELL_PRICE = 1500, 100_000
BUY_WH, BUY_PRICE = 2000, 210_000
PRICE = (SELL_PRICE + BUY_PRICE) // 2  # the midpoint, inside the band [80_000, 300_000]
CAP_LAMBDA_PER_KWH = 1_000_000
CAP_BETA_WAD_PER_KWH = WAD // 2


@dataclass
class Flow:
    node: InProcessNode
    buyer: LocalAccount
    interval: int
    start_ts: int
    sell_id: int
    buy_id: int
    cap_id: int
    cleared_block: int


@pytest.fixture(scope="module")
def flow(node: InProcessNode) -> Iterator[Flow]:
    buyer, _ = node.new_participant(tokens_units=10 * TOKEN_UNITS)
    sell = node.post_order(
        {"side": "sell", "quantity_wh": SELL_WH, "limit_price_per_kwh": SELL_PRICE}
    ).json()
    interval = sell["interval"]
    market = node.contract("Market")
    receipt = node.send_as(buyer, market.functions.placeOrder(interval, 0, BUY_WH, BUY_PRICE))
    (placed,) = market.events.OrderPlaced().process_receipt(receipt, errors=DISCARD)
    buy_id = int(placed["args"]["orderId"])

    m = market.functions
    start_ts = m.intervalStartTs(interval).call()
    node.jump_to(m.gateClosureTs(interval).call())
    orders = [
        Order(sell["index"], node.address("prosumer"), Side.SELL, SELL_WH, SELL_PRICE),
        Order(buy_id & 0xFFFFFFFF, buyer.address, Side.BUY, BUY_WH, BUY_PRICE),
    ]
    w = witness_for(orders)
    cleared = node.send(
        "operator", m.clear(interval, w.volume_wh, list(w.buy_ranking), list(w.sell_ranking))
    )
    node.send("operator", m.settleOrders([sell["order_id"], buy_id]))

    # An import cap on the prosumer for the interval after the market interval.
    prosumer = node.address("prosumer")
    terms = ContractTerms(
        importer=prosumer,
        kind=BoundKind.UPPER,
        window_start_s=0,
        window_end_s=0,
        counterparty=node.address("operator"),
        valid_from_ts=start_ts + 900,
        valid_to_ts=start_ts + 1800,
        lower_w=0,
        upper_w=1000,
        lambda_units_per_kwh=CAP_LAMBDA_PER_KWH,
        beta_wad_per_kwh=CAP_BETA_WAD_PER_KWH,
    )
    cap = node.contract("ImportCap")
    key = bytes(node.service.accounts["prosumer"].key)
    consent = terms_consent(terms.as_abi(), key, int(node.w3.eth.chain_id), cap.address)
    created = node.send("operator", cap.functions.createContract(terms.as_abi(), consent))
    (event,) = cap.events.ContractCreated().process_receipt(created, errors=DISCARD)

    # The meter: 1000 Wh exported in the market interval (1500 Wh were sold), then 2000 Wh
    # imported under the 1000 W cap.
    node.jump_to(start_ts + 1800)
    meter = node.prosumer_meter
    assert meter is not None
    readings = [
        MeterReading(meter.address, prosumer, start_ts, 900, 0, 1000, 1),
        MeterReading(meter.address, prosumer, start_ts + 900, 900, 2000, 0, 2),
    ]
    metering = node.contract("Metering")
    separator = domain_separator(node.w3.eth.chain_id, metering.address)
    signatures = [sign_reading(r, meter.key, separator).as_abi() for r in readings]
    node.send(
        "operator", metering.functions.submitReadings([r.as_abi() for r in readings], signatures)
    )
    yield Flow(
        node,
        buyer,
        interval,
        start_ts,
        sell["order_id"],
        buy_id,
        int(event["args"]["contractId"]),
        int(cleared["blockNumber"]),
    )


def test_the_interval_shows_price_volume_orders_trades_and_settlement(flow: Flow) -> None:
    reply = flow.node.get(f"/v1/market/intervals/{flow.interval}")
    assert reply.status_code == 200
    got = reply.json()
    market = flow.node.contract("Market").functions
    assert got["phase"] == "cleared" and got["cleared"] and not got["voided"]
    assert got["start_ts"] == flow.start_ts
    assert got["gate_closure_ts"] == flow.start_ts - 300
    assert (got["price_per_kwh"], got["volume_wh"], got["network_charge_per_kwh"]) == (
        PRICE,
        SELL_WH,
        10_000,
    )
    by_id = {o["order_id"]: o for o in got["orders"]}
    assert set(by_id) == {flow.sell_id, flow.buy_id}
    for order_id, order in by_id.items():
        assert order["filled_wh"] == market.fillOf(order_id).call()  # the contract's own rule
    seller_gross = SELL_WH * PRICE // 1000
    # The seller is credited nothing at settlement: its net proceeds are held.
    assert by_id[flow.sell_id]["credited_units"] == 0
    assert by_id[flow.sell_id]["held_units"] == seller_gross - SELL_WH * 10_000 // 1000
    assert by_id[flow.buy_id]["held_units"] is None
    buyer_cost = -(-SELL_WH * PRICE // 1000)
    assert by_id[flow.buy_id]["credited_units"] == BUY_WH * BUY_PRICE // 1000 - buyer_cost
    assert sorted((t["side"], t["filled_wh"], t["price_per_kwh"]) for t in got["trades"]) == [
        ("buy", SELL_WH, PRICE),
        ("sell", SELL_WH, PRICE),
    ]
    assert got["settlement"] == {
        "order_count": 2,
        "settled_count": 2,
        "complete": True,
        "dust_units": buyer_cost - seller_gross,
    }


def test_an_interval_without_orders_is_empty_and_open_or_closed(flow: Flow) -> None:
    got = flow.node.get(f"/v1/market/intervals/{flow.interval + 1000}").json()
    assert got["orders"] == [] and got["trades"] == []
    assert got["phase"] == "open" and got["price_per_kwh"] is None
    assert got["settlement"] == {
        "order_count": 0,
        "settled_count": 0,
        "complete": False,
        "dust_units": None,
    }
    assert flow.node.get("/v1/market/intervals/1").json()["phase"] == "gate-closed"


def test_get_order_after_settlement(flow: Flow) -> None:
    got = flow.node.get(f"/v1/orders/{flow.buy_id}").json()
    assert got["owner"] == flow.buyer.address
    assert (got["phase"], got["filled_wh"], got["settled"]) == ("cleared", SELL_WH, True)


def test_the_delivery_obligation_reads_as_a_contract(flow: Flow) -> None:
    order = flow.node.get(f"/v1/orders/{flow.sell_id}").json()
    got = flow.node.get(f"/v1/contracts/{order['delivery_contract_id']}").json()
    assert got["kind"] == "delivery"
    terms = got["terms"]
    assert terms["importer"] == flow.node.address("prosumer")
    assert terms["kind"] == "upper"
    assert terms["upper_w"] == -(SELL_WH * 3600 // 900)  # the sold average export power
    assert (terms["valid_from_ts"], terms["valid_to_ts"]) == (flow.start_ts, flow.start_ts + 900)
    # 1000 of 1500 Wh delivered: 500 Wh short, at the delivery penalty of 300_000 units/kWh.
    assert got["status"]["violation_wh"] == 500
    assert got["status"]["penalty_units"] == 150_000
    assert got["status"]["penalty_paid_units"] == 0


def _expected_cap(flow: Flow) -> dict[str, Any]:
    violation_j = 2000 * 3600 - 1000 * 900
    return {
        "id": flow.cap_id,
        "kind": "import-cap",
        "terms": {
            "importer": flow.node.address("prosumer"),
            "kind": "upper",
            "window_start_s": 0,
            "window_end_s": 0,
            "counterparty": flow.node.address("operator"),
            "valid_from_ts": flow.start_ts + 900,
            "valid_to_ts": flow.start_ts + 1800,
            "lower_w": 0,
            "upper_w": 1000,
            "lambda_units_per_kwh": CAP_LAMBDA_PER_KWH,
            "beta_wad_per_kwh": CAP_BETA_WAD_PER_KWH,
        },
        "status": {
            "violation_wh": violation_j // 3600,
            "total_wh": 2000,
            "compliance_wad": (2000 * 3600 - violation_j) * WAD // (2000 * 3600),
            "penalty_units": CAP_LAMBDA_PER_KWH * violation_j // 3_600_000,
            "penalty_paid_units": 0,
            "trust_wad": flow.node.contract("Trust").functions.contractTrustOf(flow.cap_id).call(),
        },
    }


def test_contracts_list_and_one_contract_match_the_terms_and_the_accounting(flow: Flow) -> None:
    expected = _expected_cap(flow)
    assert flow.node.get(f"/v1/contracts/{flow.cap_id}").json() == expected
    page = flow.node.get("/v1/contracts").json()
    assert page == {"count": 1, "offset": 0, "limit": 100, "contracts": [expected]}
    assert flow.node.get("/v1/contracts", offset=1).json()["contracts"] == []


def test_violations_by_participant_and_time(flow: Flow) -> None:
    prosumer = flow.node.address("prosumer")
    got = flow.node.get("/v1/violations", participant=prosumer.lower()).json()
    assert got["truncated"] is False
    rows = [
        (v["kind"], v["interval_start_ts"], v["violation_wh"], v["cumulative_violation_wh"])
        for v in got["violations"]
    ]
    assert rows == [
        ("delivery", flow.start_ts, 500, 500),
        ("import-cap", flow.start_ts + 900, 1750, 1750),
    ]
    later = flow.node.get("/v1/violations", **{"from": flow.start_ts + 1}).json()["violations"]
    assert [v["kind"] for v in later] == ["import-cap"]
    earlier = flow.node.get("/v1/violations", to=flow.start_ts + 900).json()["violations"]
    assert [v["kind"] for v in earlier] == ["delivery"]
    assert flow.node.get("/v1/violations", limit=1).json()["truncated"] is True
    nobody = flow.node.get("/v1/violations", participant=flow.buyer.address).json()
    assert nobody == {"violations": [], "truncated": False}


def test_readings_by_participant_and_time(flow: Flow) -> None:
    prosumer = flow.node.address("prosumer")
    got = flow.node.get("/v1/readings", participant=prosumer).json()["readings"]
    assert [(r["interval_start_ts"], r["import_wh"], r["export_wh"], r["seq"]) for r in got] == [
        (flow.start_ts, 0, 1000, 1),
        (flow.start_ts + 900, 2000, 0, 2),
    ]
    window = {"from": flow.start_ts + 900, "to": flow.start_ts + 901}
    assert [r["seq"] for r in flow.node.get("/v1/readings", **window).json()["readings"]] == [2]
    receipt = flow.node.w3.eth.get_transaction_receipt(got[0]["tx_hash"])
    assert receipt["blockNumber"] == got[0]["block_number"]


def test_trust_is_the_product_of_the_obligations_trusts(flow: Flow) -> None:
    prosumer = flow.node.address("prosumer")
    got = flow.node.get(f"/v1/trust/{prosumer.lower()}").json()
    exposure_wad = WAD // 2 * 500 * 3600 // 3_600_000 + CAP_BETA_WAD_PER_KWH * 1750 // 1000
    assert got["exposure_wad"] == exposure_wad
    assert got["trust_wad"] == flow.node.contract("Trust").functions.trustOf(prosumer).call()
    assert got["trust"] == pytest.approx(math.exp(-exposure_wad / WAD), abs=1e-12)
    assert (got["active"], got["may_trade"], got["min_trust_wad"]) == (True, True, 0)
    assert got["active_contract_ids"] == []  # the cap's validity has passed


def test_trust_below_the_regulated_minimum_refuses_orders(flow: Flow) -> None:
    regulation = flow.node.contract("Regulation").functions
    prosumer = flow.node.address("prosumer")
    trust_wad = flow.node.contract("Trust").functions.trustOf(prosumer).call()
    flow.node.send("regulator", regulation.setMinTrust(WAD // 2))
    try:
        reply = flow.node.post_order(
            {"side": "buy", "quantity_wh": 10, "limit_price_per_kwh": PRICE}
        )
        assert reply.status_code == 403
        assert reply.json()["error"] == "MarketTrustTooLow"
        assert reply.json()["args"] == {
            "participant": prosumer,
            "trustWad": trust_wad,
            "minTrustWad": WAD // 2,
        }
        assert flow.node.get(f"/v1/trust/{prosumer}").json()["may_trade"] is False
    finally:
        flow.node.send("regulator", regulation.setMinTrust(0))


def test_release_pays_the_delivery_penalty_from_the_held_proceeds(flow: Flow) -> None:
    # Runs after the tests above that read the unpaid delivery penalty.
    node = flow.node
    held = node.get(f"/v1/orders/{flow.sell_id}").json()["held_units"]
    assert held == SELL_WH * PRICE // 1000 - SELL_WH * 10_000 // 1000
    node.send("operator", node.contract("Market").functions.release([flow.sell_id]))
    order = node.get(f"/v1/orders/{flow.sell_id}").json()
    assert order["held_units"] == 0
    got = node.get(f"/v1/contracts/{order['delivery_contract_id']}").json()
    # 500 Wh short at 300_000 units/kWh: 150_000 units from the held proceeds.
    assert got["status"]["penalty_paid_units"] == min(150_000, held)
    market = node.contract("Market").functions
    # The seller was credited nothing before: now the rest of its proceeds.
    assert market.claimableOf(node.address("prosumer")).call() == held - min(150_000, held)
    assert market.isReleased(flow.sell_id).call()


def test_layers_report_the_last_clearing_and_the_live_rules(flow: Flow) -> None:
    layers = {row["layer"]: row for row in flow.node.get("/v1/layers").json()["layers"]}
    market = layers["L4"]["state"]
    assert (market["last_cleared_interval"], market["last_price_per_kwh"]) == (
        flow.interval,
        PRICE,
    )
    assert market["last_volume_wh"] == SELL_WH
    assert market["last_interval_voided"] is False
    network = layers["L2"]["state"]
    assert (network["last_seq"], network["last_reading_end_ts"]) == (2, flow.start_ts + 1800)


def test_a_voided_interval_reads_as_voided(fresh_node: InProcessNode) -> None:
    # Its own node: voiding emits IntervalCleared, which the layer table would report.
    fresh_node.send("operator", fresh_node.contract("Market").functions.voidInterval(1))
    got = fresh_node.get("/v1/market/intervals/1").json()
    assert (got["phase"], got["cleared"], got["voided"]) == ("cleared", True, True)
    assert fresh_node.get("/v1/market/intervals/2").json()["voided"] is False
    layers = {row["layer"]: row for row in fresh_node.get("/v1/layers").json()["layers"]}
    market = layers["L4"]["state"]
    assert (market["last_cleared_interval"], market["last_interval_voided"]) == (1, True)
    assert (market["last_price_per_kwh"], market["last_volume_wh"]) == (None, None)
