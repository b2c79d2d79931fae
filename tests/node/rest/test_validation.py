"""Bad bodies and parameters are 422 naming each field and the reason; nothing is sent."""

from __future__ import annotations

import pytest
import requests

from tests.node.rest.inprocess import InProcessNode

GOOD = {"side": "buy", "quantity_wh": 1000, "limit_price_per_kwh": 100_000}


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"side", "quantity_wh", "limit_price_per_kwh"}),
        ({**GOOD, "side": "hold"}, {"side"}),
        ({**GOOD, "quantity_wh": "1000"}, {"quantity_wh"}),
        ({**GOOD, "quantity_wh": 1000.0}, {"quantity_wh"}),
        ({**GOOD, "quantity_wh": True}, {"quantity_wh"}),
        ({**GOOD, "quantity_wh": 0}, {"quantity_wh"}),
        ({**GOOD, "quantity_wh": 2**40}, {"quantity_wh"}),
        ({**GOOD, "limit_price_per_kwh": -1}, {"limit_price_per_kwh"}),
        ({**GOOD, "limit_price_per_kwh": 2**40}, {"limit_price_per_kwh"}),
        ({**GOOD, "interval": -1}, {"interval"}),
        ({**GOOD, "interval": 2**64}, {"interval"}),
        ({**GOOD, "owner": "0x" + "11" * 20}, {"owner"}),
        ([GOOD], {"body"}),
        ("buy", {"body"}),
    ],
)
def test_bad_order_bodies_name_their_fields(
    node: InProcessNode, body: object, fields: set[str]
) -> None:
    nonce = node.w3.eth.get_transaction_count(node.address("prosumer"))
    reply = node.post_order(body)
    assert reply.status_code == 422, reply.text
    answer = reply.json()
    assert answer["error"] == "ValidationError"
    assert {f["field"] for f in answer["fields"]} == fields
    assert all(f["location"] == "body" and f["reason"] for f in answer["fields"])
    for field in fields:
        assert field in answer["message"]
    assert node.w3.eth.get_transaction_count(node.address("prosumer")) == nonce


def test_a_body_that_is_not_json_is_422(node: InProcessNode) -> None:
    reply = requests.post(
        node.url + "/v1/orders",
        data=b"{side: buy",
        headers={**node.auth, "Content-Type": "application/json"},
        timeout=30,
    )
    assert reply.status_code == 422
    assert reply.json()["fields"][0]["location"] == "body"


def test_the_key_is_checked_before_the_body(node: InProcessNode) -> None:
    assert node.post_order({"side": "hold"}, headers={}).status_code == 401


@pytest.mark.parametrize(
    ("path", "params", "location", "field"),
    [
        ("/v1/orders/abc", {}, "path", "order_id"),
        ("/v1/orders/-1", {}, "path", "order_id"),
        (f"/v1/orders/{2**256}", {}, "path", "order_id"),
        ("/v1/market/intervals/x", {}, "path", "interval"),
        (f"/v1/market/intervals/{2**64}", {}, "path", "interval"),
        ("/v1/contracts", {"limit": 0}, "query", "limit"),
        ("/v1/contracts", {"limit": 501}, "query", "limit"),
        ("/v1/contracts", {"offset": -1}, "query", "offset"),
        (f"/v1/contracts/{2**256}", {}, "path", "contract_id"),
        ("/v1/contracts/-5", {}, "path", "contract_id"),
        ("/v1/violations", {"participant": "0x12"}, "query", "participant"),
        ("/v1/violations", {"from": -1}, "query", "from"),
        ("/v1/violations", {"from": 10, "to": 9}, "query", "to"),
        ("/v1/violations", {"limit": 0}, "query", "limit"),
        ("/v1/readings", {"participant": "alice"}, "query", "participant"),
        ("/v1/readings", {"to": "noon"}, "query", "to"),
        ("/v1/readings", {"limit": 10_001}, "query", "limit"),
        ("/v1/trust/0x12", {}, "path", "address"),
        ("/v1/trust/" + "0x" + "zz" * 20, {}, "path", "address"),
        ("/v1/dashboard/kpis", {"from": 10, "to": 9}, "query", "to"),
        ("/v1/dashboard/kpis", {"from": 2**64}, "query", "from"),
        ("/v1/audit/report", {"block": -1}, "query", "block"),
    ],
)
def test_bad_parameters_name_their_fields(
    node: InProcessNode, path: str, params: dict[str, object], location: str, field: str
) -> None:
    reply = node.get(path, **params)
    assert reply.status_code == 422, reply.text
    fields = reply.json()["fields"]
    assert [(f["location"], f["field"]) for f in fields] == [(location, field)]


def test_unknown_paths_and_methods_answer_in_the_same_error_shape(node: InProcessNode) -> None:
    reply = node.get("/v1/nothing-here")
    assert (reply.status_code, reply.json()) == (404, {"error": "NotFound", "message": "Not Found"})
    reply = requests.delete(node.url + "/v1/orders", timeout=30)
    assert reply.status_code == 405
    assert reply.json()["error"] == "MethodNotAllowed"
    assert reply.headers["Allow"] == "POST"
    # GET and POST /v1/readings are routes of two routers: Allow names both
    reply = requests.delete(node.url + "/v1/readings", timeout=30)
    assert (reply.status_code, reply.headers["Allow"]) == (405, "GET, POST")
    reply = requests.put(node.url + "/v1/meters/0x" + "11" * 20, timeout=30)
    assert (reply.status_code, reply.headers["Allow"]) == (405, "GET")
