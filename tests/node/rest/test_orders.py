"""POST /v1/orders and GET /v1/orders/{id}: orders land on-chain from the node's prosumer;
the contract's refusals come back decoded, with nothing sent."""

from __future__ import annotations

from typing import Any

import pytest

from gridledger.node.ledger.deploy import ROLE_PROSUMER
from tests.node.rest.inprocess import InProcessNode

BUY = {"side": "buy", "quantity_wh": 2000, "limit_price_per_kwh": 210_000}
SELL = {"side": "sell", "quantity_wh": 1500, "limit_price_per_kwh": 120_000}


def _nonce(node: InProcessNode) -> int:
    return int(node.w3.eth.get_transaction_count(node.address("prosumer")))


def _refused(node: InProcessNode, body: object, status: int, error: str) -> dict[str, Any]:
    """POST `body`; assert it is refused with `status`/`error` and sent no transaction."""
    nonce = _nonce(node)
    reply = node.post_order(body)
    assert reply.status_code == status, reply.text
    answer: dict[str, Any] = reply.json()
    assert answer["error"] == error, answer
    assert _nonce(node) == nonce
    return answer


def test_an_unadmitted_prosumer_gets_the_decoded_access_control_revert(
    fresh_node: InProcessNode,
) -> None:
    answer = _refused(fresh_node, BUY, 403, "AccessControlUnauthorizedAccount")
    assert answer["args"] == {
        "account": fresh_node.address("prosumer"),
        "neededRole": "0x" + ROLE_PROSUMER.hex(),
    }
    assert answer["revert_data"].startswith("0xe2517d3f")  # the error's selector
    assert answer["message"].startswith("the contract refused: AccessControlUnauthorizedAccount(")


def test_a_buy_beyond_the_balance_is_refused_with_it_and_approves_nothing(
    node: InProcessNode,
) -> None:
    prosumer = node.address("prosumer")
    token = node.contract("GridToken").functions
    market = node.contract("Market").address
    balance_units = token.balanceOf(prosumer).call()
    quantity_wh = balance_units * 1000 // 200_000 + 1  # escrow one step beyond the balance
    needed_units = -(-quantity_wh * 200_000 // 1000)
    body = {"side": "buy", "quantity_wh": quantity_wh, "limit_price_per_kwh": 200_000}
    answer = _refused(node, body, 402, "ERC20InsufficientBalance")
    assert answer["args"] == {"sender": prosumer, "balance": balance_units, "needed": needed_units}
    assert token.allowance(prosumer, market).call() == 0


def test_a_buy_escrows_exactly_its_limit_value(node: InProcessNode) -> None:
    prosumer = node.address("prosumer")
    token = node.contract("GridToken").functions
    market = node.contract("Market")
    before_units = token.balanceOf(prosumer).call()
    reply = node.post_order(BUY)
    assert reply.status_code == 201, reply.text
    placed = reply.json()
    assert placed["approval_tx_hash"] is not None  # the escrow was approved first
    assert token.balanceOf(prosumer).call() == before_units - 420_000
    assert token.allowance(prosumer, market.address).call() == 0  # exactly the escrow
    assert placed["order_id"] == (placed["interval"] << 32) | placed["index"]
    stored = market.functions.orderOf(placed["order_id"]).call()
    assert tuple(stored) == (prosumer, 0, 2000, 210_000)
    receipt = node.w3.eth.get_transaction_receipt(placed["tx_hash"])
    assert receipt["blockNumber"] == placed["block_number"]
    assert receipt["from"] == prosumer


def test_the_default_interval_is_the_first_whose_gate_closes_30_s_ahead(
    node: InProcessNode,
) -> None:
    reply = node.post_order(BUY)
    assert reply.status_code == 201, reply.text
    interval = reply.json()["interval"]
    m = node.contract("Market").functions
    gate_ts = m.gateClosureTs(interval).call()
    previous_gate_ts = m.gateClosureTs(interval - 1).call()
    block_ts = node.w3.eth.get_block(reply.json()["block_number"])["timestamp"]
    # The node chose from the head it saw, at most a few seconds before the order's block.
    assert gate_ts > block_ts + 30 - 5
    assert previous_gate_ts <= block_ts + 30


def test_get_order_reads_it_back(node: InProcessNode) -> None:
    placed = node.post_order({**BUY, "quantity_wh": 777}).json()
    reply = node.get(f"/v1/orders/{placed['order_id']}")
    assert reply.status_code == 200
    order = reply.json()
    assert order == {
        "order_id": placed["order_id"],
        "interval": placed["interval"],
        "index": placed["index"],
        "owner": node.address("prosumer"),
        "side": "buy",
        "quantity_wh": 777,
        "limit_price_per_kwh": 210_000,
        "escrow_units": 163_170,  # ceil(777 * 210000 / 1000)
        "phase": "open",
        "filled_wh": 0,
        "settled": False,
        "credited_units": None,
        "held_units": None,
        "delivery_contract_id": None,
    }


def test_a_sell_names_its_delivery_obligation_and_a_second_one_is_refused(
    node: InProcessNode,
) -> None:
    reply = node.post_order(SELL)
    assert reply.status_code == 201, reply.text
    placed = reply.json()
    assert placed["approval_tx_hash"] is None
    order = node.get(f"/v1/orders/{placed['order_id']}").json()
    cap = node.contract("ImportCap").functions
    expected_id = cap.deliveryId(node.address("prosumer"), placed["interval"]).call()
    assert order["delivery_contract_id"] == expected_id
    answer = _refused(node, {**SELL, "interval": placed["interval"]}, 409, "MarketDuplicateSell")
    assert answer["args"] == {
        "interval": placed["interval"],
        "participant": node.address("prosumer"),
        "existingOrderId": placed["order_id"],
    }


@pytest.mark.parametrize(
    ("body", "status", "error", "args"),
    [
        (
            {**BUY, "limit_price_per_kwh": 300_001},
            422,
            "MarketPriceOutsideBand",
            {"pricePerKwh": 300_001, "floorPerKwh": 80_000, "ceilingPerKwh": 300_000},
        ),
        (
            {**SELL, "limit_price_per_kwh": 79_999},
            422,
            "MarketPriceOutsideBand",
            {"pricePerKwh": 79_999, "floorPerKwh": 80_000, "ceilingPerKwh": 300_000},
        ),
        ({**BUY, "interval": 3}, 409, "MarketUnexpectedPhase", {"interval": 3, "current": 1}),
    ],
)
def test_contract_refusals_map_to_precise_statuses(
    node: InProcessNode, body: dict[str, Any], status: int, error: str, args: dict[str, Any]
) -> None:
    answer = _refused(node, body, status, error)
    assert answer["args"] == args


def test_a_paused_market_refuses_with_enforced_pause(node: InProcessNode) -> None:
    market = node.contract("Market").functions
    node.send("operator", market.pause())
    try:
        _refused(node, BUY, 409, "EnforcedPause")
    finally:
        node.send("operator", market.unpause())
    assert node.post_order(BUY).status_code == 201


def test_unknown_orders_are_404_with_the_contract_error(node: InProcessNode) -> None:
    for order_id in (5, 2**96, 2**256 - 1):
        reply = node.get(f"/v1/orders/{order_id}")
        assert reply.status_code == 404
        assert reply.json()["error"] == "MarketUnknownOrder"
        assert reply.json()["args"] == {"orderId": order_id}


def test_an_accounts_orders_are_its_most_recent_oldest_first_as_each_reads_alone(
    node: InProcessNode,
) -> None:
    prosumer = node.address("prosumer")
    placed = []
    for body in (BUY, {**BUY, "quantity_wh": 1000}, {**BUY, "quantity_wh": 500}):
        reply = node.post_order(body)
        assert reply.status_code == 201, reply.text
        placed.append(int(reply.json()["order_id"]))
    listed = node.get(f"/v1/accounts/{prosumer}/orders", limit=2)
    assert listed.status_code == 200, listed.text
    assert [o["order_id"] for o in listed.json()] == placed[-2:]
    assert listed.json() == [node.get(f"/v1/orders/{i}").json() for i in placed[-2:]]
    everything = node.get(f"/v1/accounts/{prosumer}/orders", limit=200).json()
    assert [o["order_id"] for o in everything][-3:] == placed
    assert node.get(f"/v1/accounts/{node.address('operator')}/orders").json() == []
