"""No body, header or parameter makes the API answer 500, and a refused write changes
nothing on the chain (no block, no transaction from the prosumer, no token movement)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import requests
from hypothesis import event, given, settings
from hypothesis import strategies as st

from tests.node.rest.inprocess import InProcessNode

# 400: a body that is not UTF-8 JSON text at all.
WRITE_STATUSES = {201, 400, 401, 402, 403, 404, 409, 422}
READ_STATUSES = {200, 404, 422}

edge_ints = st.sampled_from([0, 1, -1, 2**31, 2**32, 2**40 - 1, 2**40, 2**63, 2**64, 2**256])
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    edge_ints,
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(["buy", "sell", "BUY", ""]),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=6,
)
order_fields = st.fixed_dictionaries(
    {},
    optional={
        "side": st.one_of(st.sampled_from(["buy", "sell"]), json_values),
        "quantity_wh": st.one_of(st.integers(1, 5000), edge_ints, json_values),
        "limit_price_per_kwh": st.one_of(st.integers(70_000, 310_000), edge_ints, json_values),
        "interval": st.one_of(st.integers(0, 2**64), edge_ints, json_values),
        "extra": json_values,
    },
)

# Well-formed orders: these reach the contract (placed, or refused with a decoded revert).
valid_orders = st.fixed_dictionaries(
    {
        "side": st.sampled_from(["buy", "sell"]),
        "quantity_wh": st.one_of(st.integers(1, 5000), st.integers(1, 2**40 - 1)),
        "limit_price_per_kwh": st.one_of(st.integers(70_000, 310_000), st.integers(0, 2**40 - 1)),
    },
    optional={"interval": st.one_of(st.integers(0, 40_000), st.integers(0, 2**64 - 1))},
)


def _chain_state(node: InProcessNode) -> tuple[int, ...]:
    prosumer = node.address("prosumer")
    token = node.contract("GridToken").functions
    market = node.contract("Market").address
    return (
        node.w3.eth.block_number,
        node.w3.eth.get_transaction_count(prosumer),
        token.balanceOf(prosumer).call(),
        token.allowance(prosumer, market).call(),
    )


def _post_and_check(node: InProcessNode, body: Any, headers: dict[str, str]) -> int:
    """POST `body`: never a 500; refused, nothing on the chain changed; placed, it is stored."""
    before = _chain_state(node)
    reply = node.post_order(body, headers=headers)
    event(f"status {reply.status_code}")
    assert reply.status_code in WRITE_STATUSES, reply.text
    answer = reply.json()
    if reply.status_code != 201:
        assert set(answer) >= {"error", "message"}
        assert _chain_state(node) == before
        return reply.status_code
    stored = node.get(f"/v1/orders/{answer['order_id']}").json()
    assert (stored["side"], stored["quantity_wh"], stored["limit_price_per_kwh"]) == (
        body["side"],
        body["quantity_wh"],
        body["limit_price_per_kwh"],
    )
    return reply.status_code


@settings(max_examples=200, deadline=None)
@given(
    body=st.one_of(order_fields, json_values),
    auth=st.sampled_from(["key", "none", "wrong"]),
)
def test_any_body_never_500s_and_refusals_store_nothing(
    node: InProcessNode, body: Any, auth: str
) -> None:
    headers = {"key": node.auth, "none": {}, "wrong": {"Authorization": "Bearer x"}}[auth]
    _post_and_check(node, body, headers)


@settings(max_examples=60, deadline=None)
@given(body=valid_orders)
def test_well_formed_orders_are_placed_or_refused_without_a_trace(
    node: InProcessNode, body: dict[str, int | str]
) -> None:
    status = _post_and_check(node, body, node.auth)
    in_band = 80_000 <= int(body["limit_price_per_kwh"]) <= 300_000
    if status == 422:  # the only 422 a well-formed body can meet: MarketPriceOutsideBand
        assert not in_band


@settings(max_examples=150, deadline=None)
@given(raw=st.binary(max_size=64), content_type=st.sampled_from(["application/json", "text/x"]))
def test_raw_bodies_never_500(node: InProcessNode, raw: bytes, content_type: str) -> None:
    before = _chain_state(node)
    reply = requests.post(
        node.url + "/v1/orders",
        data=raw,
        headers={**node.auth, "Content-Type": content_type},
        timeout=30,
    )
    assert reply.status_code in WRITE_STATUSES
    assert reply.status_code != 201
    assert _chain_state(node) == before


PATHS = [
    "/v1/orders/{}",
    "/v1/market/intervals/{}",
    "/v1/contracts/{}",
    "/v1/trust/{}",
    "/v1/contracts",
    "/v1/violations",
    "/v1/readings",
    "/v1/layers",
]
segment = st.one_of(
    st.integers().map(str),
    edge_ints.map(str),
    st.text(min_size=1, max_size=30),
    st.just("0x" + "ab" * 20),
)
query_value = st.one_of(st.integers().map(str), edge_ints.map(str), st.text(max_size=30))
queries = st.dictionaries(
    st.sampled_from(["participant", "from", "to", "limit", "offset", "x"]), query_value, max_size=4
)


@settings(max_examples=300, deadline=None)
@given(template=st.sampled_from(PATHS), part=segment, params=queries)
def test_reads_never_500(
    node: InProcessNode, template: str, part: str, params: dict[str, str]
) -> None:
    path = template.format(quote(part, safe=""))
    reply = requests.get(node.url + path, params=params, timeout=30)
    assert reply.status_code in READ_STATUSES, (path, params, reply.text)
